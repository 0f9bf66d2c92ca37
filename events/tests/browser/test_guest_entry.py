"""A guest enters a race, is told to check their e-mail, and follows the link to take it."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

from events.models import Registration

pytestmark = pytest.mark.browser


def test_it_holds_a_guests_entry_until_the_emailed_link_is_followed(
    page: Any, live_server: Any, alpha_event: Any
) -> None:
    race = alpha_event.races.get()
    page.goto(f"{live_server.url}{alpha_event.get_absolute_url()}enter/{race.slug}/")
    for name, value in {
        "email": "guest@example.com", "first_name": "Gina", "last_name": "Guest",
        "birth_date": "1990-03-04", "emergency_name": "Eve", "emergency_phone": "+33 600 000 000",
    }.items():  # fmt: skip
        page.fill(f"[name={name}]", value)
    page.select_option("[name=sex]", "F")
    page.select_option("[name=nationality]", "FR")
    page.check("[name=waiver]")
    page.click("form.entry-form button[type=submit]")
    page.wait_for_url("**/entries/*/")
    expect(page.locator("main")).to_contain_text("Check your e-mail")
    assert Registration.objects.get().status == Registration.Status.UNVERIFIED

    (message,) = mail.outbox
    link = next(line for line in message.body.splitlines() if "/confirm/" in line).strip()
    page.goto(live_server.url + link.removeprefix(settings.SITE_URL))
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("You're in!")
    assert Registration.objects.get().status == Registration.Status.CONFIRMED
    assert page.js_errors == []
