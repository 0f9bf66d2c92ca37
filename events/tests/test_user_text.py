"""Strings people type reach every server-rendered page escaped, never as markup.

Anyone can sign up, start an organizer and enter a race, so organizer, event,
race, category, split point and question names, athletes' names, answers and
posts are an attacker's strings; the browser tests (tests/browser/test_user_text.py)
prove the pages' scripts show them as text, these check what the server sends.
"""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.utils import timezone

from events.forms import OrganizerSignupForm
from events.models import (
    Event,
    Organizer,
    Race,
    RaceCategory,
    RaceQuestion,
    Registration,
    SplitPoint,
)
from events.tests.factories import ENTRY_FORM
from pace.lib.testing import PASSWORD
from pace.lib.widgets import PlainSelect
from tracking.models import Post

pytestmark = pytest.mark.django_db

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
RAW = ("<script>window.__xss", "<img src=x")
ESCAPED = ("&lt;script&gt;window.__xss=1&lt;/script&gt;", "&lt;img src=x onerror=")


@pytest.fixture
def hostile(alpha_event: Event) -> Registration:
    """Alpha's event with markup in every name, and an entry typed by an attacker."""
    race = alpha_event.races.get()
    Organizer.objects.filter(pk=alpha_event.organizer_id).update(name=IMG, description=SCRIPT)
    Event.objects.filter(pk=alpha_event.pk).update(
        name=SCRIPT, summary=IMG, description=SCRIPT, place=IMG, region=SCRIPT
    )
    Race.objects.filter(pk=race.pk).update(name=IMG)
    RaceCategory.objects.create(race=race, code="X", name=SCRIPT)
    split = SplitPoint.objects.filter(course=race.course).first()
    SplitPoint.objects.filter(pk=split.pk).update(name=SCRIPT)
    question = RaceQuestion.objects.create(race=race, label=IMG)
    fields = {k: v for k, v in ENTRY_FORM.items() if k not in ("waiver", "first_name")}
    entry = Registration.objects.create(
        race=race, event=alpha_event, status="confirmed", price=0, currency="EUR",
        waiver_accepted_at=timezone.now(), manage_token="hostile-entry", bib="7",
        first_name=SCRIPT, answers={str(question.pk): IMG}, **fields,
    )  # fmt: skip
    Post.objects.create(race=race, registration=entry, text=SCRIPT)
    return entry


def _assert_escaped(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where} has {raw!r} unescaped"
    assert any(escaped in html for escaped in ESCAPED), f"{where} shows no hostile name"


def test_it_escapes_user_text_on_the_public_pages(client: Any, hostile: Registration) -> None:
    event = hostile.event
    race = hostile.race
    pages = [
        "/",
        "/events/",
        event.get_absolute_url(),
        event.organizer.get_absolute_url(),
        f"/live/{event.slug}/{race.slug}/",
        f"/entries/{hostile.manage_token}/",
        f"/events/{event.slug}/enter/{race.slug}/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.content.decode(), url)


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
        "/admin/tracking/post/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_escaped(response.content.decode(), url)


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
