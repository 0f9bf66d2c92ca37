"""Connect, backfill, refresh, break and disconnect against the fake Strava over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events.tests.factories import make_user
from integrations.models import (
    Activity,
    ActivityStream,
    Connection,
    JobKind,
    JobPriority,
    StravaJob,
)
from integrations.selectors import strava_progress
from integrations.strava import backfill
from integrations.strava.client import StravaClient
from integrations.strava.connect import disconnect_strava, strava_connected
from integrations.strava.quota import window_start
from integrations.tests.fake_strava import FakeAthlete, FakeStrava
from integrations.tokens import TokenSet
from pace.lib.testing import FakeClock

pytestmark = pytest.mark.django_db


def connect(
    fake: FakeStrava, athlete: FakeAthlete, clock: FakeClock, name: str = "ann"
) -> Connection:
    body = fake.token_body(athlete)
    return strava_connected(
        user=make_user(name),
        athlete_id=str(athlete.athlete_id),
        display_name="Ann Runner",
        tokens=TokenSet(
            body["access_token"],
            body["refresh_token"],
            datetime.fromtimestamp(body["expires_at"], tz=UTC),
        ),
        scopes="read,activity:read_all",
        client=StravaClient(clock=clock),
        clock=clock,
    )


def test_it_imports_the_first_page_while_the_athlete_waits(
    strava: FakeStrava, clock: FakeClock
) -> None:
    athlete = strava.add_athlete(7, activities=55)
    conn = connect(strava, athlete, clock)
    assert Activity.objects.filter(user=conn.user).count() == 10  # page 1, at once
    pages = StravaJob.objects.filter(kind=JobKind.PAGE).order_by("page")
    assert [(j.page, j.priority) for j in pages] == [(p, JobPriority.FRESH) for p in range(2, 7)]
    assert conn.sync.estimated_total == 50
    progress = strava_progress(conn, clock=clock)
    assert progress is not None and progress.text.startswith("10 of about 50 activities")

    result = backfill.drain(max_calls=1000, clock=clock, client=StravaClient(clock=clock))
    assert result.more is False
    assert Activity.objects.filter(user=conn.user).count() == 55
    assert ActivityStream.objects.filter(activity__user=conn.user).count() == 55
    stream = ActivityStream.objects.first()
    assert stream is not None and stream.samples == 60
    assert stream.latlng is not None and stream.latlng[0] == [52.5, 13.4]
    conn.sync.refresh_from_db()
    assert conn.sync.finished_at is not None
    assert strava_progress(conn, clock=clock).text == "55 activities, all imported"  # type: ignore[union-attr]


def test_a_new_athletes_first_pages_go_before_an_old_backlog(
    strava: FakeStrava, clock: FakeClock
) -> None:
    old = connect(strava, strava.add_athlete(1, activities=300), clock, "old")
    for _ in range(8):  # old's first pages and some of its backlog
        job = backfill.claim_next(now=datetime.fromtimestamp(clock.time(), tz=UTC))
        assert job is not None
        backfill.run_job(job, StravaClient(clock=clock), clock=clock)
    assert StravaJob.objects.filter(connection=old, priority=JobPriority.BACKLOG).exists()
    new = connect(strava, strava.add_athlete(2, activities=300), clock, "new")
    job = backfill.claim_next(now=datetime.fromtimestamp(clock.time(), tz=UTC))
    assert job is not None and job.connection_id == new.pk and job.kind == JobKind.PAGE


def test_it_defers_to_the_next_window_when_the_quota_is_spent(
    strava: FakeStrava, clock: FakeClock, settings: Any
) -> None:
    settings.STRAVA_FRESH_RESERVE = 0.0
    strava.limits["read"] = (30, 1000)  # Strava's headers say so: Pace follows them
    conn = connect(strava, strava.add_athlete(7, activities=300), clock)
    result = backfill.drain(max_calls=1000, clock=clock, client=StravaClient(clock=clock))
    assert result.deferred_until == datetime(2026, 12, 1, 10, 45, tzinfo=UTC).timestamp()
    assert strava.responses_429 == 0
    reads = [r for r in strava.requests if r[0] == "GET"]
    assert len(reads) == 30  # the whole window's reads, not one more
    progress = strava_progress(conn, clock=clock)
    assert progress is not None and progress.text.endswith("next batch in 5 min")  # at 10:45
    clock.elapsed += 5 * 60
    again = backfill.drain(max_calls=5, clock=clock, client=StravaClient(clock=clock))
    assert again.calls == 5


def test_backlogs_leave_a_share_of_the_quota_to_a_new_athlete(
    strava: FakeStrava, clock: FakeClock, settings: Any
) -> None:
    settings.STRAVA_FRESH_RESERVE = 0.1
    old = connect(strava, strava.add_athlete(1, activities=3000), clock, "old")
    result = backfill.drain(max_calls=1000, clock=clock, client=StravaClient(clock=clock))
    assert result.more and StravaJob.objects.filter(connection=old).exists()
    assert strava.usage[("read", "15", window_start(clock.time()))] == 90  # 100 less 10 %
    new = connect(strava, strava.add_athlete(2, activities=3000), clock, "new")
    assert Activity.objects.filter(user=new.user).count() == 10  # at once, from the reserve
    backfill.drain(max_calls=1000, clock=clock, client=StravaClient(clock=clock))
    # Its stats, page 1 and pages 2-6 came out of the reserve; its streams wait like the rest.
    assert strava.usage[("read", "15", window_start(clock.time()))] == 97
    assert StravaJob.objects.filter(connection=new, kind=JobKind.PAGE).count() == 1  # page 7
    assert strava.responses_429 == 0


def test_a_429_pauses_the_drain_until_the_reset(strava: FakeStrava, clock: FakeClock) -> None:
    connect(strava, strava.add_athlete(7, activities=300), clock)
    strava.force_429 = True
    result = backfill.drain(max_calls=50, clock=clock, client=StravaClient(clock=clock))
    assert result.calls == 0 and strava.responses_429 == 1
    assert result.deferred_until == datetime(2026, 12, 1, 10, 45, tzinfo=UTC).timestamp()
    strava.force_429 = False
    assert backfill.drain(max_calls=3, clock=clock, client=StravaClient(clock=clock)).calls == 0
    clock.elapsed += 5 * 60
    assert backfill.drain(max_calls=3, clock=clock, client=StravaClient(clock=clock)).calls == 3


def test_it_refreshes_before_expiry_and_keeps_the_rotated_refresh_token(
    strava: FakeStrava, clock: FakeClock
) -> None:
    athlete = strava.add_athlete(7, activities=15)
    conn = connect(strava, athlete, clock)
    first_refresh = conn.refresh_token()
    clock.elapsed += 6 * 3600 - 60  # one minute before the token expires
    backfill.drain(max_calls=1000, clock=clock, client=StravaClient(clock=clock))
    conn.refresh_from_db()
    assert conn.refresh_token() == athlete.refresh_token != first_refresh
    assert conn.access_token() == athlete.access_token
    assert conn.expires_at is not None and conn.expires_at > datetime.fromtimestamp(
        clock.time(), tz=UTC
    ) + timedelta(hours=5)
    assert Activity.objects.count() == 15


def test_a_revoked_token_breaks_the_connection_and_the_page_says_so(
    strava: FakeStrava, clock: FakeClock, client: Any
) -> None:
    athlete = strava.add_athlete(7, activities=95)
    conn = connect(strava, athlete, clock)
    athlete.revoked = True
    clock.elapsed += 6 * 3600
    backfill.drain(max_calls=10, clock=clock, client=StravaClient(clock=clock))
    conn.refresh_from_db()
    assert conn.is_broken
    client.force_login(conn.user)
    page = client.get("/integrations/")
    assert b'data-testid="strava-broken"' in page.content


def test_disconnect_revokes_at_strava_and_deletes_the_imports(
    strava: FakeStrava, clock: FakeClock, client: Any
) -> None:
    athlete = strava.add_athlete(7, activities=15)
    conn = connect(strava, athlete, clock)
    token = athlete.access_token
    assert disconnect_strava(conn, client=StravaClient(clock=clock), clock=clock)
    assert strava.deauthorized == [token]
    assert not Activity.objects.exists() and not Connection.objects.exists()
    assert not StravaJob.objects.exists()


def test_the_connections_page_disconnects_by_post_only(
    strava: FakeStrava, clock: FakeClock, client: Any
) -> None:
    conn = connect(strava, strava.add_athlete(7, activities=5), clock)
    backfill.drain(max_calls=100, clock=clock, client=StravaClient(clock=clock))  # the streams
    client.force_login(conn.user)
    assert client.get("/integrations/strava/disconnect/").status_code == 405
    page = client.get("/integrations/")
    assert b"5 activities, all imported" in page.content
    assert client.post("/integrations/strava/disconnect/").status_code == 302
    assert not Connection.objects.exists()


def test_connecting_through_allauth_keeps_only_pace_s_sealed_tokens(
    strava: FakeStrava, settings: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from urllib.parse import parse_qs, urlparse

    import requests
    from allauth.socialaccount.models import SocialAccount, SocialToken

    settings.SOCIALACCOUNT_PROVIDERS = {
        "strava": {
            "SCOPE": ["read,activity:read_all"],
            "APPS": [{"client_id": "1234", "secret": "shh-client-secret"}],
        }
    }
    athlete = strava.add_athlete(7, activities=25)
    strava.authorizing = 7
    user = make_user("ann")
    client.force_login(user)
    start = client.post("/accounts/strava/login/?process=connect")
    assert start.status_code == 302 and start["Location"].startswith(
        f"{strava.url}/oauth/authorize"
    )
    assert parse_qs(urlparse(start["Location"]).query)["scope"] == ["read,activity:read_all"]
    back = requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(urlparse(back).path + "?" + urlparse(back).query)
    assert done.status_code == 302 and done["Location"] == "/integrations/"
    conn = Connection.objects.get(user=user)
    assert conn.external_id == "7" and conn.scopes == "read,activity:read_all"
    assert (
        conn.access_token() == athlete.access_token
        and conn.refresh_token() == athlete.refresh_token
    )
    assert SocialAccount.objects.filter(user=user, provider="strava").exists()
    assert not SocialToken.objects.exists()  # allauth keeps no copy
    assert Activity.objects.filter(user=user).count() == 25  # page 1, then the queued pages


def test_strava_s_urls_are_not_there_without_its_keys(settings: Any, client: Any) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {"strava": {"SCOPE": ["read"]}}
    client.force_login(make_user("ann"))
    assert client.post("/accounts/strava/login/?process=connect").status_code == 404


def test_connecting_another_athlete_replaces_the_first_ones_data(
    strava: FakeStrava, clock: FakeClock
) -> None:
    first = connect(strava, strava.add_athlete(7, activities=5), clock)
    second_athlete = strava.add_athlete(8, activities=3)
    body = strava.token_body(second_athlete)
    second = strava_connected(
        user=first.user, athlete_id="8", display_name="Other",
        tokens=TokenSet(body["access_token"], body["refresh_token"], None),
        scopes="read", client=StravaClient(clock=clock), clock=clock,
    )  # fmt: skip
    assert second.external_id == "8" and Connection.objects.count() == 1
    assert Activity.objects.filter(user=first.user).count() == 3
