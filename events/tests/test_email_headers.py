"""Names organizers and athletes type reach e-mail subjects on one line.

An event or race named with a line break (typed in the admin, or posted) made
every e-mail naming it fail with ``BadHeaderError``, inside the request that sent
it (a 500 on the entry form), or could add a header of its own.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from events.models import Race, WaitlistEntry
from events.tests.participants import enter
from events.waitlist import waitlist_offer_places

pytestmark = pytest.mark.django_db


@pytest.fixture
def race(alpha_event: Any) -> Race:
    alpha_event.name = "Alpha\r\nBcc: everyone@example.com"
    alpha_event.save()
    race = alpha_event.races.get()
    race.name, race.capacity = "Mara\nthon\u2028Night", 10
    race.save()
    return race


def _assert_one_line_subjects() -> None:
    assert mail.outbox
    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "Alpha Bcc: everyone@example.com, Mara thon Night" in message.subject
        assert message.message()["Bcc"] is None
        assert message.recipients() == message.to


def test_it_sends_the_entry_emails_of_a_race_named_with_line_breaks(
    race, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter(race, "Rita")

    _assert_one_line_subjects()


def test_it_sends_the_waitlist_offer_of_a_race_named_with_line_breaks(
    race, django_capture_on_commit_callbacks
):
    WaitlistEntry.objects.create(race=race, name="Wendy", email="w@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        waitlist_offer_places(race_id=race.pk)

    _assert_one_line_subjects()
