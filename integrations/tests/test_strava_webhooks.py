"""Strava's webhook endpoint, its events' effects, and the subscription command."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from integrations.models import Activity, ActivityStream, Connection, StravaJob, StravaSubscription
from integrations.tests.fake_strava import FakeStrava
from integrations.tests.test_strava_backfill import connect
from pace.lib.testing import FakeClock

pytestmark = pytest.mark.django_db
URL = "/integrations/strava/webhook/"


def post(client: Any, body: Any, django_capture_on_commit_callbacks: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, json.dumps(body), content_type="application/json")


def event(**fields: Any) -> dict[str, Any]:
    return {
        "object_type": "activity", "aspect_type": "create", "object_id": 700_003,
        "owner_id": 7, "subscription_id": 4242, "updates": {}, "event_time": 1796121900,
        **fields,
    }  # fmt: skip


def test_it_answers_the_validation_handshake(client: Any, strava: FakeStrava) -> None:
    ok = client.get(
        URL,
        {
            "hub.mode": "subscribe",
            "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3",
            "hub.verify_token": "verify-me",
        },
    )
    assert ok.status_code == 200 and ok.json() == {
        "hub.challenge": "15f7d1a91c1f40f8a748fd134752feb3"
    }
    wrong = client.get(
        URL, {"hub.mode": "subscribe", "hub.challenge": "x", "hub.verify_token": "guess"}
    )
    assert wrong.status_code == 403


def test_an_activity_created_is_fetched_and_a_deleted_one_goes(
    client: Any,
    strava: FakeStrava,
    clock: FakeClock,
    subscription: StravaSubscription,
    django_capture_on_commit_callbacks: Any,
) -> None:
    athlete = strava.add_athlete(7, activities=15)
    conn = connect(strava, athlete, clock)
    Activity.objects.filter(external_id="700003").delete()
    StravaJob.objects.all().delete()
    assert post(client, event(), django_capture_on_commit_callbacks).status_code == 200
    # Queued first in line, then drained by the task the event enqueued (in-process here).
    assert ("GET", "/api/v3/activities/700003") in strava.requests
    assert Activity.objects.filter(user=conn.user, external_id="700003").exists()
    assert ActivityStream.objects.filter(activity__external_id="700003").exists()
    post(client, event(aspect_type="delete"), django_capture_on_commit_callbacks)
    assert not Activity.objects.filter(external_id="700003").exists()


def test_deauthorisation_deletes_the_athletes_strava_data(
    client: Any,
    strava: FakeStrava,
    clock: FakeClock,
    subscription: StravaSubscription,
    django_capture_on_commit_callbacks: Any,
) -> None:
    connect(strava, strava.add_athlete(7, activities=15), clock)
    body = event(
        object_type="athlete", aspect_type="update", object_id=7, updates={"authorized": "false"}
    )
    assert post(client, body, django_capture_on_commit_callbacks).status_code == 200
    assert not Activity.objects.exists() and not Connection.objects.exists()


def test_it_refuses_events_of_another_subscription(
    client: Any,
    strava: FakeStrava,
    clock: FakeClock,
    subscription: StravaSubscription,
    django_capture_on_commit_callbacks: Any,
) -> None:
    connect(strava, strava.add_athlete(7, activities=15), clock)
    body = event(
        object_type="athlete",
        aspect_type="update",
        subscription_id=999,
        updates={"authorized": "false"},
    )
    assert post(client, body, django_capture_on_commit_callbacks).status_code == 403
    assert Connection.objects.exists()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {k: st.one_of(st.just(v), json_values) for k, v in event().items()}  # near-valid events
    ),
)


@hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_body_is_answered_without_a_server_error(
    client: Any, subscription: StravaSubscription, body: Any
) -> None:
    response = client.post(URL, json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400, 403)


def test_strava_subscription_create_show_delete(strava: FakeStrava, settings: Any) -> None:
    out = StringIO()
    call_command("strava_subscription", "create", stdout=out)
    sub = StravaSubscription.objects.get()
    assert sub.callback_url == settings.SITE_URL + URL
    assert strava.subscriptions == {sub.subscription_id: sub.callback_url}
    out = StringIO()
    call_command("strava_subscription", "show", stdout=out)
    assert str(sub.subscription_id) in out.getvalue()
    call_command("strava_subscription", "delete", stdout=StringIO())
    assert not strava.subscriptions and not StravaSubscription.objects.exists()
