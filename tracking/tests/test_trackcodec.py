"""The replay's compact tracks: what is encoded decodes to within a metre."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tracking.web.trackcodec import (
    COORD_SCALE,
    Track,
    build_track,
    decode_track,
    deltas,
    encode_track,
    fill_gaps,
    group_rows,
    sample_step,
    undeltas,
)

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
distances = st.floats(min_value=0, max_value=500_000, allow_nan=False)


@st.composite
def tracks(draw: st.DrawFn) -> Track:
    n = draw(st.integers(min_value=1, max_value=60))
    return Track(
        athlete=draw(st.integers(min_value=1, max_value=2**40)),
        first=draw(st.integers(min_value=0, max_value=10_000)),
        distances=draw(st.lists(distances, min_size=n, max_size=n)),
        lats=draw(st.lists(lats, min_size=n, max_size=n)),
        lons=draw(st.lists(lons, min_size=n, max_size=n)),
    )


@given(tracks())
def test_it_decodes_what_it_encoded_within_a_metre(track: Track) -> None:
    # Through JSON, as the page gets it.
    back = decode_track(json.loads(json.dumps(encode_track(track))))
    assert (back.athlete, back.first) == (track.athlete, track.first)
    assert len(back.distances) == len(back.lats) == len(back.lons) == len(track.lats)
    tolerance = 0.5 / COORD_SCALE + 1e-9
    for was, got in zip(track.lats + track.lons, back.lats + back.lons, strict=True):
        assert abs(was - got) <= tolerance
    for was, got in zip(track.distances, back.distances, strict=True):
        assert abs(was - got) <= 0.5


@given(st.lists(st.integers(min_value=-(2**53), max_value=2**53)))
def test_it_delta_encodes_any_integers_losslessly(values: list[int]) -> None:
    assert undeltas(deltas(values)) == values


def test_it_writes_a_moving_athlete_in_small_numbers() -> None:
    # 30 s samples of a runner at 3 m/s: a few digits each, not 8.
    track = Track(
        athlete=7,
        first=0,
        distances=[90.0 * i for i in range(100)],
        lats=[45.0 + 0.0008 * i for i in range(100)],
        lons=[6.0 + 0.0003 * i for i in range(100)],
    )
    _athlete, _first, distances, lats, lons = encode_track(track)
    assert isinstance(distances, list) and isinstance(lats, list) and isinstance(lons, list)
    assert distances[1:] == [90] * 99
    assert set(lats[1:]) == {80} and set(lons[1:]) == {30}


def test_it_fills_missing_samples_on_the_line_between_known_ones() -> None:
    filled = fill_gaps([(2, 45.0, 6.0), (5, 45.3, 6.3), (6, 45.4, 6.4)])
    assert [k for k, _, _ in filled] == [2, 3, 4, 5, 6]
    assert abs(filled[1][1] - 45.1) < 1e-9 and abs(filled[2][2] - 6.2) < 1e-9


def test_it_never_moves_an_athlete_back_along_the_course() -> None:
    noisy = [100.0, 250.0, 240.0, 400.0]
    track = build_track(3, [(k, 45.0, 6.0) for k in range(4)], lambda points: noisy)
    assert track.distances == [100.0, 250.0, 250.0, 400.0]


def test_it_groups_rows_by_athlete() -> None:
    rows = [(1, 0, 45.0, 6.0), (1, 1, 45.1, 6.1), (2, 4, 46.0, 7.0)]
    assert [(a, len(s)) for a, s in group_rows(rows)] == [(1, 2), (2, 1)]


def test_it_samples_coarser_for_bigger_races() -> None:
    assert sample_step(duration=7200, athletes=60, budget=1_500_000) == 5
    assert sample_step(duration=7200, athletes=5000, budget=1_500_000) == 30
    assert sample_step(duration=10 * 86400, athletes=20_000, budget=1_500_000) == 300
