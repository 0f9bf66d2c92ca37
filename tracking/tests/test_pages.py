"""The spectator page and the athlete's tracker page."""

from __future__ import annotations

import datetime as dt
import gzip
import secrets

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Event, Registration
from events.tests.factories import make_course, make_event, make_race
from tracking.ingest.athletes import athlete_for_device, athlete_for_token
from tracking.ingest.trackers import clean_device_id, tracker_for, tracker_issue_device_id
from tracking.models import Tracker, device_columns, secret_digest

pytestmark = pytest.mark.django_db
TRACK = "/track/"


def register(race, user, *, status=Registration.Status.CONFIRMED, bib="7") -> Registration:
    return Registration.objects.create(
        race=race, event=race.event, user=user, status=status, email=f"{bib}@example.com",
        first_name="Dave", last_name=f"Runner{bib}", birth_date=dt.date(1990, 1, 1), sex="M",
        nationality="FR", emergency_name="-", emergency_phone="-", bib=bib, price=0,
        currency="EUR", waiver_accepted_at=timezone.now(), manage_token=secrets.token_urlsafe(24),
    )  # fmt: skip


@pytest.fixture
def race(alpha):
    event = make_event(alpha, "Lake Run", days_ahead=0)
    race = make_race(event, "10K", course=make_course(alpha))
    race.start_time = timezone.now() + dt.timedelta(hours=1)
    race.save()
    return race


@pytest.fixture
def entry(race, dave):
    return register(race, dave)


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


def test_it_renders_the_live_page_with_the_race_and_its_athletes(client, race, entry):
    response = client.get(f"/live/{race.event.slug}/{race.slug}/")
    assert response.status_code == 200
    assert (
        reverse("tracking:live", args=[race.event.slug, race.slug]) == response.request["PATH_INFO"]
    )
    config = response.context["config"]
    assert config["id"] == race.pk and config["ws"] == f"/ws/live/{race.pk}/?field=later"
    assert config["course_url"] == f"/courses/{race.course_id}/"
    # [id, bib, name, category, sex]: the board names and filters athletes from it.
    assert client.get(config["roster_url"]).json() == {
        "roster": [[entry.pk, "7", "Dave Runner7", "", "M"]]
    }
    assert config["athlete_url"] == f"/live/{race.event.slug}/{race.slug}/athlete/0.json"
    html = response.content.decode()
    assert 'id="live-config"' in html and "tracking/live.js" in html and "leaflet.js" in html
    assert "Dave Runner7" not in html  # the roster is fetched beside the socket
    assert "{#" not in html and "{%" not in html  # no template comment shown as text


def test_it_renders_the_live_page_in_a_few_queries(
    client, race, entry, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        assert client.get(f"/live/{race.event.slug}/{race.slug}/").status_code == 200
    # The crowd at the start gun is served from the page cache.
    with django_assert_max_num_queries(0):
        assert client.get(f"/live/{race.event.slug}/{race.slug}/").status_code == 200


@pytest.mark.parametrize("path", ["/live/nope/10k/", "/live/lake-run/nope/"])
def test_it_answers_404_for_an_unknown_event_or_race(client, race, path):
    assert client.get(path).status_code == 404


def test_it_hides_a_drafts_live_page_from_anonymous_and_shows_it_to_its_organizer(
    client, race, alice, charlie
):
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    path = f"/live/{race.event.slug}/{race.slug}/"
    assert client.get(path).status_code == 404
    assert login(Client(), charlie).get(path).status_code == 404
    assert login(Client(), alice).get(path).status_code == 200


def test_it_sends_anonymous_visitors_of_the_tracker_page_to_log_in(client):
    response = client.get(TRACK)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_lists_my_trackable_entries_and_creates_their_tracker(
    client, race, entry, dave, charlie
):
    register(race, charlie, bib="8")
    register(race, dave, status=Registration.Status.CANCELLED, bib="9")
    old = make_race(race.event, "Yesterday 5K")
    old.start_time = timezone.now() - dt.timedelta(days=2)
    old.save()
    register(old, dave, bib="10")
    response = login(client, dave).get(TRACK)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["entry"].registration for r in rows] == [entry]
    tracker = Tracker.objects.get(registration=entry)
    assert tracker.token in response.content.decode()
    assert Tracker.objects.count() == 1


