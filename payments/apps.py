from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from events import payment_providers
        from payments.checkout import CheckoutProvider

        # The core starts and expires entries' payments through this provider only.
        payment_providers.register(CheckoutProvider())
