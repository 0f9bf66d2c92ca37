"""GPX files uploaded through the organizer's admin form: a course or a form error, never a 500."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import courses
from events.models import Course

pytestmark = pytest.mark.django_db

HEAD = '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'


def _segment(lat: float, lon: float, km: float, ele: float = 100) -> str:
    pts = "".join(
        f'<trkpt lat="{lat + i * 0.0009:.6f}" lon="{lon}"><ele>{ele}</ele></trkpt>'
        for i in range(int(km * 10) + 1)
    )
    return f"<trkseg>{pts}</trkseg>"


TWO_TRACKS = (
    f"{HEAD}<trk><name>Warm-up</name>{_segment(45.0, 6.0, 1)}</trk>"
    f"<trk><name>Race</name>{_segment(45.0, 6.13, 3, ele=500)}</trk></gpx>"
)


def _post(
    client: Any, url: str, *, organizer: Any, gpx: bytes | None, follow: bool = False, **extra: Any
) -> Any:
    data = {
        "organizer": organizer.pk,
        "name": "Lakeside",
        "split_points-TOTAL_FORMS": "0",
        "split_points-INITIAL_FORMS": "0",
        **extra,
    }
    if gpx is not None:
        data["gpx_file"] = SimpleUploadedFile("course.gpx", gpx, "application/gpx+xml")
    return client.post(url, data, follow=follow)


def _errors(response: Any) -> list[str]:
    form = response.context["adminform"].form
    return list(form.errors.get("gpx_file", [])) + list(form.errors.get("gpx_track", []))


def test_it_accepts_a_latin_1_file(client, alice, alpha):
    client.force_login(alice)
    gpx = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        f"{HEAD}<trk><name>Côte</name>{_segment(45.0, 6.0, 2)}</trk></gpx>"
    ).encode("latin-1")
    response = _post(client, "/admin/events/course/add/", organizer=alpha, gpx=gpx)
    assert response.status_code == 302, _errors(response)
    course = Course.objects.get(organizer=alpha, name="Lakeside")
    assert "<name>Côte</name>" in course.gpx
    assert course.distance_m == pytest.approx(2000, rel=0.01)


def test_it_lists_a_files_tracks_and_lets_the_organizer_choose_one(client, alice, alpha):
    client.force_login(alice)
    response = _post(
        client, "/admin/events/course/add/", organizer=alpha, gpx=TWO_TRACKS.encode(), follow=True
    )
    course = Course.objects.get(organizer=alpha, name="Lakeside")
    assert course.distance_m == pytest.approx(3000, rel=0.01)
    assert course.elevation_gain_m == 0
    note = " ".join(str(m) for m in response.context["messages"])
    assert "2 tracks and routes" in note and "2. Race (track, 3.00 km)" in note

    url = f"/admin/events/course/{course.pk}/change/"
    page = client.get(url).content.decode()
    assert "1. Warm-up (track, 1.00 km)" in page
    assert "2. Race (track, 3.00 km)" in page

    response = _post(client, url, organizer=alpha, gpx=None, gpx_track="0", follow=True)
    note = " ".join(str(m) for m in response.context["messages"])
    assert "now 1.00 km: its split points were kept" in note
    course.refresh_from_db()
    assert course.gpx_track == 0
    assert course.distance_m == pytest.approx(1000, rel=0.01)


def test_it_refuses_a_track_the_file_does_not_have(client, alice, alpha):
    client.force_login(alice)
    _post(client, "/admin/events/course/add/", organizer=alpha, gpx=TWO_TRACKS.encode())
    course = Course.objects.get(organizer=alpha)
    url = f"/admin/events/course/{course.pk}/change/"
    response = _post(client, url, organizer=alpha, gpx=None, gpx_track="7")
    assert response.status_code == 200
    assert _errors(response)


def test_it_refuses_an_oversized_upload_before_reading_it(client, alice, alpha, settings):
    settings.MAX_GPX_BYTES = 1000
    client.force_login(alice)
    response = _post(client, "/admin/events/course/add/", organizer=alpha, gpx=b" " * 2000)
    assert response.status_code == 200
    assert _errors(response) == ["GPX file is larger than 1,000 bytes"]


def test_it_shows_a_form_error_for_a_hostile_file(client, alice, alpha):
    client.force_login(alice)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><gpx><wpt lat="1" lon="1">'
        b"<name>&b;</name></wpt></gpx>"
    )
    response = _post(client, "/admin/events/course/add/", organizer=alpha, gpx=bomb)
    assert response.status_code == 200
    assert _errors(response) == ["GPX files must not contain a DTD (<!DOCTYPE …>)"]
    assert not Course.objects.exists()


# GPX-ish bytes: fragments of real GPX (good and broken values) put together at random,
# in any of the encodings a file may declare, sometimes cut short or with stray bytes.
_BAD_NUMBER = st.sampled_from(["nan", "inf", "-1e999", "1e308", "", "x", "181", "-91", "1_0"])
_LAT = st.one_of(st.floats(-90, 90).map(lambda v: f"{v:.6f}"), st.floats(-90, 90).map(str))
_LON = st.floats(-180, 180).map(lambda v: f"{v:.6f}")
_ELE = st.one_of(
    st.none(), st.floats(-600, 9500).map(lambda v: f"{v:.1f}"), st.sampled_from(["", "NaN", "x"])
)


def _rarely_bad(good: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly good values: one bad coordinate refuses the whole file, hiding the rest."""
    return st.tuples(st.integers(0, 29), good, _BAD_NUMBER).map(
        lambda t: t[2] if t[0] == 0 else t[1]
    )


