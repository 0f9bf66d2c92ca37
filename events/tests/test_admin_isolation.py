"""Organizer isolation in the admin, through every admin URL an organizer can reach.

alice (owner) and bob (staff) work for Alpha, charlie owns Bravo: each must see,
pick and change only their own organizer's objects, even when guessing ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.access import organizer_id_of
from events.models import Course, Event, Membership, Organizer, Race, RaceCategory, SplitPoint
from events.tests.factories import ROLES, make_course, make_event, make_organizer, make_race
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


@dataclass
class Tenant:
    """One organizer's objects, named so that each name says whose it is."""

    organizer: Organizer
    event: Event
    draft: Event
    race: Race
    category: RaceCategory

    @property
    def course(self) -> Any:
        return self.race.course

    @property
    def split(self) -> SplitPoint:
        return self.course.split_points.first()

    @property
    def membership(self) -> Membership:
        return self.organizer.memberships.earliest("pk")

    def obj(self, model: str) -> Organizer | Event | Race | Course:
        return {
            "organizer": self.organizer,
            "event": self.event,
            "race": self.race,
            "course": self.course,
        }[model]


def _tenant(event: Event) -> Tenant:
    race = event.races.get()
    category = RaceCategory.objects.create(
        race=race, code="SEN", name=f"{event.organizer.name} Seniors"
    )
    draft = make_event(event.organizer, f"{event.organizer.name} Draft", status=Event.Status.DRAFT)
    return Tenant(event.organizer, event, draft, race, category)


@pytest.fixture
def tenants(alpha_event: Event, bravo_event: Event, iris: Any, dave: Any) -> dict[str, Tenant]:
    return {"alpha": _tenant(alpha_event), "bravo": _tenant(bravo_event)}


# (user, their organizer, the other organizer)
SEATS = [("alice", "alpha", "bravo"), ("bob", "alpha", "bravo"), ("charlie", "bravo", "alpha")]
MODELS = ["organizer", "event", "race", "course"]


@pytest.fixture(params=SEATS, ids=[seat[0] for seat in SEATS])
def seat(request: Any, tenants: dict[str, Tenant]) -> tuple[Client, Tenant, Tenant]:
    """A logged-in admin client for one persona, with their own and the other tenant."""
    name, own, other = request.param
    client = Client()
    client.force_login(request.getfixturevalue(name))
    return client, tenants[own], tenants[other]


def _label(tenant: Tenant, model: str) -> str:
    """The text a changelist row shows for the tenant's object of ``model``."""
    return str(tenant.race.name if model == "race" else tenant.obj(model).name)


def _url(model: str, view: str, *args: Any) -> str:
    return reverse(f"admin:events_{model}_{view}", args=args)


# --- Who may enter ----------------------------------------------------------


def test_it_sends_an_athlete_without_organizer_to_the_login(client: Client, tenants: Any, dave):
    client.force_login(dave)
    for url in ["/admin/", _url("event", "changelist"), "/admin/autocomplete/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_it_sends_a_logged_in_athlete_to_create_an_organizer(client: Client, dave):
    client.force_login(dave)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1] == (reverse("events:organizer_signup"), 302)
    assert "The back office is for organizers" in response.content.decode()


