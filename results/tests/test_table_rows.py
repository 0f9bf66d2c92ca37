"""The results table's rows, made ready in Python (the template only places them)."""

from __future__ import annotations

from results.presenting import DASH, TABLE_FIELDS, table_rows

URL = "/results/ev/10k/{bib}/"


def _row(**fields: object) -> tuple[object, ...]:
    base: dict[str, object] = {
        "status": "finished", "sex": "F", "chip_time_ms": 2_450_001, "gun_time_ms": 2_455_000,
        "rank_overall": 3, "rank_sex": 1, "rank_category": 2, "dsq_reason": "", "penalty_ms": 0,
        "bonus_ms": 0, "registration__bib": "101", "registration__first_name": "Anna",
        "registration__last_name": "Alder", "registration__club": "Annecy Running",
        "category__name": "Senior",
    }  # fmt: skip
    base.update(fields)
    return tuple(base[name] for name in TABLE_FIELDS)


def test_a_finishers_row_has_every_cell_ready() -> None:
    (row,) = table_rows([_row()], athlete_url=URL, distance_m=10_000, sport="running")
    assert row["rank"] == "3" and row["url"] == "/results/ev/10k/101/"
    assert (row["chip"], row["gun"], row["pace"]) == ("0:40:51", "0:40:55", "4:05 /km")
    assert row["sub"] == "Annecy Running · Senior"
    assert (row["rank_category"], row["rank_sex"], row["adjusted"]) == ("2", "1", False)


def test_a_disqualified_row_says_why_and_an_adjusted_time_is_marked() -> None:
    dsq, adjusted, no_bib = table_rows(
        [
            _row(status="dsq", rank_overall=None, rank_sex=None, rank_category=None,
                 dsq_reason="Cut the course", chip_time_ms=None, category__name=None),
            _row(penalty_ms=60_000),
            _row(registration__bib="", registration__club=""),
        ],
        athlete_url=URL, distance_m=10_000, sport="cycling",
    )  # fmt: skip
    assert (dsq["rank"], dsq["status_short"]) == ("", "DSQ")
    assert dsq["title"] == "Disqualified: Cut the course"
    assert (dsq["chip"], dsq["pace"], dsq["category"]) == (DASH, DASH, "")
    assert dsq["sub"] == "Annecy Running · F"  # no category: the sex
    assert adjusted["adjusted"] and adjusted["pace"].endswith("km/h")
    assert (no_bib["url"], no_bib["sub"]) == ("", "Senior")