def _point(tag: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, lat, lon, ele, name: (
            f'<{tag} lat="{lat}" lon="{lon}">'
            + ("" if ele is None else f"<ele>{ele}</ele>")
            + f"<time>garbage</time><name>{name}</name><extensions><ele>0</ele></extensions>"
            + f"</{tag}>"
        ),
        st.sampled_from([tag, tag, tag, "wpt"]),
        _rarely_bad(_LAT),
        _rarely_bad(_LON),
        _ELE,
        st.text(
            st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="<&"),
            max_size=20,
        ),
    )


_TRACK = st.lists(st.lists(_point("trkpt"), max_size=6), max_size=3).map(
    lambda segs: "<trk>" + "".join(f"<trkseg>{''.join(s)}</trkseg>" for s in segs) + "</trk>"
)
_ROUTE = st.lists(_point("rtept"), max_size=6).map(lambda pts: f"<rte>{''.join(pts)}</rte>")
_ELEMENT = st.one_of(
    _TRACK,
    _ROUTE,
    _point("wpt"),
    _TRACK,
    _ROUTE,
    st.sampled_from(
        [
            "<trk></trk>",
            "<trkseg/>",
            "<metadata><name>n</name></metadata>",
            "<!-- xmlns -->",
            "<![CDATA[x]]>",
            "&amp;",
            "&bogus;",
            "</gpx>",
            "<gpx>",
        ]
    ),
)
_GPXISH = st.builds(
    lambda decl, body, encoding, cut, junk: (
        (decl.format(encoding) + f"{HEAD}{''.join(body)}</gpx>").encode(encoding, "replace")[
            : cut or None
        ]
        + junk
    ),
    st.sampled_from(
        [
            '<?xml version="1.0" encoding="{}"?>',
            "",
            "\ufeff",
            '<?xml version="1.0"?>',
            "<!DOCTYPE gpx>",
        ]
    ),
    st.lists(_ELEMENT, max_size=6),
    st.sampled_from(["utf-8", "iso-8859-1", "utf-16", "utf-16-le", "cp1252"]),
    st.one_of(st.just(0), st.just(0), st.integers(min_value=0, max_value=400)),
    st.one_of(st.just(b""), st.just(b""), st.binary(max_size=4)),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.one_of(_GPXISH, st.binary(max_size=200)))
def test_it_answers_any_gpx_ish_upload_with_a_course_or_a_form_error(
    client: Any, alice: Any, alpha: Any, data: bytes
) -> None:
    client.force_login(alice)
    response = _post(client, "/admin/events/course/add/", organizer=alpha, gpx=data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert _errors(response)
    else:
        course = Course.objects.get(organizer=alpha, name="Lakeside")
        assert course.distance_m >= 10
        course.delete()


@settings(max_examples=250, deadline=None)
@given(data=st.one_of(_GPXISH, st.binary(max_size=300)))
def test_it_measures_any_gpx_ish_bytes_or_says_why_not(data: bytes) -> None:
    try:
        parsed = courses.parse_gpx(data)
    except courses.CourseError as exc:
        assert str(exc)
        return
    assert parsed.distance_m >= 10
    assert len(parsed.line) >= 2
    assert all(math.isfinite(v) for p in parsed.line for v in p if v is not None)
    assert all(math.isfinite(d) and math.isfinite(e) for d, e in parsed.profile)
    assert all(0 <= d <= parsed.distance_m for _, d in parsed.waypoints)
    assert parsed.gpx_text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
