"""Who is the same athlete across races: entries are per race, athletes are not.

An entry made with an account is that account's. An entry without one is matched by
its normalized name and birth date, and joins the account of the one account holder
who entered another of the races under that name and birth date (a guest entry in
one race, a signed-in one in the next). Two account holders sharing a name and a
birth date stay two athletes, and so do their guest entries.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_NOT_LETTERS = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class EntryPerson:
    """What an entry says about who ran it."""

    registration_id: int
    user_id: int | None
    first_name: str
    last_name: str
    birth_date: dt.date


def normalized_name(first_name: str, last_name: str) -> str:
    """The name without accents, case, hyphens or extra spaces: "Zoé-Anne  LÉGER" is
    "zoe anne leger"."""
    text = unicodedata.normalize("NFKD", f"{first_name} {last_name}")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _NOT_LETTERS.sub(" ", text).strip()


def athlete_keys(entries: Iterable[EntryPerson]) -> dict[int, str]:
    """Each entry's athlete key: "u<user id>" or "p<normalized name>|<birth date>"."""
    entries = list(entries)
    holders: dict[tuple[str, dt.date], set[int]] = {}
    for entry in entries:
        if entry.user_id is not None:
            person = (normalized_name(entry.first_name, entry.last_name), entry.birth_date)
            holders.setdefault(person, set()).add(entry.user_id)
    keys: dict[int, str] = {}
    for entry in entries:
        user_id = entry.user_id
        person = (normalized_name(entry.first_name, entry.last_name), entry.birth_date)
        if user_id is None and len(holders.get(person, ())) == 1:
            (user_id,) = holders[person]
        keys[entry.registration_id] = (
            f"u{user_id}" if user_id is not None else f"p{person[0]}|{person[1].isoformat()}"
        )
    return keys
