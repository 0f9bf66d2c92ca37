"""An organizer uploads a GPX course in the back office."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from events.courses import parse_gpx
from events.models import Course
from pace.lib.gpxsynth import synth_course_gpx
from pace.lib.testing import eventually

pytestmark = pytest.mark.browser


def _upload(page: Any, *, name: str, filename: str, data: bytes) -> None:
    page.click("#content-main tr.model-course th a")
    page.click("a.addlink")
    page.wait_for_url("**/admin/events/course/add/")
    page.fill("input[name=name]", name)
    page.set_input_files(
        "input[name=gpx_file]",
        files=[{"name": filename, "mimeType": "application/gpx+xml", "buffer": data}],
    )
    page.click("input[name=_save]")


def test_it_creates_a_course_with_split_points_from_a_gpx_file(
    page: Any, log_in: Any, alice: Any, alpha: Any
) -> None:
    gpx = synth_course_gpx(
        name="Lakeside", lat=45.9, lon=6.1, distance_m=12_000, shape="loop", climb_m=150, seed=4
    )
    log_in(alice)
    _upload(page, name="Lakeside 12K", filename="lakeside.gpx", data=gpx.encode())
    page.wait_for_url("**/admin/events/course/")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    course = Course.objects.get(name="Lakeside 12K")
    # Nobody picked the organizer: alice has only one, so the form had chosen it.
    assert course.organizer == alpha
    assert course.distance_m == parse_gpx(gpx).distance_m
    splits = list(course.split_points.values_list("name", flat=True))
    assert splits[0] == "Start" and splits[-1] == "Finish" and len(splits) >= 3

    page.click("#result_list a:text-is('Lakeside 12K')")
    page.wait_for_url(f"**/admin/events/course/{course.pk}/change/")
    names = page.locator("#split_points-group input[name^='split_points-'][name$='-name']")

    def names_shown() -> None:
        assert [n for n in (f.input_value() for f in names.all()) if n] == splits

    eventually(names_shown)


def test_it_rejects_a_broken_gpx_file_and_creates_nothing(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha: Any
) -> None:
    log_in(alice)
    _upload(page, name="Broken", filename="broken.gpx", data=b"<gpx><trk><trkseg><trkpt")
    expect(page.locator(".field-gpx_file .errorlist")).to_contain_text("Not a valid GPX file")
    expect(page).to_have_url(f"{live_server.url}/admin/events/course/add/")
    assert not Course.objects.exists()
