"""Stripe's webhook answers every signed body 2xx or 400, whatever its shape, never 5xx.

Stripe delivers anything not answered 2xx again for days: a signed event Pace does
not handle, or whose object is not what its handler reads, is answered 200 and
ignored (nothing stored); a body that is not a JSON object is 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import ConnectedAccount, MoneyLog, Payment, WebhookEvent
from payments.tests.conftest import session
from payments.tests.fake_stripe import WEBHOOK_SECRET, event, sign
from payments.webhooks import HANDLERS

pytestmark = pytest.mark.django_db


def _deliver(client: Any, payload: str | bytes, *, header: str | None = None) -> Any:
    body = payload.encode() if isinstance(payload, str) else payload
    if header is None:
        t = int(time.time())
        mac = hmac.new(WEBHOOK_SECRET.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
        header = f"t={t},v1={mac}"
    url = reverse("payments:stripe_webhook")
    return client.post(url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header)


# A thin event notification (event destinations, API v2): no data.object, a reference.
THIN_EVENT = {
    "id": "evt_test_65R9Ijk8Z2Z7dL2wHaS16R9KBe3NSQm5Dg4a7YF8nwtBsJ",
    "object": "v2.core.event",
    "type": "v1.billing.meter.error_report_triggered",
    "livemode": False,
    "created": "2024-09-17T06:20:52.246Z",
    "related_object": {
        "id": "mtr_test_61R9IjkY4N6mLd0aW41OSu0rOENLJ7Q2",
        "type": "billing.meter",
        "url": "/v1/billing/meters/mtr_test_61R9IjkY4N6mLd0aW41OSu0rOENLJ7Q2",
    },
}
THIN_ACCOUNT_EVENT = {
    "id": "evt_test_65SUT3aLUVHyWPcbN6H16SUT0mGhSQ0Nq5eygcyFqRjdKW",
    "object": "v2.core.event",
    "type": "v2.core.account.closed",
    "livemode": False,
    "created": "2025-10-01T08:12:40.113Z",
    "context": "acct_alpha",
    "reason": {"type": "request", "request": {"id": "req_v2Xr1", "idempotency_key": "k"}},
    "related_object": {
        "id": "acct_alpha", "type": "v2.core.account", "url": "/v2/core/accounts/acct_alpha",
    },
}  # fmt: skip


@pytest.mark.parametrize("notification", [THIN_EVENT, THIN_ACCOUNT_EVENT], ids=["meter", "account"])
def test_it_answers_a_thin_event_notification_200_and_ignores_it(
    client, alpha_account, notification
):
    response = _deliver(client, json.dumps(notification))

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    assert not WebhookEvent.objects.exists()
    alpha_account.refresh_from_db()
    assert alpha_account.charges_enabled is True


# Events of handled types whose object is not what the handler reads.
ODD_OBJECTS = {
    "no data.object": lambda p: {"data": {}},
    "data is a list": lambda p: {"data": [session(p)]},
    "object of another type": lambda p: {"data": {"object": {**session(p), "object": "charge"}}},
    "no object type": lambda p: {"data": {"object": {**session(p), "object": None}}},
    "session without id": lambda p: {"data": {"object": {**session(p), "id": None}}},
    "id a number": lambda p: {"data": {"object": {**session(p), "id": 12}}},
    "id with NUL": lambda p: {"data": {"object": {**session(p), "id": "cs_\x00"}}},
    "id too long": lambda p: {"data": {"object": {**session(p), "id": "cs_" + "x" * 300}}},
    "id a lone surrogate": lambda p: {"data": {"object": {**session(p), "id": "cs_\ud800"}}},
    "event id with a space": lambda p: {"id": "evt 1"},
    "metadata a list": lambda p: {"data": {"object": {**session(p), "metadata": ["payment_id"]}}},
    "intent an object": lambda p: {"data": {"object": {**session(p), "payment_intent": {"id": 1}}}},
    "event id missing": lambda p: {"id": None},
    "not a snapshot event": lambda p: {"object": "v2.core.event"},
}  # fmt: skip


@pytest.mark.parametrize("how", ODD_OBJECTS)
def test_it_answers_a_signed_event_its_handler_cannot_read_200_and_changes_nothing(
    client, pending, how
):
    body = json.loads(event("checkout.session.completed", session(pending)))
    body.update(ODD_OBJECTS[how](pending))

    response = _deliver(client, json.dumps(body))

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    pending.refresh_from_db()
    assert pending.status == Payment.Status.PENDING
    assert not WebhookEvent.objects.exists()
    assert not MoneyLog.objects.exists()


ODD_FIELDS = {
    "charge.refunded": [
        {"amount_refunded": "4000"},
        {"amount_refunded": -100},
        {"amount_refunded": 10**30},
        {"amount_refunded": 400000},  # more than was paid
        {"amount_refunded": True},
    ],
    "payment_intent.payment_failed": [{"last_payment_error": "declined"}, {"id": ["pi_1"]}],
    "checkout.session.expired": [{"metadata": "payment_id=1"}, {"id": {"id": "cs_1"}}],
}
CASES = [(kind, change) for kind, changes in ODD_FIELDS.items() for change in changes]


@pytest.mark.parametrize(("kind", "change"), CASES)
def test_it_ignores_handled_events_with_fields_of_another_type(client, pending, kind, change):
    objects: dict[str, dict[str, Any]] = {
        "charge.refunded": {
            "id": f"ch_{pending.pk}", "object": "charge", "paid": True,
            "payment_intent": f"pi_{pending.pk}", "amount": 4000, "amount_refunded": 1000,
            "metadata": {"payment_id": str(pending.pk)},
        },
        "payment_intent.payment_failed": {
            "id": f"pi_{pending.pk}", "object": "payment_intent",
            "metadata": {"payment_id": str(pending.pk)}, "last_payment_error": {"message": "no"},
        },
        "checkout.session.expired": session(pending, status="expired"),
    }  # fmt: skip

    response = _deliver(client, event(kind, {**objects[kind], **change}))

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    pending.refresh_from_db()
    assert (pending.status, pending.refunded_amount) == (Payment.Status.PENDING, 0)
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("payment_id", ["²", "٣", "1" * 40, "-1", "1.0", " 1"])
def test_it_looks_up_by_session_when_the_metadata_holds_no_payment_id(client, pending, payment_id):
    """Unicode digits pass ``str.isdigit`` but not ``int``; a huge id overflows the column."""
    obj = session(pending, metadata={"payment_id": payment_id})

    response = _deliver(client, event("checkout.session.completed", obj))

    assert response.json() == {"status": "processed"}
    pending.refresh_from_db()
    assert pending.status == Payment.Status.PAID  # found by its session id


def test_it_still_refuses_bodies_not_signed_with_our_secret(client, pending):
    payload = json.dumps(THIN_EVENT)

    forged = _deliver(client, payload, header=sign(payload, secret="whsec_not_ours"))
    unsigned = _deliver(client, payload, header="")

    assert (forged.status_code, unsigned.status_code) == (400, 400)


@pytest.mark.parametrize("body", [b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000, b"null", b'"evt"'])
def test_it_answers_400_to_signed_bodies_that_are_not_a_json_object(client, pending, body):
    assert _deliver(client, body).status_code == 400


# --- Property: any signed JSON gets 200 (an object) or 400 (anything else), never 5xx ----

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _near(*values: Any) -> st.SearchStrategy[Any]:
    """Mostly plausible values of a field, sometimes anything at all."""
    return st.one_of(st.sampled_from(values), json_values)


@st.composite
def stripe_objects(draw: st.DrawFn, payment: Payment) -> dict[str, Any]:
    fields = {
        "id": _near(payment.stripe_session_id, f"pi_{payment.pk}", "acct_alpha", "cs_x", ""),
        "object": _near(*{kind for kind, _ in HANDLERS.values()}),
        "payment_status": _near("paid", "unpaid"),
        "payment_intent": _near(f"pi_{payment.pk}", None, "pi_\x00", "pi_\ud800"),
        "metadata": _near({"payment_id": str(payment.pk)}, {"payment_id": "99999999999999999"}),
        "paid": _near(True, False),
        "amount_refunded": _near(0, 1000, 4000, 4001, 2**63),
        "last_payment_error": _near({"message": "Your card was declined."}),
        "charges_enabled": _near(True, False),
    }
    keys = draw(st.sets(st.sampled_from(sorted(fields))))
    return {key: draw(fields[key]) for key in keys}


@st.composite
def signed_events(draw: st.DrawFn, payment: Payment) -> dict[str, Any]:
    body = {
        "id": draw(_near(f"evt_{draw(st.integers(0, 10**6))}", "evt_fixed", "evt_\udfff")),
        "object": draw(_near("event", "v2.core.event")),
        "type": draw(_near(*HANDLERS, "customer.created", "v2.core.account.closed")),
        "data": draw(st.one_of(st.builds(dict, object=stripe_objects(payment)), json_values)),
    }
    if draw(st.booleans()):
        body["account"] = draw(_near("acct_alpha", "acct_else"))
    if draw(st.booleans()):
        body["related_object"] = draw(json_values)
    return body


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_never_answers_a_signed_event_of_any_shape_with_a_server_error(
    client, pending, alpha_account, data
):
    body = data.draw(signed_events(pending))

    response = _deliver(client, json.dumps(body))

    assert response.status_code == 200, response.content
    assert response.json()["status"] in {"processed", "duplicate", "ignored"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=json_values)
def test_it_answers_any_signed_json_200_or_400(client, fake_stripe, value):
    response = _deliver(client, json.dumps(value))

    assert response.status_code == (200 if isinstance(value, dict) else 400)
    assert ConnectedAccount.objects.count() == 0


# --- Events as Stripe sends them in full (envelope and object), not the tests' short forms ---


def _full_envelope(kind: str, obj: dict[str, Any], **more: Any) -> str:
    return json.dumps({
        "id": f"evt_1Q{kind.replace('.', '')[:10]}{time.time_ns() % 10**8}", "object": "event",
        "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
        "pending_webhooks": 2, "type": kind,
        "request": {"id": None, "idempotency_key": "a3f1c0de-8c1b-4d6e-9a55-0f2b7c1e9d21"},
        "data": {"object": obj, **more},
    })  # fmt: skip


def _full_session(payment: Payment) -> dict[str, Any]:
    short = session(payment)
    return {
        **short, "after_expiration": None, "allow_promotion_codes": None, "amount_subtotal": 4000,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None, "cancel_url": "https://pace.example/entries/x/",
        "client_reference_id": str(payment.registration_id), "client_secret": None,
        "consent": None, "consent_collection": None, "created": int(time.time()) - 60,
        "currency_conversion": None, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None},
        "customer": None, "customer_creation": "if_required",
        "customer_details": {
            "address": {"city": None, "country": "FR", "line1": None, "line2": None,
                        "postal_code": None, "state": None},
            "email": "runner@example.com", "name": "Rita Runner", "phone": None,
            "tax_exempt": "none", "tax_ids": [],
        },
        "customer_email": "runner@example.com", "expires_at": int(time.time()) + 1800,
        "invoice": None, "livemode": False, "locale": None, "mode": "payment",
        "payment_link": None, "payment_method_collection": "if_required",
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "phone_number_collection": {"enabled": False},
        "recovered_from": None, "setup_intent": None, "shipping_address_collection": None,
        "shipping_cost": None, "shipping_details": None, "submit_type": None,
        "subscription": None, "success_url": "https://pace.example/entries/x/",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted", "url": None,
    }  # fmt: skip


def test_it_processes_events_in_stripes_full_shape(client, pending, alpha_account, fake_stripe):
    paid = _deliver(client, _full_envelope("checkout.session.completed", _full_session(pending)))
    refund = {
        "id": f"ch_3Q{pending.pk}", "object": "charge", "amount": 4000, "amount_captured": 4000,
        "amount_refunded": 1500, "application_fee_amount": 285, "captured": True,
        "currency": "eur", "paid": True, "refunded": False, "status": "succeeded",
        "payment_intent": f"pi_{pending.pk}", "metadata": {"payment_id": str(pending.pk)},
        "billing_details": {"address": {"country": "FR"}, "email": None, "name": None},
        "outcome": {"network_status": "approved_by_network", "risk_level": "normal"},
        "refunds": {"object": "list", "data": [{"id": "re_3Q1", "object": "refund",
                                                "amount": 1500, "status": "succeeded"}],
                    "has_more": False, "total_count": 1, "url": "/v1/charges/ch_3Q/refunds"},
        "transfer_data": {"amount": None, "destination": "acct_alpha"},
    }  # fmt: skip
    refunded = _deliver(
        client, _full_envelope("charge.refunded", refund, previous_attributes={"refunds": None})
    )
    account = {
        "id": "acct_alpha", "object": "account", "type": "express", "charges_enabled": True,
        "payouts_enabled": True, "details_submitted": True, "country": "FR",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "requirements": {"currently_due": [], "disabled_reason": None, "past_due": []},
    }  # fmt: skip
    updated = _deliver(
        client, _full_envelope("account.updated", account, previous_attributes={"email": None})
    )

    assert [r.json()["status"] for r in (paid, refunded, updated)] == ["processed"] * 3
    pending.refresh_from_db()
    assert (pending.status, pending.refunded_amount) == (Payment.Status.PARTIALLY_REFUNDED, 15)
