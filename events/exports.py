"""Participant lists for organizers: the start list, and CSV and XLSX exports.

Every function takes the requesting user and narrows the entries it is given
with ``scope_to_user``, so an export never holds another organizer's entries,
whatever ids a request named.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import QuerySet
from django_countries.fields import Country
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from events.access import scope_to_user
from events.localtime import zone_named
from events.models import Race, RaceQuestion, Registration

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
YES_NO = {"yes": "Yes", "no": "No"}


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Any]]


def _local(value: dt.datetime | None, tzname: str) -> dt.datetime | None:
    """A naive local time in the event's zone: what the organizer reads, and what XLSX holds."""
    if value is None:
        return None
    zone: dt.tzinfo = zone_named(tzname) or dt.UTC
    return value.astimezone(zone).replace(tzinfo=None, microsecond=0)


# A CountryField's value is a Country (the stubs say str), hence the casts below.
ENTRY_COLUMNS: tuple[tuple[str, Callable[[Registration], Any]], ...] = (
    ("Event", lambda r: r.event.name),
    ("Race", lambda r: r.race.name),
    ("Start", lambda r: _local(r.race.start_time, r.event.timezone)),
    ("Bib", lambda r: r.bib),
    ("First name", lambda r: r.first_name),
    ("Last name", lambda r: r.last_name),
    ("E-mail", lambda r: r.email),
    ("Sex", lambda r: r.sex),
    ("Birth date", lambda r: r.birth_date),
    ("Nationality", lambda r: cast(Country, r.nationality).code),
    ("Club", lambda r: r.club),
    ("Category", lambda r: r.category.name if r.category else ""),
    ("Team", lambda r: r.team.name if r.team else ""),
    ("Status", lambda r: r.get_status_display()),
    ("T-shirt size", lambda r: r.tshirt_size),
    ("Emergency contact", lambda r: r.emergency_name),
    ("Emergency phone", lambda r: r.emergency_phone),
    ("Price", lambda r: r.price),
    ("Currency", lambda r: r.currency),
    ("Payment method", lambda r: r.payment_method),
    ("Discount code", lambda r: r.discount_code.code if r.discount_code else ""),
    ("Checked in at", lambda r: _local(r.checked_in_at, r.event.timezone)),
    ("Entered at", lambda r: _local(r.created_at, r.event.timezone)),
)


def _questions(race_ids: Iterable[int]) -> list[RaceQuestion]:
    return list(
        RaceQuestion.objects.filter(race_id__in=set(race_ids)).order_by(
            "race__start_time", "race_id", "position", "pk"
        )
    )


def participants_table(*, user: Any, registrations: QuerySet[Registration]) -> Table:
    """Entries with their details and one column per question label (shared across races)."""
    entries = list(
        scope_to_user(registrations, user)
        .select_related("event", "race", "category", "team", "discount_code")
        .order_by("race__start_time", "race_id", "last_name", "first_name", "pk")
    )
    questions = _questions(entry.race_id for entry in entries)
    labels = list(dict.fromkeys(question.label for question in questions))
    label_of = {str(question.pk): question.label for question in questions}
    rows = []
    for entry in entries:
        answers = {label_of[key]: value for key, value in entry.answers.items() if key in label_of}
        row = [value(entry) for _, value in ENTRY_COLUMNS]
        row += [YES_NO.get(answers.get(label, ""), answers.get(label, "")) for label in labels]
        rows.append(row)
    return Table(header=[name for name, _ in ENTRY_COLUMNS] + labels, rows=rows)


def bib_order(entry: Registration) -> tuple[int, int, str, str]:
    """Numbered bibs by number, other bibs by text, entries without a bib last by name."""
    bib = entry.bib
    if bib.isdecimal():  # isdigit() also takes '²', which int() refuses
        return (0, int(bib), "", "")
    if bib:
        return (1, 0, bib, "")
    return (2, 0, entry.last_name.lower(), entry.first_name.lower())


def start_list(*, user: Any, race: Race) -> list[Registration]:
    """The confirmed entries of a race, in bib order."""
    entries = scope_to_user(Registration.objects.filter(race=race), user).filter(
        status=Registration.Status.CONFIRMED
    )
    return sorted(entries.select_related("category", "team"), key=bib_order)


START_LIST_COLUMNS: tuple[tuple[str, Callable[[Registration], Any]], ...] = (
    ("Bib", lambda r: r.bib),
    ("Last name", lambda r: r.last_name),
    ("First name", lambda r: r.first_name),
    ("Category", lambda r: r.category.name if r.category else ""),
    ("Club", lambda r: r.club),
    ("Nationality", lambda r: cast(Country, r.nationality).code),
    ("Team", lambda r: r.team.name if r.team else ""),
)


def start_list_table(*, user: Any, race: Race) -> Table:
    rows = [
        [value(entry) for _, value in START_LIST_COLUMNS]
        for entry in start_list(user=user, race=race)
    ]
    return Table(header=[name for name, _ in START_LIST_COLUMNS], rows=rows)


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def table_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheets read accents right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_text(name) for name in table.header])
    writer.writerows([_csv_text(value) for value in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text, never a formula, whatever it starts with
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    return cell


def table_xlsx(table: Table, *, title: str = "Participants") -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_xlsx_cell(sheet, name) for name in table.header])
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def participants_csv(*, user: Any, registrations: QuerySet[Registration]) -> bytes:
    return table_csv(participants_table(user=user, registrations=registrations))


def participants_xlsx(*, user: Any, registrations: QuerySet[Registration]) -> bytes:
    return table_xlsx(participants_table(user=user, registrations=registrations))
