"""``{% inline_css %}``: the race-day pages carry their stylesheets in the HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template import Context, Template, TemplateSyntaxError

from pace.templatetags.inline_static import css_text


def _render(path: str) -> str:
    source = "{% load inline_static %}<style>{% inline_css '" + path + "' %}</style>"
    return Template(source).render(Context())


def test_it_puts_the_stylesheet_in_the_page():
    html = _render("css/pace.css")
    source = (Path(__file__).resolve().parents[2] / "static" / "css" / "pace.css").read_text()
    assert html.startswith("<style>") and source.split("{")[0].strip() in html
    assert "&lt;" not in html and "&quot;" not in html  # not escaped as HTML text


def test_relative_urls_point_where_the_file_is_served_from():
    text = css_text("vendor/leaflet/leaflet.css")
    assert "url(/static/vendor/leaflet/images/layers.png)" in text
    assert "url(images/" not in text
    assert "url(#default#VML)" in text  # not a path


def test_a_style_element_cannot_be_closed_from_inside(tmp_path, settings):
    (tmp_path / "x.css").write_text('p::after { content: "</style><script>"; }')
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    assert "</style" not in css_text("x.css")


def test_a_missing_file_is_an_error_not_an_empty_page():
    with pytest.raises(TemplateSyntaxError):
        _render("css/nothing-here.css")
