"""Strings people type reach every server-rendered page escaped, never as markup.

Anyone can sign up, start an organizer and enter a race, so organizer, event,
race, category, split point and question names, athletes' names, answers and
posts are an attacker's strings; the browser tests (tests/browser/test_user_text.py)
prove the pages' scripts show them as text, these check what the server sends (the live
page and the posts' admin: ``tracking/tests/test_user_text.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django import forms

from events.forms import OrganizerSignupForm
from events.models import Event, Registration
from events.tests.hostile import IMG, SCRIPT, assert_escaped, hostile_entry
from pace.lib.testing import PASSWORD
from pace.lib.widgets import PlainSelect

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile(alpha_event: Event) -> Registration:
    return hostile_entry(alpha_event)


def test_it_escapes_user_text_on_the_public_pages(client: Any, hostile: Registration) -> None:
    event = hostile.event
    race = hostile.race
    pages = [
        "/",
        "/events/",
        event.get_absolute_url(),
        event.organizer.get_absolute_url(),
        f"/entries/{hostile.manage_token}/",
        f"/events/{event.slug}/enter/{race.slug}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), url)


def test_it_escapes_user_text_in_the_back_office(
    client: Any, alice: Any, hostile: Registration
) -> None:
    client.login(username="alice", password=PASSWORD)
    race = hostile.race
    pages = [
        "/admin/events/organizer/",
        "/admin/events/event/",
        f"/admin/events/event/{hostile.event_id}/change/",
        "/admin/events/race/",
        f"/admin/events/race/{race.pk}/change/",
        f"/admin/events/course/{race.course_id}/change/",
        "/admin/events/registration/",
        f"/admin/events/registration/{hostile.pk}/change/",
        "/admin/events/registration/dashboard/",
        f"/admin/events/registration/start-list/{race.pk}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_escaped(response.content.decode(), url)


def test_it_refuses_a_website_that_is_not_a_web_address() -> None:
    """A ``javascript:`` URL in an organizer's or event's website link would run on click."""
    event_form = forms.modelform_factory(Event, fields=["website"])
    for url in ("javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<script>"):
        signup = OrganizerSignupForm(
            {"name": "Org", "country": "FR", "contact_email": "o@example.com", "website": url}
        )
        assert not signup.is_valid() and "website" in signup.errors, url
        assert not event_form({"website": url}).is_valid(), url


def test_it_escapes_hostile_choice_labels_in_the_plain_select() -> None:
    html = PlainSelect(choices=[(f'"{SCRIPT}', IMG)]).render("country", None)
    assert "<script" not in html and "<img" not in html
    assert '<option value="&quot;&lt;script&gt;' in html
