"""Django's own object pages (show, change, delete, add) and moving an object to another
organizer, only where the person holds the role."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from events.access import organizer_id_of
from events.models import DiscountCode, Race
from pace.lib.testing import admin_form_data
from pace.tests.admin_roles.roles import (
    CASE_IDS,
    CASES,
    DELETE_ROLES,
    EDIT,
    MANAGE,
    MODELS,
    MOVABLE,
    PERSONAS,
    VIEW_ROLES,
    client_as,
    may,
    objects_of,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("label", MODELS)
def test_it_shows_and_deletes_an_object_only_where_the_person_holds_the_role(
    world, person, tenant, label
):
    obj = objects_of(apps.get_model(label), world["organizers"][tenant]).first()
    assert organizer_id_of(obj) == world["organizers"][tenant].pk
    base = f"admin:{label.replace('.', '_')}"
    client = client_as(world, person)
    shown = client.get(reverse(f"{base}_change", args=[obj.pk]))
    if may(person, tenant, VIEW_ROLES.get(label, EDIT)):
        assert shown.status_code == 200
    elif shown.status_code != 403:
        assert (shown.status_code, shown["Location"]) == (302, reverse("admin:index"))
    before = state()
    deleted = client.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"})
    if not may(person, tenant, DELETE_ROLES.get(label, MANAGE)):
        assert deleted.status_code in (302, 403)
        assert state() == before


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("label", MODELS)
def test_it_changes_an_object_only_where_the_person_holds_the_role(world, person, tenant, label):
    model_admin = admin.site._registry[apps.get_model(label)]
    obj = objects_of(apps.get_model(label), world["organizers"][tenant]).first()
    before = state()
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    response = client_as(world, person).post(url, {"name": "Hijacked", "hidden": "on", "bib": "9"})
    if not may(person, tenant, getattr(model_admin, "change_roles", EDIT)):
        assert response.status_code in (302, 403)
        assert state() == before


# --- Moving an object to another organizer ------------------------------------------------


@pytest.mark.parametrize(("label", "field"), MOVABLE, ids=[m for m, _ in MOVABLE])
def test_it_lets_only_managers_move_an_object_to_another_organizer(world, label, field):
    """bob, staff at Alpha, may change Alpha's objects but not move them to Bob Org."""
    model = apps.get_model(label)
    mine, bobs = world["organizers"]["alpha"], world["organizers"]["bob"]
    obj = objects_of(model, mine).first()
    related = model._meta.get_field(field).related_model
    target = (
        objects_of(related, bobs).first()
        or objects_of(related, world["organizers"]["bravo"]).first()
    )
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    client = client_as(world, "bob")
    data = {**admin_form_data(client.get(url)), field: target.pk}
    response = client.post(url, data)
    assert response.status_code in (200, 403)  # the form again with its error; read-only
    assert organizer_id_of(model._default_manager.get(pk=obj.pk)) == mine.pk


@pytest.mark.parametrize("label", ["events.event", "events.race", "events.discountcode"])
def test_it_lets_a_manager_move_an_object_where_they_may_add(world, label):
    """erin, admin at Bravo and staff at Alpha, may give Bravo's objects to Alpha."""
    model = apps.get_model(label)
    field = dict(MOVABLE)[label]
    obj = objects_of(model, world["organizers"]["bravo"]).first()
    target = objects_of(model._meta.get_field(field).related_model, world["organizers"]["alpha"])
    url = reverse(f"admin:{label.replace('.', '_')}_change", args=[obj.pk])
    client = client_as(world, "erin")
    data = {**admin_form_data(client.get(url)), field: target.first().pk}
    # Bravo's courses cannot come along to Alpha's races (next test): cleared.
    data.update({key: "" for key in data if key == "course" or key.endswith("-course")})
    assert client.post(url, data).status_code == 302
    assert organizer_id_of(model._default_manager.get(pk=obj.pk)) == world["organizers"]["alpha"].pk


def test_it_never_gives_one_organizers_race_anothers_course(world):
    """erin sees Alpha's and Bravo's courses; a race of one never draws the other's."""
    client = client_as(world, "erin")
    race = objects_of(Race, world["organizers"]["bravo"]).first()
    alphas = objects_of(apps.get_model("events.course"), world["organizers"]["alpha"]).first()
    url = reverse("admin:events_race_change", args=[race.pk])
    response = client.post(url, {**admin_form_data(client.get(url)), "course": alphas.pk})
    assert response.status_code == 200
    assert "Choose a course of this event&#x27;s organizer." in response.content.decode()
    race.refresh_from_db()
    assert race.course_id != alphas.pk


def test_it_never_gives_a_discount_code_another_events_race(world):
    client = client_as(world, "erin")
    code = objects_of(DiscountCode, world["organizers"]["bravo"]).first()
    other = (
        Race.objects.exclude(event=code.event)
        .filter(event__organizer=world["organizers"]["bravo"])
        .first()
        or objects_of(Race, world["organizers"]["alpha"]).first()
    )
    url = reverse("admin:events_discountcode_change", args=[code.pk])
    response = client.post(url, {**admin_form_data(client.get(url)), "race": other.pk})
    assert response.status_code == 200
    code.refresh_from_db()
    assert code.race_id != other.pk


# --- Forms offer only organizers where the person may save ----------------------------------


@pytest.mark.parametrize("person", PERSONAS)
def test_it_offers_on_add_forms_only_organizers_where_the_person_may_add(world, person):
    response = client_as(world, person).get(reverse("admin:events_event_add"))
    choices = set(response.context["adminform"].form.fields["organizer"].queryset)
    names = {name for name, role in PERSONAS[person].items() if role in EDIT}
    assert choices == {world["organizers"][name] for name in names}
