"""Strings people type reach the live page and the posts' back office escaped, never as
markup (the core's pages: ``events/tests/test_user_text.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from events.models import Event, Registration
from events.tests.hostile import SCRIPT, assert_escaped, hostile_entry
from pace.lib.testing import PASSWORD
from tracking.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def hostile(alpha_event: Event) -> Registration:
    """The hostile entry of the core's tests, with a post written by its attacker."""
    entry = hostile_entry(alpha_event)
    Post.objects.create(race=entry.race, registration=entry, text=SCRIPT)
    return entry


def test_it_escapes_user_text_on_the_live_page(client: Any, hostile: Registration) -> None:
    url = f"/live/{hostile.event.slug}/{hostile.race.slug}/"
    response = client.get(url)
    assert response.status_code == 200, url
    assert_escaped(response.content.decode(), url)


def test_it_escapes_user_text_in_the_posts_back_office(
    client: Any, alice: Any, hostile: Registration
) -> None:
    client.login(username="alice", password=PASSWORD)
    url = "/admin/tracking/post/"
    response = client.get(url)
    assert response.status_code == 200, url
    assert_escaped(response.content.decode(), url)
