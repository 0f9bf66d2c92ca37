"""The admin isolation matrix's fixtures: both organizers' objects, and a seat for each
persona (their client, their own organizer's objects and the other's)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from events.models import Event
from events.tests.admin_isolation.tenants import SEATS, Tenant, make_tenant


@pytest.fixture
def tenants(alpha_event: Event, bravo_event: Event, iris: Any, dave: Any) -> dict[str, Tenant]:
    return {"alpha": make_tenant(alpha_event), "bravo": make_tenant(bravo_event)}


@pytest.fixture(params=SEATS, ids=[seat[0] for seat in SEATS])
def seat(request: Any, tenants: dict[str, Tenant]) -> tuple[Client, Tenant, Tenant]:
    """A logged-in admin client for one persona, with their own and the other tenant."""
    name, own, other = request.param
    client = Client()
    client.force_login(request.getfixturevalue(name))
    return client, tenants[own], tenants[other]
