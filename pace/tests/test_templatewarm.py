"""A server process compiles the project's templates before it serves anyone."""

from __future__ import annotations

from typing import Any

from django.template import engines

from pace.lib.templatewarm import compile_templates


def test_it_compiles_every_template_once_and_logs_one_that_does_not(
    settings: Any, tmp_path: Any, caplog: Any
) -> None:
    (tmp_path / "page.html").write_text("{% load static %}<p>{{ x }}</p>")
    (tmp_path / "tracking").mkdir()
    (tmp_path / "tracking" / "track.html").write_text("<b>{{ y }}</b>")
    (tmp_path / "broken.html").write_text("{% if %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    assert compile_templates() == 2
    assert "broken.html does not compile" in caplog.text
    loaders = engines["django"].engine.template_loaders  # type: ignore[attr-defined]
    cached = loaders[0]  # Django's cached loader, in front of the others
    assert {"page.html", "tracking/track.html"} <= set(cached.get_template_cache)


def test_the_projects_templates_all_compile() -> None:
    assert compile_templates() >= 78
