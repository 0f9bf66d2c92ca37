"""Race control in the back office: its race list and safety settings, scoped per
organizer, and the Trackers list's status and last fix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from events.models import Registration
from events.tests.factories import ENTRY_FORM
from pace.lib.testing import PASSWORD, admin_form_data
from tracking.models import Position, RaceSafety, Tracker

pytestmark = pytest.mark.django_db


def _registration(event, bib: str) -> Registration:
    race = event.races.get()
    fields = {k: v for k, v in ENTRY_FORM.items() if k != "waiver"}
    return Registration.objects.create(
        race=race, event=event, status="confirmed", price=0, currency="EUR",
        waiver_accepted_at=timezone.now(), manage_token=f"t{bib}", bib=bib, **fields,
    )  # fmt: skip


def test_an_organizer_lists_and_opens_only_its_own_races(client, alice, alpha_event, bravo_event):
    client.login(username="alice", password=PASSWORD)
    mine, theirs = alpha_event.races.get(), bravo_event.races.get()
    listing = client.get("/admin/tracking/racecontrol/").content.decode()
    assert alpha_event.name in listing and bravo_event.name not in listing
    assert f"/control/{alpha_event.slug}/{mine.slug}/" in listing
    assert "Defaults, no contact" in listing
    assert client.get(f"/admin/tracking/racecontrol/{theirs.pk}/change/").status_code in (302, 404)


def test_an_organizer_sets_its_races_safety_settings(client, bob, alpha_event, bravo_event):
    client.login(username="bob", password=PASSWORD)  # staff at Alpha
    race = alpha_event.races.get()
    url = f"/admin/tracking/racecontrol/{race.pk}/change/"
    data = admin_form_data(client.get(url))
    data |= {
        "safety-0-off_course_m": "250",
        "safety-0-stopped_minutes": "15",
        "safety-0-lost_minutes": "3",
        "safety-0-contacts": "medic@example.com\nnot an address",
    }
    refused = client.post(url, data)
    assert (
        refused.status_code == 200
        and "Not an e-mail address: not an address" in refused.content.decode()
    )
    data["safety-0-contacts"] = "medic@example.com\nchief@example.com"
    assert client.post(url, data).status_code == 302
    safety = RaceSafety.objects.get(race=race)
    assert (safety.off_course_m, safety.stopped_minutes, safety.lost_minutes) == (250, 15, 3)
    assert safety.contact_list() == ["medic@example.com", "chief@example.com"]
    data2 = admin_form_data(client.get(url)) | {"safety-0-off_course_m": "0"}
    assert client.post(url, data2).status_code == 200  # at least 1 m
    assert RaceSafety.objects.get(race=race).off_course_m == 250


def test_the_trackers_list_shows_each_ones_status_and_last_fix(
    client, alice, alpha_event, settings
):
    settings.TRACKING_LOST_SIGNAL_SECONDS = 60
    now = timezone.now()
    live, silent, none, revoked = (_registration(alpha_event, b) for b in ("11", "12", "13", "14"))
    for entry in (live, silent, none, revoked):
        Tracker.objects.create(registration=entry)
    Tracker.objects.filter(registration=revoked).update(revoked_at=now)
    race = alpha_event.races.get()
    for entry, ago in ((live, 10), (silent, 600), (silent, 900), (revoked, 5)):
        Position.objects.create(
            race=race, registration=entry, t=now - dt.timedelta(seconds=ago), lat=45.0, lon=6.0,
            received_at=now,
        )  # fmt: skip
    client.login(username="alice", password=PASSWORD)
    listing = client.get("/admin/tracking/tracker/").content.decode()
    assert "Live" in listing and "Silent for 10 min" in listing
    assert "No fix yet" in listing and "Revoked" in listing
    local = timezone.localtime(now - dt.timedelta(seconds=600)).strftime("%Y-%m-%d %H:%M:%S")
    assert local in listing


def test_the_race_admin_links_each_race_to_its_race_control(client, alice, alpha_event):
    client.login(username="alice", password=PASSWORD)
    race = alpha_event.races.get()
    link = f'href="/control/{alpha_event.slug}/{race.slug}/">Race control</a>'
    assert link in client.get("/admin/events/race/").content.decode()
    assert link in client.get(f"/admin/events/race/{race.pk}/change/").content.decode()
