"""Any input to the marketplace filters and the entry forms: an answer with a reason, never a 500.

Property-based (hypothesis): any text (NUL bytes, huge strings, unicode), numbers out of
range, impossible dates and bad e-mails. Runs on SQLite and PostgreSQL alike (a NUL byte
reaching PostgreSQL is an error there, not on SQLite).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.forms import EventSearchForm
from events.models import RaceQuestion, Registration, WaitlistEntry
from events.registration import ENTRY_FIELDS
from events.tests.factories import ENTRY_FORM

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ODD_VALUES = [
    "", " ", "\x00", "-1", "0", "1e309", "-1e309", "nan", "inf",
    "9" * 5000, "x" * 20_000, "2024-02-30", "0000-00-00", "9999-12-31", "0001-01-01",
    "a@b", "@", "é@ü.example", "runner@example.com\x00", "FR", "F", "on", "yes",
    "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\u202e", "🏃" * 100,
]  # fmt: skip

GARBAGE = st.one_of(
    st.text(max_size=40),
    st.text(max_size=20).map(lambda s: f"{s}\x00{s}"),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(ODD_VALUES),
)


@pytest.fixture
def race(alpha_event, settings):
    # The limits have their own tests; here every example must reach the form.
    settings.RATE_LIMITS = {}
    race = alpha_event.races.get()
    race.capacity = None
    race.save()
    RaceQuestion.objects.create(race=race, label="Bus?", kind="yes_no")
    RaceQuestion.objects.create(race=race, label="Diet", kind="choice", choices="Vegan\nAny")
    RaceQuestion.objects.create(race=race, label="Best time", kind="text")
    return race


def _error_shown(content: bytes) -> bool:
    return b"errorlist" in content or b"notice-danger" in content


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from([*EventSearchForm.base_fields, "junk", "offer"]), GARBAGE, max_size=6
    )
)
def test_it_answers_any_marketplace_filter_with_a_page_or_a_reason(client, alpha_event, params):
    response = client.get(reverse("events:list"), params)
    assert response.status_code in (200, 400), params
    if response.status_code == 400:
        assert _error_shown(response.content), params


def _stored_matches(registration: Registration, data: dict[str, Any]) -> bool:
    """What was stored is what was typed (trimmed), for every free-text field."""
    text_fields = ["email", "first_name", "last_name", "club", "emergency_name", "emergency_phone"]
    return all(getattr(registration, f) == str(data.get(f, "")).strip() for f in text_fields)


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from([*ENTRY_FIELDS, "waiver", "code", "q_bus", "q_diet", "q_time"]),
        GARBAGE,
        max_size=6,
    ),
    offer=st.one_of(st.just(""), GARBAGE),
)
def test_it_answers_any_entry_form_with_an_entry_or_a_reason(client, race, changes, offer):
    questions = {q.label: f"q_{q.pk}" for q in race.questions.all()}
    names = {
        "q_bus": questions["Bus?"],
        "q_diet": questions["Diet"],
        "q_time": questions["Best time"],
    }
    data = {**ENTRY_FORM, **{names.get(k, k): v for k, v in changes.items()}}
    before = Registration.objects.count()
    url = reverse("events:enter", args=[race.event.slug, race.slug])
    if offer:
        url += "?" + urlencode({"offer": offer})
    response = client.post(url, data)
    assert response.status_code in (302, 400), changes
    if response.status_code == 400:
        assert _error_shown(response.content), changes
        assert Registration.objects.count() == before
        return
    registration = Registration.objects.latest("pk")
    assert registration.status == Registration.Status.UNVERIFIED
    assert _stored_matches(registration, data), changes
    assert registration.birth_date <= race.start_time.date()


@FUZZ
@given(name=GARBAGE, email=GARBAGE)
def test_it_answers_any_waitlist_form_with_a_place_in_line_or_a_reason(client, race, name, email):
    race.capacity = 0
    race.save()
    before = WaitlistEntry.objects.count()
    url = reverse("events:waitlist", args=[race.event.slug, race.slug])
    response = client.post(url, {"name": name, "email": email})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert WaitlistEntry.objects.count() == before


@FUZZ
@given(token=st.text(min_size=1, max_size=80), key=st.text(min_size=1, max_size=80))
def test_it_answers_any_entry_link_with_a_page_or_not_found(client, race, token, key):
    # The test client sends the path as typed, percent-encoding what a URL cannot carry.
    from urllib.parse import quote

    for path in (f"/entries/{quote(token)}/", f"/entries/{quote(token)}/confirm/{quote(key)}/"):
        assert client.get(path).status_code in (200, 302, 404)


def test_it_refuses_an_entry_dated_on_the_first_day_of_year_one_with_a_reason(client, race):
    # The edge of what a date can hold: refused as implausible, not a 500 on its arithmetic.
    url = reverse("events:enter", args=[race.event.slug, race.slug])
    response = client.post(url, {**ENTRY_FORM, "birth_date": "0001-01-01"})
    assert response.status_code == 400
    assert b"Enter a birth date in 1900 or later" in response.content
    assert not Registration.objects.exists()


@FUZZ
@given(course_id=st.integers(min_value=0), fmt=GARBAGE)
def test_it_answers_any_course_address_with_a_course_or_a_reason(
    client, alpha_event, course_id, fmt
):
    response = client.get(f"/courses/{course_id}/", {"format": fmt})
    assert response.status_code in (200, 400, 404)
