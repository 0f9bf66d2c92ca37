"""The core's payment provider registry: one provider, filled when the apps are ready."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from events import payment_providers
from events.models import Registration
from events.payment_providers import Paid, PaymentLine


class _Provider:
    """Takes nothing: what the core needs of a provider, and nothing else."""

    def payment_start(self, *, registration: Registration) -> None:
        pass

    def pays_online(self, *, registration: Registration) -> bool:
        return False

    def pay_url(self, *, registration: Registration) -> str:
        return ""

    def payment_expire(self, *, registration: Registration) -> None:
        pass

    def paid(self, *, registration: Registration) -> Paid | None:
        return None

    def payment_lines(
        self, *, registrations: Sequence[Registration]
    ) -> dict[int, list[PaymentLine]]:
        return {r.pk: [] for r in registrations}

    def method_problem(self, *, organizer_id: int, method: str) -> str:
        return ""

    def method_label(self, method: str) -> str:
        return method

    def with_refunded(self, registrations: QuerySet[Registration]) -> QuerySet[Registration]:
        return registrations


class _OtherProvider(_Provider):
    pass


@pytest.fixture
def empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payment_providers, "_registered", {})


def test_it_says_how_to_fix_a_missing_provider(empty: None) -> None:
    with pytest.raises(ImproperlyConfigured, match="'payments' in INSTALLED_APPS"):
        payment_providers.get()


def test_it_gives_the_registered_provider(empty: None) -> None:
    provider = _Provider()
    payment_providers.register(provider)
    assert payment_providers.get() is provider


def test_it_takes_the_same_provider_again_as_ready_may_run_twice(empty: None) -> None:
    payment_providers.register(_Provider())
    again = _Provider()
    payment_providers.register(again)
    assert payment_providers.get() is again


def test_it_refuses_a_second_different_provider(empty: None) -> None:
    first = _Provider()
    payment_providers.register(first)
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        payment_providers.register(_OtherProvider())
    assert payment_providers.get() is first
