"""Whatever a form posts to race control's actions is answered with a reason (400) or
done (200), never a 500; and only to the race's organizer's members."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from events.models import Registration
from events.tests.factories import ENTRY_FORM
from tracking.models import Withdrawal

pytestmark = pytest.mark.django_db

text = st.text(st.characters(codec="utf-8"), max_size=600)
fields = st.fixed_dictionaries(
    {"action": st.one_of(st.sampled_from(["dnf", "hide", "message", "ack"]), text)},
    optional={
        "athlete": st.one_of(text, st.integers(-(2**70), 2**70).map(str)),
        "post": st.one_of(text, st.integers(-(2**70), 2**70).map(str)),
        "sos": st.one_of(text, st.integers(-(2**70), 2**70).map(str)),
        "text": text,
        "reason": text,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=fields)
@example(data={"action": "hide", "post": str(2**70)})
@example(data={"action": "dnf", "athlete": str(2**70)})
@example(data={"action": "ack", "sos": str(-(2**70))})
@example(data={"action": "message", "athlete": str(2**64), "text": "hi"})
@example(data={"action": "message", "text": "a\x00b"})
def test_any_post_is_answered_with_a_reason_never_a_500(alice, charlie, alpha_event, data):
    race = alpha_event.races.get()
    entry = Registration.objects.filter(race=race).first()
    if entry is None:
        form = {k: v for k, v in ENTRY_FORM.items() if k != "waiver"}
        entry = Registration.objects.create(
            race=race, event=alpha_event, status="confirmed", price=0, currency="EUR",
            waiver_accepted_at=timezone.now(), manage_token="fuzz", bib="7", **form,
        )  # fmt: skip
    url = reverse("tracking:control_act", args=[alpha_event.slug, race.slug])
    client = Client()
    client.force_login(alice)
    answer = client.post(url, data)
    assert answer.status_code in (200, 400), answer.content[:300]
    assert answer.status_code == 200 or answer.json()["error"]
    stranger = Client()
    stranger.force_login(charlie)
    withdrawn = Withdrawal.objects.count()
    assert stranger.post(url, data).status_code == 404
    assert Withdrawal.objects.count() == withdrawn
