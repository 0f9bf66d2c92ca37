"""Every custom admin page opens only where the person holds its role."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from events.models import Race
from pace.tests.admin_roles.roles import (
    CASE_IDS,
    CASES,
    CUSTOM_URLS,
    PERSONAS,
    URL_KWARGS,
    URL_ROLES,
    client_as,
    may,
    objects_of,
    role_of,
    state,
)

pytestmark = pytest.mark.django_db


def _custom_url(world: dict[str, Any], label: str, name: str, kws: list[str], tenant: str) -> str:
    organizer = world["organizers"][tenant]
    args = []
    for kw in kws:
        model = URL_KWARGS.get(kw) or apps.get_model(label)
        args.append(objects_of(model, organizer).first().pk)
    return reverse(f"admin:{name}", args=args)


OBJECT_URLS = [(label, name, kws) for label, name, kws in CUSTOM_URLS if URL_ROLES[name]]


@pytest.mark.parametrize(("person", "tenant"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(("label", "name", "kws"), OBJECT_URLS, ids=[u[1] for u in OBJECT_URLS])
def test_it_opens_an_objects_admin_page_only_where_the_person_holds_its_role(
    world, fake_stripe, django_capture_on_commit_callbacks, person, tenant, label, name, kws
):
    url = _custom_url(world, label, name, kws, tenant)
    client = client_as(world, person)
    before = state()
    post = {"subject": "Hello", "body": "Hi", "send": "1", "amount": "1", "reason": "x"}
    with django_capture_on_commit_callbacks(execute=True):
        got, posted = client.get(url), client.post(url, post)
    roles = URL_ROLES[name]
    assert roles is not None
    if may(person, tenant, roles):
        assert got.status_code in (200, 302, 303)
        assert posted.status_code in (200, 302, 303, 400)
    else:
        # Another organizer's objects do not exist for them; their own need the role.
        expected = 403 if role_of(person, tenant) else 404
        assert (got.status_code, posted.status_code) == (expected, expected)
        assert state() == before
        assert fake_stripe.calls == []


@pytest.mark.parametrize("person", PERSONAS)
@pytest.mark.parametrize("name", [n for n, roles in URL_ROLES.items() if roles is None])
def test_it_opens_the_pages_of_their_own_to_every_member(world, person, name):
    response = client_as(world, person).get(reverse(f"admin:{name}"))
    assert response.status_code == 200


def test_it_links_the_email_page_only_for_races_the_person_may_write_to(world):
    html = client_as(world, "erin").get(reverse("admin:events_registration_dashboard")).content
    for tenant, shown in [("alpha", False), ("bravo", True)]:
        race = objects_of(Race, world["organizers"][tenant]).get()
        url = reverse("admin:events_registration_email", args=[race.pk])
        assert (url.encode() in html) is shown
        changelist = reverse("admin:events_registration_changelist")
        page = client_as(world, "erin").get(changelist, {"race__id__exact": race.pk}).content
        assert (url.encode() in page) is shown
