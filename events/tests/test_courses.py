"""Courses from GPX files: length, climb, the simplified line, split points, GeoJSON, and
a race taking its distance from its course (real-world files: ``test_gpx_reading.py``)."""

from __future__ import annotations

import pytest

from events.courses import CourseError, course_create, course_geojson, parse_gpx
from events.tests.gpx_docs import gpx_doc
from pace.lib.geo import haversine_m
from pace.lib.gpxsynth import synth_course_gpx


def _track(points: list[tuple[float, float, float]]) -> str:
    pts = "".join(f'<trkpt lat="{a}" lon="{o}"><ele>{e}</ele></trkpt>' for a, o, e in points)
    return gpx_doc(f"<trk><name>T</name><trkseg>{pts}</trkseg></trk>")


def test_it_measures_a_track():
    # 0.01 degrees of latitude is about 1,112 m.
    parsed = parse_gpx(_track([(45.0, 6.0, 100), (45.01, 6.0, 150), (45.02, 6.0, 120)]))
    assert parsed.distance_m == pytest.approx(2224, abs=5)
    assert parsed.elevation_gain_m == 50
    assert parsed.elevation_loss_m == 30
    assert parsed.line[0] == [6.0, 45.0, 100.0]
    assert parsed.bbox == [6.0, 45.0, 6.0, 45.02]
    assert len(parsed.profile) == 200
    assert parsed.profile[-1][0] == pytest.approx(parsed.distance_m, abs=1)


def test_it_reads_routes_when_there_is_no_track():
    body = '<rte><rtept lat="45" lon="6"/><rtept lat="45.01" lon="6"/></rte>'
    assert parse_gpx(gpx_doc(body)).distance_m == pytest.approx(1112, abs=3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("", "empty"),
        ("not xml at all", "Not a valid GPX"),
        ("<gpx><trk>", "Not a valid GPX"),
        (gpx_doc(""), "no track points"),
        (_track([(45.0, 6.0, 1)]), "only one point"),
        (_track([(45.0, 6.0, 1), (45.00001, 6.0, 1)]), "shorter than 10 m"),
        (_track([(95.0, 6.0, 1), (45.0, 6.0, 1)]), "outside the globe"),
        (b"\xff\xfe\x00garbage", "Not a valid GPX"),
    ],
)
def test_it_rejects_bad_gpx_with_a_reason(data, reason):
    with pytest.raises(CourseError, match=reason):
        parse_gpx(data)


def test_it_rejects_oversized_files(settings):
    settings.MAX_GPX_BYTES = 1000
    with pytest.raises(CourseError, match="larger than"):
        parse_gpx("x" * 2000)


def test_it_simplifies_the_line_but_keeps_the_distance():
    gpx = synth_course_gpx(
        name="x", lat=45, lon=6, distance_m=21097, shape="loop", climb_m=50, seed=3
    )
    parsed = parse_gpx(gpx)
    assert parsed.distance_m == pytest.approx(21097, rel=0.03)
    assert len(parsed.line) < 21097 / 25 / 2


@pytest.mark.parametrize("shape", ["loop", "out_back", "a_to_b"])
def test_it_generates_demo_courses_of_the_asked_distance(shape):
    gpx = synth_course_gpx(
        name="x", lat=50, lon=4, distance_m=10000, shape=shape, climb_m=10, seed=1
    )
    parsed = parse_gpx(gpx)
    assert parsed.distance_m == pytest.approx(10000, rel=0.05)
    (lon0, lat0, _), (lon1, lat1, _) = parsed.line[0], parsed.line[-1]
    assert lon0 is not None and lat0 is not None and lon1 is not None and lat1 is not None
    gap = haversine_m(lat0, lon0, lat1, lon1)
    assert (gap < 50) == (shape != "a_to_b")


def test_it_creates_default_split_points(alpha):
    gpx = synth_course_gpx(
        name="x", lat=50, lon=4, distance_m=21097, shape="loop", climb_m=10, seed=1
    )
    course = course_create(organizer=alpha, gpx_data=gpx)
    names = list(course.split_points.values_list("name", flat=True))
    assert names[0] == "Start" and names[-1] == "Finish"
    assert "10 km" in names


def test_it_uses_gpx_waypoints_as_split_points(alpha):
    wpts = '<wpt lat="45.01" lon="6"><name>Aid 1</name></wpt>'
    pts = "".join(f'<trkpt lat="{45 + i / 1000}" lon="6"/>' for i in range(21))
    course = course_create(
        organizer=alpha, gpx_data=gpx_doc(f"{wpts}<trk><trkseg>{pts}</trkseg></trk>")
    )
    split = course.split_points.get()
    assert split.name == "Aid 1"
    assert split.distance_m == pytest.approx(1112, abs=3)


def test_it_serves_geojson_with_split_positions(alpha):
    gpx = synth_course_gpx(
        name="x", lat=50, lon=4, distance_m=10000, shape="a_to_b", climb_m=10, seed=1
    )
    course = course_create(organizer=alpha, gpx_data=gpx)
    data = course_geojson(course, list(course.split_points.all()))
    assert data["type"] == "Feature"
    assert data["geometry"]["type"] == "LineString"
    assert len(data["geometry"]["coordinates"][0]) == 3
    props = data["properties"]
    assert props["distance"] == course.distance_m
    finish = props["split_points"][-1]
    last = data["geometry"]["coordinates"][-1]
    assert (finish["lon"], finish["lat"]) == pytest.approx((last[0], last[1]), abs=1e-5)


def test_it_takes_a_races_distance_and_climb_from_its_course(client, alice, alpha_event):
    from events.models import Race

    course = alpha_event.races.get().course
    client.force_login(alice)
    start = alpha_event.start_date.isoformat()
    data = {
        "event": alpha_event.pk, "name": "Fun run", "slug": "fun-run", "course": course.pk,
        "start_time_0": start, "start_time_1": "10:00:00", "entry_fee": "5", "team_size": "1",
    }  # fmt: skip
    for prefix in ("categories", "price_tiers", "questions"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = client.post("/admin/events/race/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    race = Race.objects.get(slug="fun-run")
    assert race.distance_m == round(course.distance_m)
    assert race.elevation_gain_m == round(course.elevation_gain_m)
