"""Stripe is switched on by its own settings, and bad values stop the start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

READ = "from django.conf import settings; print(bool(settings.STRIPE_SECRET_KEY))"


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STRIPE_")}
    return subprocess.run(
        [sys.executable, "-c", READ],
        env={**clean, "DJANGO_SETTINGS_MODULE": "pace.settings", "SECRET_KEY": "x", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"STRIPE_SECRET_KEY": "pk_test_1"}, "STRIPE_SECRET_KEY must be a Stripe secret key"),
        ({"STRIPE_SECRET_KEY": "sk_test_1"}, "STRIPE_WEBHOOK_SECRET is required"),
        (
            {"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_a,secret"},
            "STRIPE_WEBHOOK_SECRET must be Stripe signing secrets",
        ),
    ],
)
def test_it_refuses_to_start_with_bad_stripe_settings(env: dict[str, str], error: str) -> None:
    done = _start(**env)

    assert done.returncode != 0
    assert error in done.stderr


def test_it_takes_card_payments_only_with_stripe_keys() -> None:
    keys = {"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_a,whsec_b"}

    assert _start().stdout.strip() == "False"
    assert _start(**keys).stdout.strip() == "True"