def test_it_sends_an_anonymous_visitor_to_the_login(client: Client, tenants):
    response = client.get(_url("event", "changelist"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_it_shows_platform_staff_every_organizers_objects(client: Client, tenants, iris, model):
    client.force_login(iris)
    html = client.get(_url(model, "changelist")).content.decode()
    assert _label(tenants["alpha"], model) in html
    assert _label(tenants["bravo"], model) in html


def test_it_lets_platform_staff_change_any_organizers_event(client: Client, tenants, iris):
    client.force_login(iris)
    event = tenants["bravo"].event
    data = admin_form_data(client.get(_url("event", "change", event.pk)))
    data["name"] = "Renamed by staff"
    assert client.post(_url("event", "change", event.pk), data).status_code == 302
    event.refresh_from_db()
    assert event.name == "Renamed by staff"


# --- Lists, change, delete and history pages ---------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_only_the_users_own_objects(seat, model):
    client, own, other = seat
    response = client.get(_url(model, "changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert _label(own, model) in html
    assert _label(other, model) not in html
    assert other.organizer.name not in html


@pytest.mark.parametrize("model", MODELS)
def test_it_finds_nothing_when_searching_for_the_other_organizers_objects(seat, model):
    client, _own, other = seat
    response = client.get(_url(model, "changelist"), {"q": _label(other, model)})
    assert response.context["cl"].result_count == 0
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_it_hides_the_other_organizers_objects_by_guessed_id(seat, model, view):
    client, _own, other = seat
    response = client.get(_url(model, view, other.obj(model).pk), follow=True)
    html = response.content.decode()
    # "Doesn't exist" (back to the index), or 403 where the user may not delete at all.
    assert response.redirect_chain[:1] == [(reverse("admin:index"), 302)] or (
        view == "delete" and response.status_code == 403
    )
    assert _label(other, model) not in html
    assert other.organizer.name not in html


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("view", ["change", "history"])
def test_it_shows_the_users_own_objects(seat, model, view):
    client, own, _other = seat
    response = client.get(_url(model, view, own.obj(model).pk))
    assert response.status_code == 200
    assert _label(own, model) in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_it_does_not_change_the_other_organizers_objects_by_post(seat, model):
    client, own, other = seat
    target = other.obj(model)
    data = admin_form_data(client.get(_url(model, "change", own.obj(model).pk)))
    data["name"] = "Hijacked"
    response = client.post(_url(model, "change", target.pk), data)
    assert response.status_code in (302, 403)
    assert response.get("Location", reverse("admin:index")) == reverse("admin:index")
    target.refresh_from_db()
    assert target.name == _label(other, model)


@pytest.mark.parametrize("model", MODELS)
def test_it_does_not_delete_the_other_organizers_objects_by_post(seat, model):
    client, _own, other = seat
    target = other.obj(model)
    client.post(_url(model, "delete", target.pk), {"post": "yes"})
    assert type(target).objects.filter(pk=target.pk).exists()


# --- Bulk actions -------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_ignores_the_other_organizers_ids_in_bulk_delete(seat, model):
    client, _own, other = seat
    target = other.obj(model)
    data = {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    client.post(_url(model, "changelist"), data)
    assert type(target).objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize(
    ("action", "pick", "status"),
    [
        ("publish", "draft", Event.Status.PUBLISHED),
        ("cancel", "event", Event.Status.CANCELLED),
        ("unpublish", "event", Event.Status.DRAFT),
    ],
)
def test_it_applies_event_actions_to_the_users_own_events_only(seat, action, pick, status):
    client, own, other = seat
    mine, theirs = getattr(own, pick), getattr(other, pick)
    before = theirs.status
    data = {"action": action, "_selected_action": [mine.pk, theirs.pk]}
    assert client.post(_url("event", "changelist"), data).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == status
    assert theirs.status == before


def test_it_applies_an_action_across_all_pages_to_the_users_own_events_only(seat):
    client, own, other = seat
    data = {"action": "publish", "select_across": "1", "_selected_action": [other.draft.pk]}
    client.post(_url("event", "changelist"), data)
    own.draft.refresh_from_db()
    other.draft.refresh_from_db()
    assert own.draft.status == Event.Status.PUBLISHED
    assert other.draft.status == Event.Status.DRAFT


# --- Autocomplete, foreign-key choices and filters -----------------------------


@pytest.mark.parametrize(
    ("model_name", "field_name", "target"),
    [("race", "course", "course"), ("race", "event", "event"), ("event", "organizer", "organizer")],
)
def test_it_autocompletes_only_the_users_own_objects(seat, model_name, field_name, target):
    client, own, other = seat
    query = {"app_label": "events", "model_name": model_name, "field_name": field_name}
    response = client.get("/admin/autocomplete/", {**query, "term": ""})
    ids = {int(row["id"]) for row in response.json()["results"]}
    assert own.obj(target).pk in ids
    assert other.obj(target).pk not in ids
    searched = client.get("/admin/autocomplete/", {**query, "term": _label(other, target)})
    assert searched.json()["results"] == []


@pytest.mark.parametrize(
    ("model", "fields"),
    [("event", ["organizer"]), ("race", ["event", "course"]), ("course", ["organizer"])],
)
def test_it_offers_only_the_users_own_objects_on_add_forms(seat, model, fields):
    client, own, other = seat
    response = client.get(_url(model, "add"))
    html = response.content.decode()
    for name in fields:
        choices = set(response.context["adminform"].form.fields[name].queryset)
        assert own.obj(name) in choices
        assert other.obj(name) not in choices
    assert other.organizer.name not in html
    assert other.course.name not in html  # the race inline's empty row lists courses


@pytest.mark.parametrize(
    ("model", "lookup", "target"),
    [
        ("event", "organizer__id__exact", "organizer"),
        ("course", "organizer__id__exact", "organizer"),
        ("race", "event__id__exact", "event"),
    ],
)
def test_it_lists_nothing_of_the_other_organizer_when_filtering_by_it(seat, model, lookup, target):
    client, own, other = seat
    response = client.get(_url(model, "changelist"), {lookup: other.obj(target).pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert {organizer_id_of(obj) for obj in response.context["cl"].result_list} <= {
        own.organizer.pk
    }
    assert other.organizer.name not in html
    assert _label(other, target) not in html


@pytest.mark.parametrize("model", ["event", "course", "race"])
def test_it_names_only_the_users_own_objects_in_the_filter_sidebar(client, tenants, alice, model):
    # With a second organizer alice's sidebar offers choices; none may be Bravo's.
    gamma = make_organizer("Gamma", members={alice: ROLES.OWNER})
    make_race(make_event(gamma, "Gamma Run"), course=make_course(gamma))
    client.force_login(alice)
    html = client.get(_url(model, "changelist")).content.decode()
    assert 'id="changelist-filter"' in html
    assert ("Alpha Marathon" if model == "race" else "Alpha Races") in html
    assert "Bravo" not in html
    assert "Switzerland" not in html  # Bravo's event is in Zermatt


# --- Creating and changing with forged foreign keys ----------------------------


def _event_add_data(organizer: Organizer) -> dict[str, Any]:
    return {
        "organizer": organizer.pk, "name": "Forged", "slug": "forged", "sport": "running",
        "status": "draft", "start_date": "2030-05-01", "end_date": "2030-05-01",
        "timezone": "UTC", "place": "Lyon", "country": "FR", "latitude": "45.7",
        "longitude": "4.8", "currency": "EUR", "payment_method": "on_site",
        "registration_open": "on",
        "races-TOTAL_FORMS": "0", "races-INITIAL_FORMS": "0",
        "races-MIN_NUM_FORMS": "0", "races-MAX_NUM_FORMS": "1000",
    }  # fmt: skip


def test_it_rejects_an_event_for_the_other_organizer(seat):
    client, own, other = seat
    response = client.post(_url("event", "add"), _event_add_data(other.organizer))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["organizer"]
    assert not Event.objects.filter(slug="forged").exists()
    # The same form for the user's own organizer is accepted.
    assert client.post(_url("event", "add"), _event_add_data(own.organizer)).status_code == 302
    assert Event.objects.get(slug="forged").organizer == own.organizer


@pytest.mark.parametrize(("field", "target"), [("event", "event"), ("course", "course")])
def test_it_rejects_moving_a_race_onto_the_other_organizers_objects(seat, field, target):
    client, own, other = seat
    data = admin_form_data(client.get(_url("race", "change", own.race.pk)))
    data[field] = other.obj(target).pk
    response = client.post(_url("race", "change", own.race.pk), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    own.race.refresh_from_db()
    assert getattr(own.race, f"{field}_id") == own.obj(target).pk


# --- Inlines ---------------------------------------------------------------------

INLINES = [
    # (parent admin, inline formset prefix, child of the tenant, field to overwrite)
    ("organizer", "memberships", "membership", "role"),
    ("event", "races", "race", "name"),
    ("race", "categories", "category", "name"),
    ("course", "split_points", "split", "name"),
]


@pytest.mark.parametrize(("model", "prefix", "child", "field"), INLINES)
def test_it_does_not_change_the_other_organizers_rows_through_an_inline(
    client, tenants, alice, model, prefix, child, field
):
    own, other = tenants["alpha"], tenants["bravo"]
    client.force_login(alice)
    page = client.get(_url(model, "change", own.obj(model).pk))
    (inline,) = [i for i in page.context["inline_admin_formsets"] if i.formset.prefix == prefix]
    theirs = getattr(other, child)
    assert theirs.pk not in {form.instance.pk for form in inline.formset.forms}
    siblings = type(theirs).objects.filter(**{theirs.ORGANIZER_PATH: other.organizer})
    before = sorted(siblings.values_list("pk", field))
    data = admin_form_data(page)
    data[f"{prefix}-0-id"] = theirs.pk
    data[f"{prefix}-0-{field}"] = "staff" if field == "role" else "Hijacked"
    client.post(_url(model, "change", own.obj(model).pk), data)
    assert sorted(siblings.values_list("pk", field)) == before


# --- Roles: staff change, owners delete ------------------------------------------


@pytest.mark.parametrize("model", ["event", "race", "course"])
def test_it_lets_staff_change_but_not_delete(client, tenants, bob, model):
    client.force_login(bob)
    target = tenants["alpha"].obj(model)
    data = admin_form_data(client.get(_url(model, "change", target.pk)))
    data["name"] = "Changed by bob"
    assert client.post(_url(model, "change", target.pk), data).status_code == 302
    target.refresh_from_db()
    assert target.name == "Changed by bob"
    assert client.get(_url(model, "delete", target.pk)).status_code == 403
    client.post(_url(model, "delete", target.pk), {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    client.post(_url(model, "changelist"), bulk)
    assert type(target).objects.filter(pk=target.pk).exists()


def test_it_does_not_let_staff_delete_a_race_through_the_event_inline(client, tenants, bob):
    client.force_login(bob)
    event = tenants["alpha"].event
    data = admin_form_data(client.get(_url("event", "change", event.pk)))
    data["races-0-DELETE"] = "on"
    client.post(_url("event", "change", event.pk), data)
    assert event.races.count() == 1


def test_it_lets_the_owner_delete(client, tenants, alice):
    client.force_login(alice)
    draft = tenants["alpha"].draft
    response = client.post(_url("event", "delete", draft.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Event.objects.filter(pk=draft.pk).exists()


def test_it_shows_staff_their_organizer_read_only(client, tenants, bob):
    client.force_login(bob)
    organizer = tenants["alpha"].organizer
    assert client.get(_url("organizer", "change", organizer.pk)).status_code == 200
    data = {"name": "Bob's now", "slug": "bobs", "country": "FR", "contact_email": "b@x.org"}
    assert client.post(_url("organizer", "change", organizer.pk), data).status_code == 403
    organizer.refresh_from_db()
    assert organizer.name == "Alpha Races"


def test_it_does_not_reveal_the_other_organizers_drafts_through_view_on_site(seat):
    from django.contrib.contenttypes.models import ContentType

    client, _own, other = seat
    content_type = ContentType.objects.get_for_model(Event)
    response = client.get(f"/admin/r/{content_type.pk}/{other.draft.pk}/")
    assert other.draft.slug not in response.get("Location", "")
