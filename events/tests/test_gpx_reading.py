"""Real-world GPX files (issue 17): several tracks, partial elevation, routes, encodings,
hostile XML, and the files of common apps."""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import gpxpy
import pytest

from events import gpx_reading
from events.courses import CourseError, course_create, parse_gpx
from events.tests.gpx_docs import gpx_doc

GPX_DIR = Path(__file__).parent / "gpx"


def _segment(points: list[tuple[float, float, float | None]]) -> str:
    return (
        "<trkseg>"
        + "".join(
            f'<trkpt lat="{a}" lon="{o}">' + ("" if e is None else f"<ele>{e}</ele>") + "</trkpt>"
            for a, o, e in points
        )
        + "</trkseg>"
    )


def _north(lat: float, lon: float, km: float, ele: float | None = 100) -> list:
    """A straight line north in 100 m steps (0.0009 degrees of latitude is about 100 m)."""
    return [(round(lat + i * 0.0009, 6), lon, ele) for i in range(int(km * 10) + 1)]


def test_it_follows_the_longest_track_and_never_counts_the_jump_to_another():
    warm_up = f"<trk><name>Warm-up</name>{_segment(_north(45.0, 6.0, 1, ele=100))}</trk>"
    # The race starts 10 km east of the warm-up, 400 m higher.
    race = f"<trk><name>Race</name>{_segment(_north(45.0, 6.13, 3, ele=500))}</trk>"
    parsed = parse_gpx(gpx_doc(warm_up + race))
    assert parsed.distance_m == pytest.approx(3000, rel=0.01)
    assert parsed.elevation_gain_m == 0
    assert parsed.line[0][0] == pytest.approx(6.13)
    assert [(c.name, round(c.distance_m, -2)) for c in parsed.tracks] == [
        ("Warm-up", 1000), ("Race", 3000)
    ]  # fmt: skip
    assert parsed.track == 1


def test_it_follows_the_track_the_organizer_chose():
    warm_up = f"<trk><name>Warm-up</name>{_segment(_north(45.0, 6.0, 1))}</trk>"
    race = f"<trk><name>Race</name>{_segment(_north(45.0, 6.13, 3))}</trk>"
    parsed = parse_gpx(gpx_doc(warm_up + race), track=0)
    assert parsed.distance_m == pytest.approx(1000, rel=0.01)
    assert parsed.track == 0
    with pytest.raises(CourseError, match="no track number 3"):
        parse_gpx(gpx_doc(warm_up + race), track=2)


def test_it_never_counts_the_jump_between_segments_as_distance_or_climb():
    # GPS lost for a while: the second segment starts 5 km further and 300 m higher.
    body = _segment(_north(45.0, 6.0, 2, ele=100)) + _segment(_north(45.06, 6.0, 2, ele=400))
    parsed = parse_gpx(gpx_doc(f"<trk>{body}</trk>"))
    assert parsed.distance_m == pytest.approx(4000, rel=0.01)
    assert parsed.elevation_gain_m == 0
    assert parsed.elevation_loss_m == 0
    # The line still has both parts, each simplified on its own.
    assert len(parsed.line) == 4


def test_it_interpolates_missing_elevations_instead_of_drawing_0_m():
    points = _north(45.0, 6.0, 2, ele=None)
    points[0], points[10], points[20] = (
        (*points[0][:2], 500),
        (*points[10][:2], 520),
        (*points[20][:2], 500),
    )
    parsed = parse_gpx(_track_with(points))
    assert min(ele for _, ele in parsed.profile) >= 500
    assert max(ele for _, ele in parsed.profile) == pytest.approx(520, abs=0.5)
    assert parsed.elevation_gain_m == 20
    assert parsed.elevation_loss_m == 20
    assert parsed.min_elevation_m == 500


def test_it_leaves_gaps_where_no_point_has_an_elevation_to_interpolate_from():
    points = [(a, o, 600 if 5 <= i <= 15 else None) for i, (a, o, _) in enumerate(_north(45, 6, 2))]
    parsed = parse_gpx(_track_with(points))
    assert {ele for _, ele in parsed.profile} == {600}
    assert parsed.profile[0][0] >= 400 and parsed.profile[-1][0] <= 1600
    assert all(p[2] is None for p in parsed.line[:1] + parsed.line[-1:])


