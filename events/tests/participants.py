"""Helpers of the back-office participant tests: an entry taken as athletes take them,
and what the participants list's action bar posts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.urls import reverse

from events.models import Race, Registration
from events.registration import registration_create

CHANGELIST = "admin:events_registration_changelist"


def enter(race: Race, first: str = "Rita", last: str = "Runner", **over: Any) -> Registration:
    """A confirmed entry (the races' fee is paid on site), taken the way athletes take them."""
    answers, code = over.pop("answers", {}), over.pop("code", "")
    entry = {
        "email": f"{first.lower()}@example.com", "first_name": first, "last_name": last,
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR", "club": "",
        "emergency_name": "Someone", "emergency_phone": "+33 6 00 00 00 00", **over,
    }  # fmt: skip
    return registration_create(race=race, user=None, entry=entry, answers=answers, code=code)


def post_action(client: Client, action: str, entries: list[Any], follow: bool = False) -> Any:
    """What the changelist's action bar posts for these entries."""
    data = {"action": action, "index": "0", "_selected_action": [e.pk for e in entries]}
    return client.post(reverse(CHANGELIST), data, follow=follow)


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
