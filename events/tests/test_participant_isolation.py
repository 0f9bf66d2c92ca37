"""Organizer isolation of participant management: every new admin, view, action and export.

alice (owner) and bob (staff) work for Alpha, charlie owns Bravo. Each sees, exports,
e-mails and changes only their own organizer's entries, even by posting guessed ids.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.dashboard import event_dashboards
from events.exports import participants_table, start_list
from events.mass_email import participants_email
from events.models import DiscountCode, Event, Race, Registration, Team, WaitlistEntry
from events.tests.participants import enter
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:events_registration_changelist"


@dataclass
class Tenant:
    """One organizer's entries and what surrounds them, named after their organizer."""

    event: Event
    race: Race
    entry: Registration
    team: Team
    waiting: WaitlistEntry
    code: DiscountCode

    @property
    def label(self) -> str:
        return self.event.organizer.name.split()[0]

    def obj(self, model: str) -> Any:
        return {
            "registration": self.entry,
            "team": self.team,
            "waitlistentry": self.waiting,
            "discountcode": self.code,
        }[model]

    def text(self, model: str) -> str:
        """What a changelist row shows for the tenant's object of ``model``."""
        return {
            "registration": self.entry.name,
            "team": self.team.name,
            "waitlistentry": self.waiting.email,
            "discountcode": self.code.code,
        }[model]


def _tenant(event: Event) -> Tenant:
    race = event.races.get()
    name = event.organizer.name.split()[0]
    Race.objects.filter(pk=race.pk).update(bib_from=1, bib_to=50)
    race.refresh_from_db()
    entry = enter(race, f"{name}athlete", f"{name}son", club=f"{name} club")
    mate = enter(race, f"{name}mate", f"{name}son")
    team = Team.objects.create(race=race, name=f"{name} Team")
    Registration.objects.filter(pk=mate.pk).update(team=team)
    waiting = WaitlistEntry.objects.create(race=race, name=name, email=f"{name.lower()}@wait.org")
    code = DiscountCode.objects.create(event=event, code=f"{name.upper()}10", amount=10)
    return Tenant(event, race, entry, team, waiting, code)


@pytest.fixture
def tenants(alpha_event: Event, bravo_event: Event, iris: Any, dave: Any) -> dict[str, Tenant]:
    return {"alpha": _tenant(alpha_event), "bravo": _tenant(bravo_event)}


SEATS = [("alice", "alpha", "bravo"), ("bob", "alpha", "bravo"), ("charlie", "bravo", "alpha")]
MODELS = ["registration", "team", "waitlistentry", "discountcode"]


@pytest.fixture(params=SEATS, ids=[seat[0] for seat in SEATS])
def seat(request: Any, tenants: dict[str, Tenant]) -> tuple[Client, Any, Tenant, Tenant]:
    """A logged-in admin client for one persona, the persona, their tenant and the other."""
    name, own, other = request.param
    user = request.getfixturevalue(name)
    client = Client()
    client.force_login(user)
    return client, user, tenants[own], tenants[other]


def _url(model: str, view: str, *args: Any) -> str:
    return reverse(f"admin:events_{model}_{view}", args=args)


def _act(client: Client, action: str, ids: list[int], model: str = "registration", **extra: Any):
    data = {"action": action, "index": "0", "_selected_action": ids, **extra}
    return client.post(_url(model, "changelist"), data)


# --- Lists, pages and filters ------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_only_the_users_own_objects(seat, model):
    client, _user, own, other = seat
    html = client.get(_url(model, "changelist")).content.decode()
    assert own.text(model) in html
    assert other.text(model) not in html


@pytest.mark.parametrize("model", MODELS)
def test_it_hides_the_other_organizers_pages_by_guessed_id(seat, model):
    client, _user, own, other = seat
    assert client.get(_url(model, "change", own.obj(model).pk)).status_code == 200
    response = client.get(_url(model, "change", other.obj(model).pk))
    assert response.status_code == 302  # "doesn't exist. Perhaps it was deleted?"
    assert other.text(model) not in client.get(response["Location"]).content.decode()


def test_it_offers_only_the_users_events_races_and_categories_as_filters(seat):
    client, _user, _own, other = seat
    response = client.get(_url("registration", "changelist"))
    sidebar = response.content.decode().split('id="changelist-filter"')[1]
    assert other.event.name not in sidebar
    assert other.race.name not in sidebar


def test_it_does_not_change_the_other_organizers_entry_by_posting_to_it(seat):
    client, _user, _own, other = seat
    url = _url("registration", "change", other.entry.pk)
    client.post(url, {"bib": "99", "first_name": "Hacked"})
    other.entry.refresh_from_db()
    assert (other.entry.bib, other.entry.first_name) == ("", f"{other.label}athlete")


# --- Start list, e-mail and dashboard views ------------------------------------------------


def test_it_refuses_the_other_organizers_start_list_and_csv(seat):
    client, _user, own, other = seat
    assert client.get(_url("registration", "start_list", own.race.pk)).status_code == 200
    url = _url("registration", "start_list", other.race.pk)
    assert client.get(url).status_code == 404
    assert client.get(url, {"format": "csv"}).status_code == 404


def test_it_refuses_to_email_the_other_organizers_race(seat, django_capture_on_commit_callbacks):
    client, user, own, other = seat
    # Writing to a race's participants is for owners and admins: bob, staff, may not.
    own_status = 403 if user.username == "bob" else 200
    assert client.get(_url("registration", "email", own.race.pk)).status_code == own_status
    url = _url("registration", "email", other.race.pk)
    assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"subject": "Hi", "body": "Hi", "send": "1"})
    assert response.status_code == 404
    assert mail.outbox == [] and not LogEntry.objects.exists()