def test_it_simplifies_routes_like_tracks():
    rte = "".join(f'<rtept lat="{a}" lon="{o}"/>' for a, o, _ in _north(45.0, 6.0, 3))
    parsed = parse_gpx(gpx_doc(f"<rte><name>Road</name>{rte}</rte>"))
    assert parsed.distance_m == pytest.approx(3000, rel=0.01)
    assert len(parsed.line) == 2


def test_it_says_a_file_of_waypoints_only_is_not_a_course():
    wpts = "".join(f'<wpt lat="{45 + i / 100}" lon="6"><name>P{i}</name></wpt>' for i in range(3))
    with pytest.raises(CourseError, match="only waypoints"):
        parse_gpx(gpx_doc(wpts))


def _track_with(points: list) -> str:
    return gpx_doc(f"<trk>{_segment(points)}</trk>")


def _named(encoding: str, name: str = "Côte de l\u2019Église") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<metadata><name>{name}</name></metadata>"
        f"<trk>{_segment(_north(45.0, 6.0, 1))}</trk></gpx>"
    )


@pytest.mark.parametrize(
    "data",
    [
        _named("ISO-8859-1", "Côte de l'Église").encode("latin-1"),
        _named("windows-1252").encode("cp1252"),
        _named("UTF-16").encode("utf-16"),  # with its BOM, little-endian here
        codecs.BOM_UTF16_BE + _named("UTF-16").encode("utf-16-be"),
        codecs.BOM_UTF8 + _named("UTF-8").encode(),
    ],
    ids=["latin-1", "windows-1252", "utf-16-le", "utf-16-be", "utf-8-bom"],
)
def test_it_reads_files_in_the_encoding_they_declare(data):
    parsed = parse_gpx(data)
    assert parsed.name.startswith("Côte de l")
    assert parsed.name.endswith("Église")
    assert parsed.distance_m == pytest.approx(1000, rel=0.01)
    # Stored (and served for download) as UTF-8 that says so.
    assert parsed.gpx_text.startswith('<?xml version="1.0" encoding="UTF-8"?><gpx')
    assert parse_gpx(parsed.gpx_text.encode()).name == parsed.name


def test_it_reads_text_whatever_encoding_its_declaration_names():
    # Text (the stored GPX, demo data) is already decoded: its declaration no longer applies.
    assert parse_gpx(_named("ISO-8859-1", "Café")).name == "Café"


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]>"
    + gpx_doc(
        f"<wpt lat='45' lon='6'><name>&i;</name></wpt><trk>{_segment(_north(45, 6, 1))}</trk>"
    )[21:]
)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (BILLION_LAUGHS, "must not contain a DTD"),
        (
            '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<gpx><wpt lat='45' lon='6'><name>&x;</name></wpt></gpx>",
            "must not contain a DTD",
        ),
        ("<html><body>Hello</body></html>", "not <gpx>"),
        (gpx_doc("<trk><trkseg></trkseg></trk><trk></trk>"), "no track points"),
        (gpx_doc('<trk><trkseg><trkpt lat="nan" lon="6"/></trkseg></trk>'), "non-numeric lat"),
        (gpx_doc('<trk><trkseg><trkpt lat="45" lon="1e999"/></trkseg></trk>'), "non-numeric lon"),
        (gpx_doc('<trk><trkseg><trkpt lat="45" lon="east"/></trkseg></trk>'), "non-numeric lon"),
        (gpx_doc('<trk><trkseg><trkpt lat="45"/></trkseg></trk>'), "without lon"),
        (gpx_doc('<trk><trkseg><trkpt lat="45" lon="200"/></trkseg></trk>'), "outside the globe"),
        (b'<?xml version="1.0" encoding="klingon"?><gpx/>', "Not a valid GPX"),
        (b"<gpx>\x00</gpx>", "Not a valid GPX"),
    ],
    ids=[
        "billion-laughs", "external-entity", "html", "empty-tracks", "nan-lat", "inf-lon",
        "text-lon", "no-lon", "lon-200", "unknown-encoding", "nul-byte",
    ],
)  # fmt: skip
def test_it_refuses_hostile_or_broken_files_with_a_reason(data, reason):
    with pytest.raises(CourseError, match=reason):
        parse_gpx(data)


