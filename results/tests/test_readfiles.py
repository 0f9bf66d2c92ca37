"""Timing files read without the database: each layout's fixture, malformed and hostile
files, 100,000 lines in time, and no input raising anything but ReadFileError."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from results.readfiles import LAYOUTS, ParsedFile, ReadFileError, Venue, parse
from results.readfiles.base import MAX_BYTES, MAX_LINES, MAX_PROBLEMS
from results.readfiles.chipfile import parse_chip_file

FIXTURES = Path(__file__).parent / "fixtures"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
VENUE = Venue(zone=PARIS, race_day=dt.date(2026, 5, 10))  # summer time: UTC+2


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=dt.UTC)


def read(name: str, layout: str = "auto") -> ParsedFile:
    return parse((FIXTURES / name).read_bytes(), layout=layout, venue=VENUE)


def problems(parsed: ParsedFile) -> dict[int, tuple[str, str]]:
    return {p.line: (p.column, p.reason) for p in parsed.problems}


class TestRaceResult:
    def test_it_reads_passings_with_and_without_gps_dates(self) -> None:
        parsed = read("raceresult_passings.txt")
        assert parsed.layout == "raceresult"
        by_line = {r.line: r for r in parsed.reads}
        # 0000-00-00: the time of day at the venue on the race day (09:00 Paris = 07:00 UTC).
        assert by_line[1].at == utc(2026, 5, 10, 7, 0, 1, 234000)
        assert (by_line[1].chip, by_line[1].bib, by_line[1].point) == ("1001", "", "")
        assert by_line[2].chip == "ZCMBG52"
        assert by_line[3].at == utc(2026, 5, 10, 7, 45, 0, 7000)
        # 0000-00-01: a day after the decoder started, still at the venue.
        assert by_line[5].at == utc(2026, 5, 10, 23, 2, 3, 456000)

    def test_it_says_which_line_and_column_is_wrong(self) -> None:
        parsed = read("raceresult_passings.txt")
        assert problems(parsed) == {4: ("Time", "9:61:00 is not a time of day")}
        assert parsed.problem_count == 1

    def test_a_read_id_survives_renumbering_so_a_reexport_is_the_same_reads(self) -> None:
        line = "1;1001;0000-00-00;09:00:01.234;0;12;27;;0;1;1;0;0;0;0;0;Box;17;1;D-5001\n"
        again = line.replace("1;", "88;", 1).replace(";17;", ";18;")
        first = parse(line.encode(), layout="raceresult", venue=VENUE).reads[0]
        second = parse(again.encode(), layout="raceresult", venue=VENUE).reads[0]
        assert first.read_id == second.read_id


class TestChronoTrack:
    def test_it_reads_ct01_33_in_every_time_format(self) -> None:
        parsed = read("chronotrack_ct01.txt")
        assert parsed.layout == "chronotrack"
        by_chip = {r.chip: r for r in parsed.reads}
        assert by_chip["1001"].at == utc(2026, 5, 10, 7, 0, 1, 230000)
        assert by_chip["1001"].point == "Finish"
        assert by_chip["1003"].at == utc(2026, 5, 10, 7, 20)
        assert by_chip["1004"].at == utc(2026, 5, 10, 7, 30, 0, 250000)
        assert set(by_chip) == {"1001", "1002", "1003", "1004"}

    def test_it_skips_controller_messages_and_refuses_formulas(self) -> None:
        found = problems(read("chronotrack_ct01.txt"))
        assert found[5][0] == "chip" and "spreadsheet formula" in found[5][1]
        assert found[8] == ("line", "4 field(s); a CT01_33 observation has 8")
        assert 3 not in found and 4 not in found  # ack~ping and newlocation are no reads


class TestMylaps:
    def test_it_reads_every_passing_of_a_message_with_its_location(self) -> None:
        parsed = read("mylaps_passings.txt")
        assert parsed.layout == "mylaps"
        by_chip = {r.chip: r for r in parsed.reads}
        assert set(by_chip) == {"KV86583", "0000041", "DX93845", "AB12346"}
        # d=260510, t at the venue (09:31 Paris = 07:31 UTC); two passings on line 2.
        assert by_chip["KV86583"].at == utc(2026, 5, 10, 7, 31, 2, 117000)
        assert (by_chip["KV86583"].line, by_chip["KV86583"].point) == (2, "Finish")
        assert (by_chip["0000041"].line, by_chip["0000041"].bib) == (2, "41")  # BibTag's b=
        assert by_chip["KV86583"].bib == ""
        # A Store message (passings sent again) reads the same; no d=: the race day.
        assert (by_chip["DX93845"].point, by_chip["DX93845"].line) == ("5 km", 3)
        assert by_chip["AB12346"].at == utc(2026, 5, 10, 7, 33, 10, 1000)

    def test_a_bad_passing_is_reported_and_its_message_keeps_the_good_ones(self) -> None:
        parsed = read("mylaps_passings.txt")
        found = problems(parsed)
        assert found[4] == ("passing 1: t", "09:61:00 is not a time of day")
        assert found[6][0] == "passing 1: chip" and "spreadsheet formula" in found[6][1]
        assert found[7][0] == "passing 1: d" and "too far from the race day" in found[7][1]
        assert found[9] == ("id", "the same read as line 2")
        # Pong, Marker and AckPing carry no passing: skipped, not problems.
        assert set(found) == {4, 6, 7, 9}

    def test_bare_passings_are_read_at_the_chosen_point(self) -> None:
        data = b"t=09:00:01.5|c=0000041|ct=UH|d=260510|dv=2\nt=09:00:02|b=7|dv=2\n"
        parsed = parse(data, layout="auto", venue=VENUE)
        assert parsed.layout == "mylaps"
        assert [(r.chip, r.bib, r.point) for r in parsed.reads] == [
            ("0000041", "", ""),
            ("", "7", ""),
        ]
        assert parsed.reads[0].at == utc(2026, 5, 10, 7, 0, 1, 500000)

    def test_the_same_passing_resent_has_the_same_id(self) -> None:
        passing = "t=09:31:02.117|c=KV86583|d=260510|dv=4"
        first = parse(f"Finish@Passing@{passing}@1@$".encode(), layout="mylaps", venue=VENUE)
        again = parse(f"Finish@Store@{passing}@77@$".encode(), layout="mylaps", venue=VENUE)
        assert first.reads[0].read_id == again.reads[0].read_id


class TestGeneric:
    def test_it_reads_bibs_chips_and_every_time_form(self) -> None:
        parsed = read("generic_semicolon.csv")
        assert parsed.layout == "generic"
        by_line = {r.line: r for r in parsed.reads}
        assert (by_line[2].bib, by_line[2].read_id, by_line[2].at) == (
            "1001",
            "a1",
            utc(2026, 5, 10, 7, 0, 1, 500000),
        )
        assert (by_line[3].bib, by_line[3].chip) == ("", "ZX9")
        assert by_line[3].at == utc(2026, 5, 10, 7, 1)
        assert by_line[4].at == utc(2026, 5, 10, 7, 2, 0, 250000)
        assert by_line[4].read_id.startswith("h-")  # no id given: one from the read itself

    def test_it_lists_each_bad_line_with_its_reason(self) -> None:
        found = problems(read("generic_semicolon.csv"))
        assert found[5] == ("time", "25:00:00 is not a time of day")
        assert found[6] == ("bib", "no bib and no chip: who was read?")
        assert found[7][0] == "bib" and "starts with '+'" in found[7][1]
        assert set(found) == {5, 6, 7}

    def test_it_reads_a_bom_and_latin_1(self) -> None:
        parsed = read("generic_latin1_bom.csv")
        assert [r.point for r in parsed.reads] == ["Arrivée"]

    def test_it_reads_utf_16_as_excel_saves_it(self) -> None:
        data = "bib\ttime\tpoint\n1001\t09:00:00\tArrivée\n".encode("utf-16")
        assert [r.point for r in parse(data, layout="auto", venue=VENUE).reads] == ["Arrivée"]

    def test_a_header_without_time_is_refused_whole(self) -> None:
        with pytest.raises(ReadFileError, match="time, and bib or chip"):
            parse(b"bib,point\n1,Finish\n", layout="generic", venue=VENUE)

    def test_it_truncates_to_the_millisecond(self) -> None:
        parsed = parse(b"bib,time\n1,09:00:00.123999\n", layout="generic", venue=VENUE)
        assert parsed.reads[0].at.microsecond == 123000

    def test_a_time_the_clocks_skip_is_a_problem(self) -> None:
        spring = Venue(zone=PARIS, race_day=dt.date(2026, 3, 29))
        parsed = parse(b"bib,time\n1,02:30:00\n2,03:30:00\n", layout="generic", venue=spring)
        assert [r.bib for r in parsed.reads] == ["2"]
        assert "does not exist in Europe/Paris" in parsed.problems[0].reason

    def test_a_date_far_from_the_race_is_a_problem(self) -> None:
        parsed = parse(
            b"bib,time\n1,2025-05-10 09:00:00\n2,09:00:00\n", layout="generic", venue=VENUE
        )
        assert (
            parsed.problems[0].line == 2
            and "too far from the race day" in parsed.problems[0].reason
        )

    def test_the_same_read_twice_in_a_file_is_one_read(self) -> None:
        parsed = parse(b"bib,time\n1,09:00:00\n1,09:00:00\n", layout="generic", venue=VENUE)
        assert len(parsed.reads) == 1
        assert parsed.problems[0].reason == "the same read as line 2"


class TestHostileFiles:
    def test_a_binary_file_is_refused_whole(self) -> None:
        with pytest.raises(ReadFileError, match="binary"):
            parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", layout="auto", venue=VENUE)

    def test_a_huge_file_is_refused_before_it_is_read(self) -> None:
        with pytest.raises(ReadFileError, match="larger than"):
            parse(b"x" * (MAX_BYTES + 1), layout="auto", venue=VENUE)

    def test_too_many_lines_are_refused(self) -> None:
        with pytest.raises(ReadFileError, match="lines"):
            parse(b"\n" * (MAX_LINES + 1), layout="auto", venue=VENUE)

    def test_an_endless_line_is_one_problem(self) -> None:
        data = b"bib,time\n" + b"1" * 50_000 + b",09:00:00\n2,09:00:00\n"
        parsed = parse(data, layout="generic", venue=VENUE)
        assert [r.bib for r in parsed.reads] == ["2"]
        assert parsed.problems[0].line == 2

    def test_problems_past_the_cap_are_counted_not_kept(self) -> None:
        data = b"bib,time\n" + b"x,99:00:00\n" * (MAX_PROBLEMS + 50)
        with pytest.raises(ReadFileError):
            parse(b"", layout="generic", venue=VENUE)
        parsed = parse(data, layout="generic", venue=VENUE)
        assert len(parsed.problems) == MAX_PROBLEMS
        assert parsed.problem_count == MAX_PROBLEMS + 50

    def test_an_unknown_layout_is_refused(self) -> None:
        with pytest.raises(ReadFileError):
            parse(b"bib,time\n1,09:00:00\n", layout="excel", venue=VENUE)

    @pytest.mark.parametrize("layout", ["generic", "raceresult", "chronotrack", "mylaps"])
    def test_a_100000_line_file_is_read_whole(self, layout: str) -> None:
        """How fast is ``make bench``'s business (bench/results.py: parse only and the whole
        import); here, that a file of that size is read to its last line."""
        line = {
            "generic": "{i},09:{m:02d}:{s:02d}.{ms:03d},Finish",
            "raceresult": "{i};{i};0000-00-00;09:{m:02d}:{s:02d}.{ms:03d};0;12;27;;0;1;1;0;B;1",
            "chronotrack": "CT01_33~{i}~Finish~{i}~09:{m:02d}:{s:02d}.{ms:03d}~0~0F2A38~1",
            "mylaps": "Finish@Passing@t=09:{m:02d}:{s:02d}.{ms:03d}|c={i}|ct=CX|dv=1@{i}@$",
        }[layout]
        rows = (line.format(i=i, m=i // 60 % 60, s=i % 60, ms=i % 1000) for i in range(100_000))
        header = "bib,time,point\n" if layout == "generic" else ""
        parsed = parse((header + "\n".join(rows)).encode(), layout=layout, venue=VENUE)
        assert len(parsed.reads) == 100_000 and parsed.problem_count == 0
        assert "99999" in (parsed.reads[-1].bib, parsed.reads[-1].chip)


lines = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(
            [
                "bib,time,point",
                "chip;time",
                "CT01_33~1~F~1~09:00:00~0~A~1",
                "1;2;0000-00-00;9:00:00;0;1;1",
                "Finish@Passing@t=09:00:00.001|c=A1|d=260510@1@$",
            ]
        ),
        st.builds(
            lambda a, b, c: f"{a},{b},{c}",
            st.text(max_size=12),
            st.text(max_size=24),
            st.text(max_size=12),
        ),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(st.binary(max_size=400), lines.map(lambda ls: "\n".join(ls).encode())),
    layout=st.sampled_from(sorted(LAYOUTS)),
    zone=st.sampled_from(["Europe/Paris", "America/St_Johns", "Pacific/Chatham", "UTC"]),
    day=st.dates(min_value=dt.date(1971, 1, 1), max_value=dt.date(9990, 1, 1)),
)
def test_no_input_raises_anything_but_read_file_error(
    body: bytes, layout: str, zone: str, day: dt.date
) -> None:
    venue = Venue(zone=zoneinfo.ZoneInfo(zone), race_day=day)
    try:
        parsed = parse(body, layout=layout, venue=venue)
    except ReadFileError:
        return
    for got in parsed.reads:
        assert got.at.tzinfo is dt.UTC and got.at.microsecond % 1000 == 0
        assert not got.bib.startswith(("=", "+", "-", "@"))
        assert not got.chip.startswith(("=", "+", "-", "@"))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_no_chip_file_raises_anything_but_read_file_error(body: bytes) -> None:
    with contextlib.suppress(ReadFileError):
        parse_chip_file(body)


def test_a_chip_file_maps_chips_with_or_without_a_header() -> None:
    with_header = parse_chip_file(b"Transponder;Bib\nZX9;1002\nZX9;1003\n=1;1\n")
    assert with_header.mappings == {"ZX9": "1002"}
    assert [p.line for p in with_header.report.problems] == [3, 4]
    assert parse_chip_file(b"AB1,7\nAB2,8\n").mappings == {"AB1": "7", "AB2": "8"}
