"""The world of the role tests, built once for them all, and a fake Stripe for the actions
that call it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pace.lib.testing import shared_rows
from pace.tests.admin_roles.roles import TENANTS, build_world
from payments import stripe as stripe_api
from payments.tests.fake_stripe import FakeStripe


@pytest.fixture(scope="package")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Built once, rolled back after the package's tests; each test runs in its own savepoint."""
    with shared_rows(django_db_blocker):
        yield build_world()


@pytest.fixture
def fake_stripe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    settings.STRIPE_SECRET_KEY = "sk_test_pace"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    fake = FakeStripe()
    for name in TENANTS:
        state = {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True}
        fake.accounts[f"acct_{name}"] = {"id": f"acct_{name}", "object": "account", **state}
    monkeypatch.setattr(stripe_api, "http_client", fake)
    return fake