def test_it_says_when_a_file_read_as_utf_8_is_not():
    # Often Latin-1 bytes under an "UTF-8" (or no) declaration, from older exporters.
    for decl in ('<?xml version="1.0" encoding="UTF-8"?>', ""):
        body = f"<gpx><metadata><name>Café</name></metadata><trk>{_segment(_north(45, 6, 1))}</trk>"
        data = (decl + body + "</gpx>").encode("latin-1")
        with pytest.raises(CourseError, match=r"not valid UTF-8 text \(line 1\): save it as UTF-8"):
            parse_gpx(data)


def test_it_refuses_files_with_too_many_points(monkeypatch):
    monkeypatch.setattr(gpx_reading, "MAX_POINTS", 50)
    with pytest.raises(CourseError, match="more than 50 points"):
        parse_gpx(_track_with(_north(45.0, 6.0, 6)))


def test_it_reads_crafted_namespace_text_in_linear_time():
    # gpxpy's namespace regex is quadratic on " xmlns" with no "=" after it: 48 KB took
    # 0.3 s, this 240 KB about 8 s, and a 5 MB upload would hold a worker for hours.
    data = gpx_doc(f"<trk>{_segment(_north(45, 6, 1))}</trk><!--{' xmlns' * 40_000}-->")
    started = time.monotonic()
    parse_gpx(data)
    assert time.monotonic() - started < 1


def test_it_ignores_nan_or_impossible_elevations_and_garbage_timestamps():
    pts = (
        '<trkpt lat="45" lon="6"><ele>100</ele><time>yesterday</time></trkpt>'
        '<trkpt lat="45.005" lon="6"><ele>NaN</ele><time>2024-13-45T99:00:00Z</time></trkpt>'
        '<trkpt lat="45.01" lon="6"><ele>-99999</ele></trkpt>'
        '<trkpt lat="45.015" lon="6"><ele>1e999</ele></trkpt>'
        '<trkpt lat="45.02" lon="6"><ele>120</ele></trkpt>'
    )
    parsed = parse_gpx(gpx_doc(f"<trk><trkseg>{pts}</trkseg></trk>"))
    assert [p[2] for p in parsed.line] == [100, 120]
    assert parsed.elevation_gain_m == 20
    assert parsed.min_elevation_m == 100


def test_it_keeps_waypoint_names_as_trimmed_plain_text():
    long_name = "Aid " + "x" * 300
    wpts = (
        "<wpt lat='45.005' lon='6'><name>  &lt;img src=x onerror=alert(1)&gt;\n\t </name></wpt>"
        f"<wpt lat='45.01' lon='6'><name>{long_name}</name></wpt>"
        "<wpt lat='45.015' lon='6'><name>Bell\x07&#x85;ringer</name></wpt>"
    ).replace("\x07", "")
    parsed = parse_gpx(gpx_doc(wpts + f"<trk>{_segment(_north(45, 6, 2))}</trk>"))
    names = [name for name, _ in parsed.waypoints]
    assert names == ["<img src=x onerror=alert(1)>", long_name[:100], "Bell ringer"]
    assert [d for _, d in parsed.waypoints] == pytest.approx([556, 1112, 1668], abs=3)


def test_it_numbers_waypoints_of_the_same_name_so_each_becomes_a_split(alpha):
    wpts = "".join(f"<wpt lat='{45 + i / 1000}' lon='6'><name>Left</name></wpt>" for i in (3, 9))
    course = course_create(
        organizer=alpha, gpx_data=gpx_doc(wpts + "<wpt lat='45.012' lon='6'/>" + _trk_2km())
    )
    assert list(course.split_points.values_list("name", flat=True)) == [
        "Left", "Left (2)", "Waypoint"
    ]  # fmt: skip


