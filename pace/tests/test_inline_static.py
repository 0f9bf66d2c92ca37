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


def test_it_puts_a_script_in_the_page():
    source = "{% load inline_static %}<script>{% inline_js 'tracking/common.js' %}</script>"
    html = Template(source).render(Context())
    assert "window.PaceCommon" in html and "&quot;" not in html


@pytest.mark.parametrize("text", ['var s = "</script><b>";', "var s = '<!--';"])
def test_a_script_that_could_close_its_element_is_refused(tmp_path, settings, text):
    from pace.templatetags.inline_static import js_text

    (tmp_path / "x.js").write_text(text)
    settings.STATICFILES_DIRS = [tmp_path, *settings.STATICFILES_DIRS]
    with pytest.raises(TemplateSyntaxError):
        js_text("x.js")


@pytest.mark.django_db
def test_the_live_page_carries_common_js_and_fetches_live_js(client):
    from tracking.sim.testrace import load_test_race_create

    race = load_test_race_create(athletes=2)
    html = client.get(f"/live/{race['event_slug']}/{race['race_slug']}/").content.decode()
    assert "window.PaceCommon" in html and "tracking/common" not in html
    assert html.index("window.PaceCommon") < html.rindex("tracking/live")  # runs first
