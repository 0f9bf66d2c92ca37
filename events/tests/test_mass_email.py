"""E-mail to a race's participants: a subject is one line, and the history says what went.

A line break in the subject was a 500 (``BadHeaderError`` when the first copy was
sent) after the race's history had already said every copy was sent; a copy the
mail server refused was retried, then raised, and was still counted as sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.mass_email import participant_email_deliver, participants_email
from events.models import Race, Registration, RegistrationChange
from events.tests.mail_backends import RefusingBackend
from events.tests.participants import enter

pytestmark = pytest.mark.django_db

REFUSING = "events.tests.mail_backends.RefusingBackend"


@pytest.fixture
def race(alpha_event: Any) -> Race:
    return alpha_event.races.get()


def confirmed(race: Race, first: str, email: str) -> Registration:
    entry = enter(race, first, email=email)
    Registration.objects.filter(pk=entry.pk).update(status=Registration.Status.CONFIRMED)
    return entry


@pytest.fixture
def refusing_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = REFUSING
    RefusingBackend.attempts = {}


def _send(client: Client, race: Race, capture: Any, **data: str) -> Any:
    url = reverse("admin:events_registration_email", args=[race.pk])
    with capture(execute=True):
        return client.post(
            url, {"subject": "Bib pick-up", "body": "Friday 5pm.", **data, "send": "1"}
        )


def _outcomes() -> dict[str, str]:
    changes = RegistrationChange.objects.filter(kind="email").select_related("registration")
    return {c.registration.email: c.detail["outcome"] for c in changes}


@pytest.mark.parametrize(
    "subject", ["Bib\nBcc: all@example.com", "Bib\r\npick-up", "Bib\rup", "Bib\u2028up", "A\tB"]
)
def test_it_refuses_a_subject_with_a_line_break_as_a_form_error(
    as_alice, race, subject, django_capture_on_commit_callbacks
):
    confirmed(race, "Rita", "rita@example.com")

    response = _send(as_alice, race, django_capture_on_commit_callbacks, subject=subject)

    assert response.status_code == 200
    assert "one line" in str(response.context["form"].errors["subject"])
    assert not mail.outbox
    assert not LogEntry.objects.exists()
    assert not RegistrationChange.objects.filter(kind="email").exists()


def test_it_tells_in_the_race_history_what_was_sent_and_what_failed(
    as_alice, race, refusing_mail, django_capture_on_commit_callbacks
):
    confirmed(race, "Rita", "rita@example.com")
    confirmed(race, "Anna", "anna@example.com")
    confirmed(race, "Bea", "bea@bounce.example")
    cancelled = confirmed(race, "Carl", "carl@example.com")

    url = reverse("admin:events_registration_email", args=[race.pk])
    with django_capture_on_commit_callbacks() as queued:
        response = as_alice.post(url, {"subject": "Bib", "body": "Friday.", "send": "1"})
    # Carl cancels after the e-mail was queued, before his copy goes.
    Registration.objects.filter(pk=cancelled.pk).update(status=Registration.Status.CANCELLED)
    for send_one in queued:
        send_one()

    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["anna@example.com", "rita@example.com"]
    assert _outcomes() == {
        "rita@example.com": "sent", "anna@example.com": "sent",
        "bea@bounce.example": "failed", "carl@example.com": "skipped",
    }  # fmt: skip
    log = LogEntry.objects.get()
    assert "Queued" in log.change_message and "Sent" not in log.change_message
    history = as_alice.get(reverse("admin:events_race_history", args=[race.pk]))
    html = history.content.decode()
    assert history.status_code == 200
    assert '<td class="sent">2</td>' in html and '<td class="failed">1</td>' in html
    assert "Not sent to bea@bounce.example: SMTPRecipientsRefused" in html
    assert "5.1.1 No such user" in html


def test_it_leaves_a_copy_refused_for_now_to_the_workers_retry_and_records_the_last_try(
    race, alice, refusing_mail
):
    bill = confirmed(race, "Bill", "bill@busy.example")
    participants_email(
        user=alice, registrations=Registration.objects.all(), subject="Bib", body="Friday."
    )  # queued only: no commit in this test, so its task does not run
    change = RegistrationChange.objects.get(kind="email")
    copy: dict[str, Any] = {
        "registration_id": bill.pk,
        "subject": "Bib",
        "body": "Friday.",
        "change_id": change.pk,
    }

    for _ in range(2):
        with pytest.raises(OSError, match="Try again later"):
            participant_email_deliver(**copy, final=False)
    change.refresh_from_db()
    assert change.detail["outcome"] == "queued"

    assert participant_email_deliver(**copy, final=False) == "sent"  # accepted on the 3rd try
    change.refresh_from_db()
    assert (change.detail["outcome"], len(mail.outbox)) == ("sent", 1)


def test_it_records_a_copy_refused_on_the_last_try_as_failed(race, alice, refusing_mail):
    bill = confirmed(race, "Bill", "bill@busy.example")
    participants_email(
        user=alice, registrations=Registration.objects.all(), subject="Bib", body="Friday."
    )
    change = RegistrationChange.objects.get(kind="email")

    outcome = participant_email_deliver(
        registration_id=bill.pk, subject="Bib", body="Friday.", change_id=change.pk, final=True
    )

    change.refresh_from_db()
    assert (outcome, change.detail["outcome"]) == ("failed", "failed")
    assert "451" in change.detail["error"]
    assert not mail.outbox


def test_it_shows_each_participants_copy_in_the_history_of_its_entry(
    as_alice, race, refusing_mail, django_capture_on_commit_callbacks
):
    bea = confirmed(race, "Bea", "bea@bounce.example")
    _send(as_alice, race, django_capture_on_commit_callbacks, subject="Parking")

    page = as_alice.get(reverse("admin:events_registration_change", args=[bea.pk]))

    html = page.content.decode()
    assert "Parking" in html and "failed" in html and "550" in html


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What a browser can post: any text UTF-8 can carry (a lone surrogate cannot be encoded,
# so no form ever sends one; the test client would fail before the request).
@given(
    subject=st.text(st.characters(codec="utf-8") | st.sampled_from("\n\r\u2028 ab"), max_size=40),
    body=st.text(st.characters(codec="utf-8"), max_size=60),
)
def test_it_answers_any_subject_and_body_with_a_form_error_or_sends_exactly_them(
    as_alice, race, django_capture_on_commit_callbacks, subject, body
):
    if not Registration.objects.exists():
        confirmed(race, "Rita", "rita@example.com")
    mail.outbox = []
    queued = LogEntry.objects.count()

    response = _send(as_alice, race, django_capture_on_commit_callbacks, subject=subject, body=body)

    if response.status_code == 200:
        assert response.context["form"].errors
        assert LogEntry.objects.count() == queued
        return
    assert response.status_code == 302
    [message] = mail.outbox
    assert (message.subject, message.body.split("\n\n--\n")[0]) == (subject.strip(), body.strip())