def _trk_2km() -> str:
    return f"<trk>{_segment(_north(45.0, 6.0, 2))}</trk>"


@pytest.mark.parametrize(
    ("filename", "name", "waypoints"),
    [
        ("strava_activity.gpx", "Morning Run", []),
        ("garmin_connect.gpx", "Annecy Trail Running", []),
        ("komoot.gpx", "Zürichberg \u2013 Runde", []),
        ("osmand_route.gpx", "Dunes 3K", ["Water station", "Timing mat"]),
        ("ridewithgps.gpx", "Waterfront 3K", ["Left"]),
        ("gpx_studio.gpx", "Shoreline 3K", []),
        ("gpx10.gpx", "Quais de Seine", []),
    ],
)
def test_it_reads_the_gpx_files_of_common_apps(filename, name, waypoints):
    data = (GPX_DIR / filename).read_bytes()
    parsed = parse_gpx(data)
    assert parsed.name == name
    # gpxpy, reading the same UTF-8 file its own way, measures the same track.
    assert parsed.distance_m == pytest.approx(gpxpy.parse(data.decode()).length_2d(), rel=0.005)
    # Elevation rises 30 m and back (no extension's number is taken for it).
    assert parsed.elevation_gain_m == pytest.approx(30, abs=3)
    assert parsed.max_elevation_m == pytest.approx(150, abs=1)
    assert [n for n, _ in parsed.waypoints] == waypoints
    assert all(0 < d < parsed.distance_m for _, d in parsed.waypoints)


def test_it_stores_a_latin_1_file_as_utf_8_text(alpha):
    course = course_create(organizer=alpha, gpx_data=_named("ISO-8859-1", "Café").encode("latin-1"))
    course.refresh_from_db()
    assert course.name == "Café"
    assert "<name>Café</name>" in course.gpx
    assert 'encoding="UTF-8"' in course.gpx


def test_it_simplifies_a_crafted_zigzag_in_bounded_time():
    # Ramer-Douglas-Peucker is n²/2 on a zigzag: gpxpy's took 6 minutes for 20,000 points.
    pts = "".join(
        f'<trkpt lat="{45 + i * 0.0003:.6f}" lon="{6 + (0.0002 if i % 2 else 0):.4f}"/>'
        for i in range(12_000)
    )
    started = time.monotonic()
    parsed = parse_gpx(gpx_doc(f"<trk><trkseg>{pts}</trkseg></trk>"))
    assert time.monotonic() - started < 5
    assert len(parsed.line) <= 10_000
    assert parsed.line[-1][:2] == [6.0002, pytest.approx(45 + 11_999 * 0.0003)]


def test_it_keeps_the_turnaround_of_an_out_and_back():
    # The turnaround lies on the line through start and finish, 2 km from both.
    out = _north(45.0, 6.0, 2)
    parsed = parse_gpx(_track_with(out + out[::-1][1:]))
    assert parsed.distance_m == pytest.approx(4000, rel=0.01)
    assert [p[1] for p in parsed.line] == [45.0, 45.018, 45.0]


def test_it_refuses_a_file_of_thousands_of_segments():
    segments = _segment(_north(45.0, 6.0, 0.1)) * 1001
    with pytest.raises(CourseError, match="more than 1,000 tracks, routes and segments"):
        parse_gpx(gpx_doc(f"<trk>{segments}</trk>"))


def test_it_takes_the_longer_of_a_track_and_a_route():
    rte = "".join(f'<rtept lat="{a}" lon="{o}"/>' for a, o, _ in _north(45.0, 6.0, 3))
    trk = f"<trk><name>Start loop</name>{_segment(_north(45.0, 6.0, 1))}</trk>"
    parsed = parse_gpx(gpx_doc(f"{trk}<rte><name>Course</name>{rte}</rte>"))
    assert parsed.distance_m == pytest.approx(3000, rel=0.01)
    assert [(c.kind, c.name) for c in parsed.tracks] == [
        ("track", "Start loop"), ("route", "Course")
    ]  # fmt: skip
