"""Reading GPX, TCX and FIT files into samples: real files, broken files, hostile files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import fitdecode
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.files import ActivityFileError, read_activity_file
from integrations.tests.activity_files import (
    START,
    fit_bytes,
    fit_crc,
    gpx_bytes,
    run_samples,
    tcx_bytes,
)

FILES = Path(__file__).parent / "files"
REAL = {name: (FILES / name).read_bytes() for name in ("run.gpx", "run.tcx", "run.fit")}


@pytest.mark.parametrize("name", sorted(REAL))
def test_it_reads_every_format_into_the_same_samples(name: str) -> None:
    parsed = read_activity_file(REAL[name])
    assert parsed.format == name.rsplit(".", 1)[1]
    assert len(parsed.samples) == 121
    first, last = parsed.samples[0], parsed.samples[-1]
    assert first.time == START
    assert last.time == START + dt.timedelta(minutes=10)
    assert first.lat == pytest.approx(52.5145, abs=1e-6)
    assert first.lon == pytest.approx(13.3501, abs=1e-6)
    assert first.hr == 130 and first.cad == 84
    assert first.ele == pytest.approx(35.0, abs=0.2)


def test_it_writes_fit_files_fitdecode_reads_with_their_checksums() -> None:
    with fitdecode.FitReader(
        __import__("io").BytesIO(REAL["run.fit"]), check_crc=fitdecode.CrcCheck.RAISE
    ) as reader:
        names = [f.name for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    assert names[:2] == ["file_id", "sport"]
    assert names.count("record") == 121
    assert fit_crc(REAL["run.fit"]) == 0  # a FIT file's CRC over itself and its CRC is 0


def test_it_reads_the_sport_and_name() -> None:
    assert read_activity_file(REAL["run.tcx"]).sport == "Running"
    assert read_activity_file(REAL["run.fit"]).sport == "running"
    assert read_activity_file(REAL["run.gpx"]).name == "Morning run"


def test_it_sorts_samples_and_keeps_one_per_instant() -> None:
    samples = run_samples(minutes=1)
    shuffled = [samples[3], *samples, samples[0]]
    parsed = read_activity_file(gpx_bytes(shuffled))
    times = [s.time for s in parsed.samples]
    assert times == sorted(set(times)) and len(times) == len(samples)


def test_it_leaves_out_garbage_measurements() -> None:
    raw = gpx_bytes(run_samples(minutes=1)).replace(b"<gpxtpx:hr>130<", b"<gpxtpx:hr>999<", 1)
    raw = raw.replace(b'lat="52.5145"', b'lat="NaN"', 1)
    first = read_activity_file(raw).samples[0]
    assert first.hr is None and first.lat is None and first.lon is None
    assert first.cad == 84


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"PK\x03\x04 a zip", "Not a GPX, TCX or FIT file"),
        (b"<html><body>hi</body></html>", "Not a GPX or TCX file"),
        (b"<gpx><trk><trkseg><trkpt lat='1' lon='2'>", "Not a valid GPX or TCX file"),
        (b'<gpx version="1.1"><trk><trkseg></trkseg></trk></gpx>', "no timed points"),
        (
            b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx>&a;</gpx>',
            "DTD",
        ),
        (REAL["run.fit"][:-400], "cut short"),
        (
            gpx_bytes(run_samples(minutes=1)).replace(
                b"<time>2026-05-10T07:30:05Z", b"<time>1970-01-01T00:00:00Z", 1
            ),
            "more than a week is not one workout",
        ),
        (REAL["run.fit"][:-2] + b"\x00\x00", "checksum"),
    ],
)
def test_it_refuses_bad_files_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ActivityFileError, match=reason):
        read_activity_file(raw)


def test_it_refuses_more_points_than_an_activity_has(monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.files import fit, xmlfiles

    monkeypatch.setattr(xmlfiles, "MAX_SAMPLES", 50)
    monkeypatch.setattr(fit, "MAX_SAMPLES", 50)
    for raw in (REAL["run.gpx"], REAL["run.fit"]):
        with pytest.raises(ActivityFileError, match="more than 50 points"):
            read_activity_file(raw)


def _read_or_refuse(raw: bytes) -> None:
    try:
        parsed = read_activity_file(raw)
    except ActivityFileError as exc:
        assert str(exc)
    else:
        assert parsed.samples


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_it_reads_or_refuses_random_bytes(raw: bytes) -> None:
    _read_or_refuse(raw)
    _read_or_refuse(REAL["run.fit"][:14] + raw)  # a valid FIT header, then noise


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(REAL)), st.integers(min_value=0, max_value=50_000))
def test_it_reads_or_refuses_truncated_real_files(name: str, cut: int) -> None:
    raw = REAL[name]
    _read_or_refuse(raw[: cut % len(raw)])


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(REAL)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_it_reads_or_refuses_real_files_with_flipped_bytes(
    name: str, flips: list[tuple[int, int]]
) -> None:
    raw = bytearray(REAL[name])
    for position, value in flips:
        raw[position % len(raw)] = value
    if name == "run.fit":  # past the checksum, so fitdecode's decoding itself is exercised
        body = bytes(raw[:-2])
        raw = bytearray(body + fit_crc(body).to_bytes(2, "little"))
    _read_or_refuse(bytes(raw))


def test_it_reads_the_files_written_by_the_helpers_for_any_run() -> None:
    samples = run_samples(minutes=2, every=1, speed=4.2)
    for writer in (gpx_bytes, tcx_bytes, fit_bytes):
        assert len(read_activity_file(writer(samples)).samples) == 121
