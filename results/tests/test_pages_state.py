"""The results' state line: when they were updated is told on the venue's clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from results.models import ResultsPublication
from results.tests.pages import make_computed

pytestmark = pytest.mark.django_db


def test_it_says_when_results_were_updated_on_the_venue_s_clock(
    client: Client, alpha: Any, alice: Any
) -> None:
    computed = make_computed(alpha, publish_by=alice, zone="Europe/Berlin")
    changed = dt.datetime(2026, 12, 3, 10, 9, tzinfo=dt.UTC)
    ResultsPublication.objects.filter(race=computed.race).update(changed_at=changed)
    page = client.get(computed.url()).content.decode()
    assert "Updated 3 Dec 2026, 11:09 CET" in page
