"""Organizer isolation in the admin: who may enter, and the list, change, delete and
history pages, where each persona sees and changes only their own organizer's objects, even
by guessed id (the personas and tenants: ``tenants.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.tests.admin_isolation.tenants import MODELS, admin_url, row_label
from pace.lib.testing import admin_form_data

pytestmark = pytest.mark.django_db


# --- Who may enter ----------------------------------------------------------


def test_it_sends_an_athlete_without_organizer_to_the_login(client: Client, tenants: Any, dave):
    client.force_login(dave)
    for url in ["/admin/", admin_url("event", "changelist"), "/admin/autocomplete/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_it_sends_a_logged_in_athlete_to_create_an_organizer(client: Client, dave):
    client.force_login(dave)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1] == (reverse("events:organizer_signup"), 302)
    assert "The back office is for organizers" in response.content.decode()


def test_it_sends_an_anonymous_visitor_to_the_login(client: Client, tenants):
    response = client.get(admin_url("event", "changelist"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_it_shows_platform_staff_every_organizers_objects(client: Client, tenants, iris, model):
    client.force_login(iris)
    html = client.get(admin_url(model, "changelist")).content.decode()
    assert row_label(tenants["alpha"], model) in html
    assert row_label(tenants["bravo"], model) in html


def test_it_lets_platform_staff_change_any_organizers_event(client: Client, tenants, iris):
    client.force_login(iris)
    event = tenants["bravo"].event
    data = admin_form_data(client.get(admin_url("event", "change", event.pk)))
    data["name"] = "Renamed by staff"
    assert client.post(admin_url("event", "change", event.pk), data).status_code == 302
    event.refresh_from_db()
    assert event.name == "Renamed by staff"


# --- Lists, change, delete and history pages ---------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_lists_only_the_users_own_objects(seat, model):
    client, own, other = seat
    response = client.get(admin_url(model, "changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert row_label(own, model) in html
    assert row_label(other, model) not in html
    assert other.organizer.name not in html


@pytest.mark.parametrize("model", MODELS)
def test_it_finds_nothing_when_searching_for_the_other_organizers_objects(seat, model):
    client, _own, other = seat
    response = client.get(admin_url(model, "changelist"), {"q": row_label(other, model)})
    assert response.context["cl"].result_count == 0
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_it_hides_the_other_organizers_objects_by_guessed_id(seat, model, view):
    client, _own, other = seat
    response = client.get(admin_url(model, view, other.obj(model).pk), follow=True)
    html = response.content.decode()
    # "Doesn't exist" (back to the index), or 403 where the user may not delete at all.
    assert response.redirect_chain[:1] == [(reverse("admin:index"), 302)] or (
        view == "delete" and response.status_code == 403
    )
    assert row_label(other, model) not in html
    assert other.organizer.name not in html


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("view", ["change", "history"])
def test_it_shows_the_users_own_objects(seat, model, view):
    client, own, _other = seat
    response = client.get(admin_url(model, view, own.obj(model).pk))
    assert response.status_code == 200
    assert row_label(own, model) in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_it_does_not_change_the_other_organizers_objects_by_post(seat, model):
    client, own, other = seat
    target = other.obj(model)
    data = admin_form_data(client.get(admin_url(model, "change", own.obj(model).pk)))
    data["name"] = "Hijacked"
    response = client.post(admin_url(model, "change", target.pk), data)
    assert response.status_code in (302, 403)
    assert response.get("Location", reverse("admin:index")) == reverse("admin:index")
    target.refresh_from_db()
    assert target.name == row_label(other, model)


@pytest.mark.parametrize("model", MODELS)
def test_it_does_not_delete_the_other_organizers_objects_by_post(seat, model):
    client, _own, other = seat
    target = other.obj(model)
    client.post(admin_url(model, "delete", target.pk), {"post": "yes"})
    assert type(target).objects.filter(pk=target.pk).exists()