def test_it_shows_only_the_users_events_on_the_dashboard(seat):
    client, user, own, other = seat
    html = client.get(_url("registration", "dashboard")).content.decode()
    assert own.event.name in html and other.event.name not in html
    assert [board.event for board in event_dashboards(user=user)] == [own.event]


def test_it_shows_platform_staff_every_organizers_participants(client, tenants, iris):
    client.force_login(iris)
    html = client.get(_url("registration", "changelist")).content.decode()
    assert tenants["alpha"].entry.name in html and tenants["bravo"].entry.name in html
    events = {board.event for board in event_dashboards(user=iris)}
    assert events == {tenants["alpha"].event, tenants["bravo"].event}
    bravo_race = tenants["bravo"].race
    assert client.get(_url("registration", "start_list", bravo_race.pk)).status_code == 200


@pytest.mark.parametrize("view", ["dashboard", "start_list", "email"])
def test_it_sends_athletes_to_the_login(client, tenants, dave, view):
    client.force_login(dave)
    args = [] if view == "dashboard" else [tenants["alpha"].race.pk]
    response = client.get(_url("registration", view, *args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Actions and exports, by posted ids ---------------------------------------------------------


def test_it_exports_none_of_the_other_organizers_entries_by_posted_ids(seat):
    client, _user, own, other = seat
    for action in ["export_csv", "export_xlsx"]:
        response = _act(client, action, [other.entry.pk])
        assert response.status_code == 302  # back to the list: nothing to export
    response = _act(client, "export_csv", [own.entry.pk, other.entry.pk])
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["Last name"] for row in rows] == [own.entry.last_name]


def test_it_exports_and_lists_only_the_users_entries_whatever_it_is_given(seat):
    _client, user, own, other = seat
    table = participants_table(user=user, registrations=Registration.objects.all())
    names = {row[table.header.index("Club")] for row in table.rows}
    assert names == {f"{own.label} club", ""}
    assert start_list(user=user, race=other.race) == []


def test_it_does_not_check_in_number_or_cancel_the_other_organizers_entries(seat):
    client, _user, _own, other = seat
    Registration.objects.filter(race=other.race).update(bib="")
    _act(client, "check_in", [other.entry.pk])
    _act(client, "assign_bibs", [other.entry.pk])
    _act(client, "cancel_entries", [other.entry.pk], confirm="yes")
    other.entry.refresh_from_db()
    assert other.entry.checked_in_at is None
    assert other.entry.bib == ""
    assert other.entry.status == Registration.Status.CONFIRMED
    assert not other.entry.changes.exists()


def test_it_does_not_email_the_other_organizers_entries_by_posted_ids(
    seat, django_capture_on_commit_callbacks
):
    client, user, _own, other = seat
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(client, "email_selected", [other.entry.pk], subject="s", body="b", send="1")
        sent = participants_email(
            user=user, registrations=Registration.objects.filter(pk=other.entry.pk),
            subject="s", body="b",
        )  # fmt: skip
    assert response.status_code == 302  # back to the list, saying nothing was done
    assert sent == 0 and mail.outbox == []


def test_it_does_not_offer_the_other_organizers_waitlist_places(seat):
    client, _user, _own, other = seat
    Race.objects.filter(pk=other.race.pk).update(capacity=100)
    _act(client, "offer_places", [other.waiting.pk], model="waitlistentry")
    other.waiting.refresh_from_db()
    assert other.waiting.status == WaitlistEntry.Status.WAITING


# --- Choices on forms ------------------------------------------------------------------------


def test_it_keeps_discount_codes_to_the_users_events_and_races(seat):
    client, _user, _own, other = seat
    data = {"event": other.event.pk, "race": other.race.pk, "code": "STEAL", "kind": "percent",
            "amount": "100", "active": "on"}  # fmt: skip
    response = client.post(_url("discountcode", "add"), data)
    errors = response.context["adminform"].form.errors
    assert "Select a valid choice" in str(errors["event"]) and "race" in errors
    assert not DiscountCode.objects.filter(code="STEAL").exists()


def test_it_lets_an_entry_take_only_its_races_categories(seat):
    from events.models import RaceCategory

    client, _user, own, other = seat
    RaceCategory.objects.create(race=own.race, code="OWN", name="Own category")
    RaceCategory.objects.create(race=other.race, code="OTHER", name="Other category")
    response = client.get(_url("registration", "change", own.entry.pk))
    choices = [str(c) for c in response.context["adminform"].form.fields["category"].queryset]
    assert choices == ["Own category"]


def test_it_never_shows_a_bib_clash_with_another_organizers_entry(seat):
    """Bibs are unique per event: the same number at another organizer is no clash."""
    client, _user, own, other = seat
    Registration.objects.filter(pk=other.entry.pk).update(bib="7")
    url = _url("registration", "change", own.entry.pk)
    assert client.post(url, {**admin_form_data(client.get(url)), "bib": "7"}).status_code == 302
    own.entry.refresh_from_db()
    assert own.entry.bib == "7"


def test_it_keeps_the_entry_history_of_each_organizer_apart(seat):
    client, user, own, other = seat
    _act(client, "check_in", [own.entry.pk])
    own.entry.refresh_from_db()
    assert own.entry.checked_in_at <= timezone.now()
    assert own.entry.changes.get().actor == user
    assert not other.entry.changes.exists()
    page = client.get(_url("registration", "change", own.entry.pk))
    assert page.context["inline_admin_formsets"][0].formset.queryset.count() == 1
