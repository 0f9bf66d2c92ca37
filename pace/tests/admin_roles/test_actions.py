"""Every admin action runs only where the person holds its role, and the registry names the
roles of each."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from events.models import Registration
from pace.tests.admin_roles.roles import (
    ACTION_ROLES,
    ACTIONS,
    CASE_IDS,
    CASES,
    CHANGING,
    CUSTOM_URLS,
    EDIT,
    PERSONAS,
    TENANTS,
    URL_KWARGS,
    URL_ROLES,
    VIEW_ROLES,
    client_as,
    may,
    messages_of,
    objects_of,
    role_of,
    state,
)

pytestmark = pytest.mark.django_db


def test_it_knows_the_roles_of_every_action_and_view():
    assert set(ACTIONS) == set(ACTION_ROLES), "name the roles of each new admin action"
    assert {name for _, name, _ in CUSTOM_URLS} == set(URL_ROLES), "and of each admin URL"
    unknown = {kw for _, _, kws in CUSTOM_URLS for kw in kws} - {*URL_KWARGS, "object_id"}
    assert not unknown, "say in URL_KWARGS which model these URL ids name"


# --- Actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(("label", "action"), ACTIONS, ids=[f"{m}.{a}" for m, a in ACTIONS])
def test_it_runs_an_action_only_where_the_person_holds_its_role(
    world, fake_stripe, django_capture_on_commit_callbacks, person, tenant, label, action
):
    model = apps.get_model(label)
    ids = list(objects_of(model, world["organizers"][tenant]).values_list("pk", flat=True))
    data = {
        "action": action, "index": "0", "_selected_action": ids,
        # The last step of actions with a page of their own: confirm, send, delete.
        "confirm": "yes", "post": "yes", "send": "1", "subject": "Hello", "body": "Hi",
    }  # fmt: skip
    before = state()
    url = reverse(f"admin:{label.replace('.', '_')}_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(world, person).post(url, data)
    refused = "Nothing done: your role at their organizer does not allow"
    if may(person, tenant, ACTION_ROLES[label, action]):
        assert response.status_code in (200, 302)
        assert refused not in messages_of(response)
        if action in CHANGING:
            assert state() != before, f"{action} did nothing for {person} at {tenant}"
    else:
        assert state() == before, f"{action} changed {tenant}'s data for {person}"
        # 200: the list again, when the action is not even offered; 403: Django's own refusal.
        assert response.status_code in (200, 302, 403)
        offered = any(role in ACTION_ROLES[label, action] for role in PERSONAS[person].values())
        visible = role_of(person, tenant) in VIEW_ROLES.get(label, EDIT)
        if offered and visible and response.status_code == 302:
            assert refused in messages_of(response)


def test_it_runs_a_mixed_selection_only_on_the_objects_the_role_allows(world):
    """erin cancels Bravo's entries (admin there) but not Alpha's (staff there)."""
    alpha, bravo = (objects_of(Registration, world["organizers"][t]) for t in TENANTS)
    ids = [*alpha.values_list("pk", flat=True), *bravo.values_list("pk", flat=True)]
    data = {"action": "cancel_entries", "index": "0", "confirm": "yes", "_selected_action": ids}
    response = client_as(world, "erin").post(reverse("admin:events_registration_changelist"), data)
    assert response.status_code == 302
    assert "2 of the selected registrations skipped" in messages_of(response)
    assert set(alpha.values_list("status", flat=True)) == {Registration.Status.CONFIRMED}
    assert set(bravo.values_list("status", flat=True)) == {Registration.Status.CANCELLED}


# --- Custom admin URLs -------------------------------------------------------------------
