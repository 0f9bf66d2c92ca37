"""The demo athlete's run with its music (seed_demo), seeded once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations import demo
from integrations.models import Activity, Play

pytestmark = pytest.mark.django_db


def test_it_seeds_a_run_with_its_music_once(client, dave) -> None:
    first = demo.demo_seed(user=dave)
    assert demo.demo_seed(user=dave) == first
    assert Activity.objects.filter(user=dave).count() == 1
    assert Play.objects.filter(user=dave).count() == len(demo.PLAYLIST)
    activity = Activity.objects.get(pk=first)
    assert 5600 < activity.distance < 5800 and activity.elapsed_time == 30 * 60
    client.force_login(dave)
    html = client.get(reverse("integrations:activity", args=[first])).content.decode()
    assert html.count("<tr>") - 1 == 8  # every track of the 30 minutes, header row aside
    assert "Run Boy Run" in html and "Till I Collapse" in html