def test_it_issues_a_device_id_and_shows_the_app_settings(client, race, entry, dave):
    response = login(client, dave).get(TRACK)
    issued = Tracker.objects.get(registration=entry).device_id
    assert issued is not None and len(issued) >= 16 and clean_device_id(issued) == issued
    html = response.content.decode()
    assert f'<code class="device-id">{issued}</code>' in html
    assert f'<code class="osmand-url">{django_settings.SITE_URL}/osmand/</code>' in html
    assert f"/osmand/?id={issued}&amp;lat={{0}}" in html

    response = client.post(TRACK, {"action": "issue", "registration": entry.pk})
    assert response.status_code == 302
    again = Tracker.objects.get(registration=entry).device_id
    assert again is not None and again != issued and len(again) >= 16
    assert athlete_for_device(issued) is None and athlete_for_device(again).id == entry.pk


def test_it_links_a_device_and_refuses_a_taken_or_guessable_one(client, race, entry, dave, charlie):
    other = register(race, charlie, bib="8")
    Tracker.objects.create(registration=other, **device_columns("taken-phone-7"))
    login(client, dave)
    form = {"action": "device", "registration": entry.pk}
    response = client.post(TRACK, {**form, "device_id": "  my-phone-42  "})
    assert response.status_code == 302
    assert Tracker.objects.get(registration=entry).device_id == "my-phone-42"

    refused = {
        "taken-phone-7": "already linked to another entry",
        "x" * 101: "at most 100 characters",
        "123456": "at least 8 characters",
        "48241179": "digits only needs at least 12",
        "abababab": "at least 5 different characters",
        "my phone 42": "may hold only letters",
        "my-phone-42\x00": "may hold only letters",
        "téléphone-42": "may hold only letters",
    }
    for typed, reason in refused.items():
        response = client.post(TRACK, {**form, "device_id": typed})
        assert response.status_code == 200, typed
        assert reason in response.content.decode(), typed
        assert Tracker.objects.get(registration=entry).device_id == "my-phone-42"
    for accepted in ("861001000719969", "Pixel8.Anna_~x"):  # an IMEI; a name typed in the app
        assert client.post(TRACK, {**form, "device_id": accepted}).status_code == 302
        assert Tracker.objects.get(registration=entry).device_id == accepted

    client.post(TRACK, {**form, "device_id": ""})
    assert Tracker.objects.get(registration=entry).device_id is None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=120))
def test_it_answers_any_typed_device_id_with_a_link_or_a_form_error(
    client, race, entry, dave, typed
):
    login(client, dave)
    before = Tracker.objects.get(pk=tracker_for(entry).pk).device_id
    response = client.post(
        TRACK, {"action": "device", "registration": entry.pk, "device_id": typed}
    )
    after = Tracker.objects.get(registration=entry).device_id
    if response.status_code == 302:
        assert after == (clean_device_id(typed) if typed.strip() else None)
    else:
        assert response.status_code == 200 and after == before
        assert "device-error" in response.content.decode()


def test_it_issues_a_new_token_and_the_old_one_stops_working(client, race, entry, dave):
    old = login(client, dave).get(TRACK).context["rows"][0]["entry"].tracker.token
    assert athlete_for_token(old) is not None
    response = client.post(TRACK, {"action": "rotate", "registration": entry.pk})
    assert response.status_code == 302
    new = Tracker.objects.get(registration=entry).token
    assert new != old
    assert athlete_for_token(old) is None and athlete_for_token(new).id == entry.pk
    assert Client().get(TRACK, {"token": old}).status_code == 404


def test_it_does_not_let_another_user_change_my_tracker(client, race, entry, dave, charlie):
    mine = login(Client(), dave).get(TRACK).context["rows"][0]["entry"].tracker
    token, device_id = mine.token, mine.device_id
    login(client, charlie)
    for data in (
        {"action": "device", "registration": entry.pk, "device_id": "charlies-phone"},
        {"action": "issue", "registration": entry.pk},
        {"action": "rotate", "registration": entry.pk},
    ):
        assert client.post(TRACK, data).status_code == 404
    tracker = Tracker.objects.get(registration=entry)
    assert tracker.device_id == device_id and tracker.token == token


def test_it_serves_the_tracker_page_to_a_token_without_login(client, race, entry):
    tracker = Tracker.objects.create(registration=entry)
    response = client.get(TRACK, {"token": tracker.token})
    assert response.status_code == 200
    assert [r["entry"].registration for r in response.context["rows"]] == [entry]
    data = {"action": "rotate", "registration": entry.pk, "token": tracker.token}
    response = client.post(TRACK, data)
    tracker.refresh_from_db()
    assert response["Location"] == f"{TRACK}?token={tracker.token}"
    assert Client().get(TRACK, {"token": "not-a-token"}).status_code == 404


