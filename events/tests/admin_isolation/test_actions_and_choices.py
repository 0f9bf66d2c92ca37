"""Organizer isolation in the admin: bulk actions, autocomplete, foreign-key choices and
filters touch and offer only the user's own organizer's objects."""

from __future__ import annotations

import pytest

from events.access import organizer_id_of
from events.models import Event
from events.tests.admin_isolation.tenants import MODELS, admin_url, row_label
from events.tests.factories import ROLES, make_course, make_event, make_organizer, make_race

pytestmark = pytest.mark.django_db


# --- Bulk actions -------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_ignores_the_other_organizers_ids_in_bulk_delete(seat, model):
    client, _own, other = seat
    target = other.obj(model)
    data = {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}
    client.post(admin_url(model, "changelist"), data)
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
    assert client.post(admin_url("event", "changelist"), data).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == status
    assert theirs.status == before


def test_it_applies_an_action_across_all_pages_to_the_users_own_events_only(seat):
    client, own, other = seat
    data = {"action": "publish", "select_across": "1", "_selected_action": [other.draft.pk]}
    client.post(admin_url("event", "changelist"), data)
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
    searched = client.get("/admin/autocomplete/", {**query, "term": row_label(other, target)})
    assert searched.json()["results"] == []


@pytest.mark.parametrize(
    ("model", "fields"),
    [("event", ["organizer"]), ("race", ["event", "course"]), ("course", ["organizer"])],
)
def test_it_offers_only_the_users_own_objects_on_add_forms(seat, model, fields):
    client, own, other = seat
    response = client.get(admin_url(model, "add"))
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
    response = client.get(admin_url(model, "changelist"), {lookup: other.obj(target).pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert {organizer_id_of(obj) for obj in response.context["cl"].result_list} <= {
        own.organizer.pk
    }
    assert other.organizer.name not in html
    assert row_label(other, target) not in html


@pytest.mark.parametrize("model", ["event", "course", "race"])
def test_it_names_only_the_users_own_objects_in_the_filter_sidebar(client, tenants, alice, model):
    # With a second organizer alice's sidebar offers choices; none may be Bravo's.
    gamma = make_organizer("Gamma", members={alice: ROLES.OWNER})
    make_race(make_event(gamma, "Gamma Run"), course=make_course(gamma))
    client.force_login(alice)
    html = client.get(admin_url(model, "changelist")).content.decode()
    assert 'id="changelist-filter"' in html
    assert ("Alpha Marathon" if model == "race" else "Alpha Races") in html
    assert "Bravo" not in html
    assert "Switzerland" not in html  # Bravo's event is in Zermatt
