"""A big race's replay, not built yet: the page says it is being prepared, polls, and
plays it once the server has built it off the request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import Race
from tracking.sim.pastrace import past_race_positions_create
from tracking.sim.testrace import load_test_race_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_replay_page_waits_for_a_replay_being_prepared(
    page: Any, live_server: Any, monkeypatch: Any, settings: Any
) -> None:
    from tracking.web import replaydata

    monkeypatch.setattr(replaydata, "SYNC_MAX_ATHLETES", 2)  # 12 athletes count as big
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: a build thread
    data = load_test_race_create(athletes=12)
    race = Race.objects.select_related("event", "course").get(pk=data["race_id"])
    race.start_time = timezone.now() - dt.timedelta(hours=30)
    race.time_limit = dt.timedelta(hours=2)
    race.save()
    past_race_positions_create(race=race, every=10, seed=3)
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/replay/data/" in r.url else None)
    page.set_default_timeout(60_000)
    page.goto(f"{live_server.url}/live/{race.event.slug}/{race.slug}/replay/")
    page.wait_for_selector("#replay[data-state=ready]")
    assert answers[0] == 202 and answers[-1] == 200  # asked again until it was there
    expect(page.locator("#replay")).to_have_attribute("data-progress", "0")
    page.locator("#replay-time").fill("900")
    page.wait_for_function("document.querySelectorAll('#replay-body tr[data-id]').length === 12")
