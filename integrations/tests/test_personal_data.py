"""An athlete's export (ZIP: JSON plus a GPX per activity) and account deletion."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import gpxpy
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from events.models import Registration
from events.tests.factories import ROLES, make_organizer
from integrations.models import Activity, Connection, Play
from integrations.tests.activity_files import START, gpx_bytes, run_samples
from integrations.uploads import upload_activity
from pace.lib.testing import PASSWORD
from payments.models import Payment
from tracking.models import Position, Post

pytestmark = pytest.mark.django_db


def _entry(user: Any, race: Any, **extra: Any) -> Registration:
    return Registration.objects.create(
        race=race, event=race.event, user=user, status="confirmed", email=user.email,
        first_name="Dave", last_name="Runner", birth_date=dt.date(1990, 6, 15), sex="M",
        nationality="DE", club="Tiergarten RC", emergency_name="Mum",
        emergency_phone="+49 30 1234", price=25, currency="EUR", payment_method="free",
        waiver_accepted_at=timezone.now(), manage_token=f"token-{user.pk}-{race.pk}",
        answers={"q1": "vegan"}, bib="101", **extra,
    )  # fmt: skip


@pytest.fixture
def daves_data(dave: Any, alpha_event: Any) -> dict[str, Any]:
    race = alpha_event.races.get()
    entry = _entry(dave, race)
    Payment.objects.create(
        registration=entry, method="free", status="paid", amount=0, currency="EUR"
    )
    now = timezone.now()
    Position.objects.create(
        race=race, registration=entry, t=now, lat=52.5, lon=13.4, received_at=now
    )
    Post.objects.create(race=race, registration=entry, text="Halfway, feeling good")
    activity = upload_activity(user=dave, raw=gpx_bytes(run_samples())).activity
    Play.objects.create(
        user=dave, source="lastfm", track="Run Boy Run", artist="Woodkid", played_at=START,
        started_at=START,
    )  # fmt: skip
    Connection.objects.create(user=dave, provider="lastfm", external_id="dave_runs")
    return {"entry": entry, "activity": activity, "race": race}


def test_it_exports_everything_pace_holds_about_the_athlete(client, dave, daves_data) -> None:
    client.force_login(dave)
    response = client.get(reverse("integrations:my_data_export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="pace-my-data.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("pace-data.json"))
    assert data["account"]["email"] == dave.email
    [entry] = data["entries"]["entries"]
    assert entry["first_name"] == "Dave" and entry["emergency_name"] == "Mum"
    assert entry["payments"][0]["status"] == "paid"
    assert data["live_tracking"]["live_posts"][0]["text"] == "Halfway, feeling good"
    positions = data["live_tracking"]["live_positions"]["by_entry"][str(daves_data["entry"].pk)]
    assert positions[0][1:3] == [52.5, 13.4]
    integrations = data["integrations"]
    assert integrations["plays"][0]["track"] == "Run Boy Run"
    assert integrations["connections"][0]["external_id"] == "dave_runs"
    assert "access_token_sealed" not in json.dumps(integrations)
    [activity] = integrations["activities"]
    [json_name] = [n for n in archive.namelist() if n.endswith(".json") and "activities/" in n]
    assert json_name.endswith(f"-{activity['id']}.json")
    assert len(json.loads(archive.read(json_name))["stream"]["time"]) == 121
    [gpx_name] = [n for n in archive.namelist() if n.endswith(".gpx")]
    gpx = gpxpy.parse(archive.read(gpx_name).decode())
    assert len(gpx.tracks[0].segments[0].points) == 121
    assert gpx.tracks[0].segments[0].points[0].time == START


def test_it_exports_nothing_of_another_athlete(client, charlie, daves_data) -> None:
    client.force_login(charlie)
    response = client.get(reverse("integrations:my_data_export"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("pace-data.json"))
    assert data["entries"]["entries"] == [] and data["integrations"]["activities"] == []
    assert [n for n in archive.namelist() if n.endswith(".gpx")] == []


def test_it_deletes_the_account_only_with_its_password(client, dave, daves_data) -> None:
    client.force_login(dave)
    wrong = client.post(reverse("integrations:my_data"), {"password": "guess"})
    assert wrong.status_code == 400 and b"That is not your password." in wrong.content
    assert get_user_model().objects.filter(pk=dave.pk).exists()
    done = client.post(reverse("integrations:my_data"), {"password": PASSWORD})
    assert done.status_code == 302
    assert not get_user_model().objects.filter(pk=dave.pk).exists()
    assert not Activity.objects.exists() and not Play.objects.exists()
    assert not Connection.objects.exists()
    entry = Registration.objects.get(pk=daves_data["entry"].pk)
    assert entry.user is None and (entry.first_name, entry.last_name) == ("Deleted", "athlete")
    assert entry.email.endswith("@invalid.invalid") and entry.birth_date == dt.date(1990, 1, 1)
    assert (entry.club, entry.emergency_name, entry.emergency_phone) == ("", "", "")
    assert entry.answers == {} and entry.manage_token != "token"
    assert (entry.bib, entry.status, entry.sex, str(entry.price)) == (
        "101",
        "confirmed",
        "M",
        "25.00",
    )
    assert Payment.objects.filter(registration=entry).count() == 1  # kept for the accounts
    assert not Position.objects.exists() and not Post.objects.exists()
    assert client.get(reverse("integrations:activities")).status_code == 302  # logged out


def test_it_keeps_an_organizer_from_losing_its_only_owner(client, dave) -> None:
    make_organizer("Dave Events", members={dave: ROLES.OWNER})
    client.force_login(dave)
    page = client.get(reverse("integrations:my_data"))
    assert b"You are the only owner of Dave Events" in page.content
    refused = client.post(reverse("integrations:my_data"), {"password": PASSWORD})
    assert refused.status_code == 400
    assert get_user_model().objects.filter(pk=dave.pk).exists()
