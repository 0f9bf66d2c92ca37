"""The results table's rows, made ready in Python (the template only places them)."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from results.presenting import DASH, TABLE_FIELDS, table_html, table_rows

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


class _Cells(HTMLParser):
    """The table body's rows as lists of cell texts, and every tag and attribute seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self.rows[-1].append("")

    def handle_data(self, data: str) -> None:
        if self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def test_the_rows_html_shows_each_cell_as_the_template_did() -> None:
    finisher, dsq = table_rows(
        [_row(penalty_ms=60_000),
         _row(status="dsq", rank_overall=None, rank_sex=None, rank_category=None,
              dsq_reason="Cut the course")],
        athlete_url=URL, distance_m=10_000, sport="running",
    )  # fmt: skip
    html = table_html([finisher, dsq])
    assert html.startswith('<tr class="status-finished" data-bib="101"><td class="num rank">3</td>')
    assert '<a href="/results/ev/10k/101/">Anna Alder</a><span class="sub">' in html
    assert 'Senior <span class="muted">(2)</span></td><td class="col-sex">F <span' in html
    assert '0:40:51<span class="adjusted" title="Time adjusted: penalty or bonus">*</span>' in html
    assert '<span class="status-tag" title="Disqualified: Cut the course">DSQ</span>' in html
    cells = _Cells()
    cells.feed(html)
    assert [len(r) for r in cells.rows] == [9, 9]


TEXT = st.text(st.characters(codec="utf-8"), max_size=30)


@given(first=TEXT, last=TEXT, club=TEXT, bib=TEXT, category=TEXT, reason=TEXT)
@settings(max_examples=150, deadline=None)
def test_what_athletes_and_organizers_typed_reaches_the_page_as_text(
    first: str, last: str, club: str, bib: str, category: str, reason: str
) -> None:
    """Names, clubs, bibs, categories and reasons come from users: whatever they hold,
    the rows are the same tags with the same attributes, and the cells read as typed."""
    fields = {
        "registration__first_name": first, "registration__last_name": last,
        "registration__club": club, "registration__bib": bib, "category__name": category,
    }  # fmt: skip
    rows = table_rows(
        [_row(**fields), _row(**fields, status="dsq", rank_overall=None, dsq_reason=reason)],
        athlete_url=URL, distance_m=10_000, sport="running",
    )  # fmt: skip
    cells = _Cells()
    cells.feed(table_html(rows))
    cells.close()
    assert {tag for tag, _ in cells.tags} <= {"tr", "td", "a", "span"}
    assert len(cells.rows) == 2 and all(len(r) == 9 for r in cells.rows)
    for row, shown in zip(rows, cells.rows, strict=True):
        assert shown[1] == row["bib"] and shown[3] == row["club"]
        assert shown[2] == row["name"] + row["sub"]
    dsq_attrs = dict(next(attrs for tag, attrs in cells.tags if ("class", "status-tag") in attrs))
    assert dsq_attrs["title"] == rows[1]["title"]
    data_bibs = [dict(attrs)["data-bib"] for tag, attrs in cells.tags if tag == "tr"]
    assert data_bibs == [bib, bib]
