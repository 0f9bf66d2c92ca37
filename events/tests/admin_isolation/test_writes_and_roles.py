"""Organizer isolation in the admin: forged foreign keys and inline rows cannot reach the
other organizer; staff change and owners delete; view on site reveals no other drafts."""

from __future__ import annotations

from typing import Any

import pytest

from events.models import Event, Organizer
from events.tests.admin_isolation.tenants import admin_url
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


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
    response = client.post(admin_url("event", "add"), _event_add_data(other.organizer))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["organizer"]
    assert not Event.objects.filter(slug="forged").exists()
    # The same form for the user's own organizer is accepted.
    assert client.post(admin_url("event", "add"), _event_add_data(own.organizer)).status_code == 302
    assert Event.objects.get(slug="forged").organizer == own.organizer


@pytest.mark.parametrize(("field", "target"), [("event", "event"), ("course", "course")])
def test_it_rejects_moving_a_race_onto_the_other_organizers_objects(seat, field, target):
    client, own, other = seat
    data = admin_form_data(client.get(admin_url("race", "change", own.race.pk)))
    data[field] = other.obj(target).pk
    response = client.post(admin_url("race", "change", own.race.pk), data)
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
    page = client.get(admin_url(model, "change", own.obj(model).pk))
    (inline,) = [i for i in page.context["inline_admin_formsets"] if i.formset.prefix == prefix]
    theirs = getattr(other, child)
    assert theirs.pk not in {form.instance.pk for form in inline.formset.forms}
    siblings = type(theirs).objects.filter(**{theirs.ORGANIZER_PATH: other.organizer})
    before = sorted(siblings.values_list("pk", field))
    data = admin_form_data(page)
    data[f"{prefix}-0-id"] = theirs.pk
    data[f"{prefix}-0-{field}"] = "staff" if field == "role" else "Hijacked"
    client.post(admin_url(model, "change", own.obj(model).pk), data)
    assert sorted(siblings.values_list("pk", field)) == before


# --- Roles: staff change, owners delete ------------------------------------------


@pytest.mark.parametrize("model", ["event", "race", "course"])
def test_it_lets_staff_change_but_not_delete(client, tenants, bob, model):
    client.force_login(bob)
    target = tenants["alpha"].obj(model)
    data = admin_form_data(client.get(admin_url(model, "change", target.pk)))
    data["name"] = "Changed by bob"
    assert client.post(admin_url(model, "change", target.pk), data).status_code == 302
    target.refresh_from_db()
    assert target.name == "Changed by bob"
    assert client.get(admin_url(model, "delete", target.pk)).status_code == 403
    client.post(admin_url(model, "delete", target.pk), {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    client.post(admin_url(model, "changelist"), bulk)
    assert type(target).objects.filter(pk=target.pk).exists()


def test_it_does_not_let_staff_delete_a_race_through_the_event_inline(client, tenants, bob):
    client.force_login(bob)
    event = tenants["alpha"].event
    data = admin_form_data(client.get(admin_url("event", "change", event.pk)))
    data["races-0-DELETE"] = "on"
    client.post(admin_url("event", "change", event.pk), data)
    assert event.races.count() == 1


def test_it_lets_the_owner_delete(client, tenants, alice):
    client.force_login(alice)
    draft = tenants["alpha"].draft
    response = client.post(admin_url("event", "delete", draft.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Event.objects.filter(pk=draft.pk).exists()


def test_it_shows_staff_their_organizer_read_only(client, tenants, bob):
    client.force_login(bob)
    organizer = tenants["alpha"].organizer
    assert client.get(admin_url("organizer", "change", organizer.pk)).status_code == 200
    data = {"name": "Bob's now", "slug": "bobs", "country": "FR", "contact_email": "b@x.org"}
    assert client.post(admin_url("organizer", "change", organizer.pk), data).status_code == 403
    organizer.refresh_from_db()
    assert organizer.name == "Alpha Races"


def test_it_does_not_reveal_the_other_organizers_drafts_through_view_on_site(seat):
    from django.contrib.contenttypes.models import ContentType

    client, _own, other = seat
    content_type = ContentType.objects.get_for_model(Event)
    response = client.get(f"/admin/r/{content_type.pk}/{other.draft.pk}/")
    assert other.draft.slug not in response.get("Location", "")