def test_the_tracker_page_carries_only_its_own_css_and_stays_small_gzipped(client, race, entry):
    """A phone on 3G paints the tracker once its HTML is in (the CSS is inline): every KB
    gzipped is 20 ms at 400 kbps. The live page's stylesheet (board, map, panels) is not
    the tracker's; bench/pages.py measures the first paint this keeps under a second."""
    tracker = Tracker.objects.create(registration=entry)
    tracker_issue_device_id(tracker=tracker)  # both QR codes drawn
    response = client.get(TRACK, {"token": tracker.token}, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    html = gzip.decompress(response.content).decode()
    assert ".live-body" not in html and ".board " not in html  # tracking.css is not inlined
    assert ".track-card" in html and ".t-status" in html  # track.css is
    assert len(response.content) < 10_000, len(response.content)


def test_it_refuses_a_tracker_change_without_the_csrf_token(race, entry, dave):
    client = login(Client(enforce_csrf_checks=True), dave)
    data = {"action": "device", "registration": entry.pk, "device_id": "my-phone-42"}
    assert client.post(TRACK, data).status_code == 403
    assert not Tracker.objects.filter(device_digest=secret_digest("my-phone-42")).exists()


def test_it_lets_a_token_holder_link_a_device_without_logging_in(client, race, entry):
    tracker = Tracker.objects.create(registration=entry)
    data = {"action": "device", "registration": entry.pk, "token": tracker.token}
    response = client.post(TRACK, {**data, "device_id": "Pixel8.Anna_~x"})
    assert response["Location"] == f"{TRACK}?token={tracker.token}"
    assert athlete_for_device("Pixel8.Anna_~x").id == entry.pk
    refused = client.post(TRACK, {**data, "device_id": "123456"})
    assert "at least 8 characters" in refused.content.decode()
    forged = client.post(TRACK, {**data, "token": "not-a-token", "device_id": "Other.Phone_9"})
    assert forged.status_code == 404 and athlete_for_device("Other.Phone_9") is None


@pytest.mark.parametrize("token", ["a\x00b", "\x00", "t" * 65])
def test_it_answers_a_malformed_token_like_an_unknown_one(client, race, entry, token):
    """A NUL reached PostgreSQL (a 500 there) before it was checked."""
    assert client.get(TRACK, {"token": token}).status_code == 404
    data = {"action": "rotate", "registration": entry.pk, "token": token}
    assert client.post(TRACK, data).status_code == 404
    assert athlete_for_token(token) is None


def test_it_limits_failed_attempts_to_link_an_id_linked_elsewhere(
    client, race, entry, dave, charlie, settings
):
    """The "already linked" answer tells whether an id exists: each account (each entry's
    token for a holder without one) may be told so a few times an hour, not at will."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "tracker.link": "3/h"}
    Tracker.objects.create(
        registration=register(race, charlie, bib="8"), **device_columns("taken-7x9q")
    )
    form = {"action": "device", "registration": entry.pk}
    login(client, dave)
    assert (
        "at least 8 characters"
        in client.post(TRACK, {**form, "device_id": "1234"}).content.decode()
    )
    for n in range(3):  # a rule broken reveals nothing and is not counted
        response = client.post(TRACK, {**form, "device_id": f"taken-7x9q{'' if n == 0 else n}"})
        if n == 0:
            assert "already linked" in response.content.decode()
        else:
            assert response.status_code == 302  # free: linked
    for _ in range(2):
        assert (
            "already linked"
            in client.post(TRACK, {**form, "device_id": "taken-7x9q"}).content.decode()
        )
    for typed in ("taken-7x9q", "Pixel8.Anna_~x"):  # the 4th failure, then any link
        refused = client.post(TRACK, {**form, "device_id": typed})
        assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
        assert "try again in" in refused.content.decode()
        assert "already linked" not in refused.content.decode()
    assert Tracker.objects.get(registration=entry).device_id == "taken-7x9q2"
    # A token holder's own entry counts apart; issuing an id from Pace is never limited.
    tracker = Tracker.objects.get(registration=entry)
    data = {**form, "token": tracker.token, "device_id": "Pixel8.Anna_~x"}
    assert Client().post(TRACK, data).status_code == 302
    assert client.post(TRACK, {"action": "issue", "registration": entry.pk}).status_code == 302


def _athlete_url(race, athlete_id) -> str:
    return reverse("tracking:live_athlete", args=[race.event.slug, race.slug, athlete_id])


def test_the_athlete_json_gives_pace_hr_and_elevation_along_the_course_and_splits(
    client, race, entry
):
    from pace.lib.geo import cumulative_distances, point_at_distance
    from tracking.models import Position, Post, SplitCrossing
    from tracking.web.athletedata import MAX_POINTS

    start = race.start_time
    line = race.course.line
    cumulative = cumulative_distances(line)
    # Two hours of a fix a second at 2.5 m/s: downsampled to at most MAX_POINTS.
    rows = []
    for i in range(0, 3_600):
        lon, lat = point_at_distance(line, cumulative, 2.5 * i * cumulative[-1] / 10_000)
        t = start + dt.timedelta(seconds=i)
        rows.append(Position(race=race, registration=entry, seq=i, t=t, lat=lat, lon=lon,
                             hr=150, received_at=t))  # fmt: skip
    Position.objects.bulk_create(rows)
    SplitCrossing.objects.create(race=race, registration=entry, point="5 km", distance_m=5000,
                                 time=start + dt.timedelta(seconds=2000), rank=3)  # fmt: skip
    Post.objects.create(race=race, registration=entry, text="<b>Hot</b> out here")
    Post.objects.create(race=race, registration=entry, text="hidden", hidden=True)
    response = client.get(_athlete_url(race, entry.pk))
    assert response.status_code == 200
    data = response.json()
    assert data["athlete"] == {"id": entry.pk, "bib": "7", "name": "Dave Runner7"}
    points = data["points"]
    assert 100 <= len(points) <= MAX_POINTS
    elapsed, distance, pace, hr, ele = points[len(points) // 2]
    assert distance == pytest.approx(2.5 * elapsed, rel=0.05)
    assert pace == pytest.approx(400, rel=0.05)  # 2.5 m/s is 6:40 a kilometre
    assert hr == 150 and ele is not None
    assert [p[1] for p in points] == sorted(p[1] for p in points)  # never backwards
    assert len(data["profile"]) > 10 and data["profile"][-1][0] == pytest.approx(10_000, rel=0.01)
    assert data["splits"] == [{"point": "5 km", "distance": 5000, "time": 2000.0, "rank": 3}]
    assert [p["text"] for p in data["posts"]] == ["<b>Hot</b> out here"]


def test_a_post_an_organizer_hides_leaves_the_cached_athlete_json_at_once(client, race, entry):
    from tracking.fanout.posts import posts_set_hidden
    from tracking.models import Post

    post = Post.objects.create(race=race, registration=entry, text="rude")
    url = _athlete_url(race, entry.pk)
    assert [p["text"] for p in client.get(url).json()["posts"]] == ["rude"]  # now cached
    posts_set_hidden(posts=Post.objects.filter(pk=post.pk), hidden=True)
    assert client.get(url).json()["posts"] == []
    posts_set_hidden(posts=Post.objects.filter(pk=post.pk), hidden=False)
    assert [p["text"] for p in client.get(url).json()["posts"]] == ["rude"]


def test_the_athlete_json_is_cached_limited_and_refuses_other_races_athletes(
    client, race, entry, alpha, settings, django_assert_max_num_queries
):
    url = _athlete_url(race, entry.pk)
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(3):  # the race and the entry; the data is cached
        assert client.get(url).status_code == 200
    other = make_race(make_event(alpha, "Other Run", days_ahead=0), "5K")
    stranger = register(other, None, bib="9")
    answer = client.get(_athlete_url(race, stranger.pk))
    assert answer.status_code == 404 and "error" in answer.json()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "live.athlete.ip": "2/m"}
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    limited = client.get(url)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0


def test_the_athletes_pace_leaves_out_standing_at_the_start() -> None:
    from tracking.web.athletedata import _downsampled

    start = 1_800_000_000.0
    # Two minutes on the start line (the gun, then a wave's start; GPS jitter of a metre
    # or two), then 2.5 m/s: 6:40 a kilometre from the first metres on.
    track: list[tuple[float, float, float | None]]
    track = [(start + s, (s % 3) * 0.7, None) for s in range(120)]
    track += [(start + 120 + s, 2.5 * s, None) for s in range(1, 400)]
    points = _downsampled(track, start, [])
    running = [pace for _, d, pace, _, _ in points if d >= 20]
    assert running and all(pace == pytest.approx(400, rel=0.06) for pace in running), running
    # A stop on the course still counts where it is inside the window.
    stopped: list[tuple[float, float, float | None]]
    stopped = [(start + s, 2.5 * s, None) for s in range(200)]
    stopped += [(start + 200 + s, 500.0, None) for s in range(1, 61)]
    stopped += [(start + 260 + s, 500.0 + 2.5 * s, None) for s in range(1, 40)]
    after = _downsampled(stopped, start, [])
    assert max(p[2] for p in after if p[1] > 500) > 500  # the minute stopped shows
