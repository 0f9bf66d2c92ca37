"""Money in the back office with roles that differ per organizer.

bob is staff at Alpha and owner of the "Bob Org" he started; erin is staff at Alpha
and admin at Bravo. Owning or managing one organizer must never let them refund,
onboard or read the Stripe account of another where they are only staff.
(The matrix over every admin action and URL is events/tests/test_admin_roles.py.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from events.registration import registration_create
from events.tests.factories import ROLES, make_organizer, make_user
from payments.checkout import payment_settle_on_site
from payments.models import ConnectedAccount, MoneyLog, Payment, Refund
from payments.tests.fake_stripe import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(alpha: Any, bravo: Any) -> Any:
    user = make_user("erin")
    alpha.memberships.create(user=user, role=ROLES.STAFF)
    bravo.memberships.create(user=user, role=ROLES.ADMIN)
    return user


@pytest.fixture
def bob_org(bob: Any) -> Any:
    return make_organizer("Bob Org", members={bob: ROLES.OWNER})


def _paid(event: Any, alice: Any) -> Payment:
    """A confirmed entry of ``event`` paid at the desk (something to refund)."""
    entry = {
        "email": f"{event.slug}@example.com", "first_name": "Pat", "last_name": event.name,
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR",
        "emergency_name": "Someone", "emergency_phone": "+33 6 00 00 00 00",
    }  # fmt: skip
    registration = registration_create(
        race=event.races.get(), user=None, entry=entry, answers={}, code=""
    )
    payment = registration.payments.get()
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.DUE_ON_SITE, method=Payment.Method.ON_SITE
    )
    payment_settle_on_site(payment=payment, actor=alice)
    payment.refresh_from_db()
    return payment


@pytest.fixture
def paid(alpha_event: Any, bravo_event: Any, alice: Any) -> dict[str, Payment]:
    return {"alpha": _paid(alpha_event, alice), "bravo": _paid(bravo_event, alice)}


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("person", "managed"), [("bob", set()), ("erin", {"bravo"})])
def test_it_refunds_only_where_the_person_manages(request, paid, bob_org, person, managed):
    client = _as(request.getfixturevalue(person))
    for tenant, payment in paid.items():
        refund = reverse("admin:payments_payment_refund", args=[payment.pk])
        if tenant in managed:
            assert client.get(refund).status_code == 200
            continue
        expected = 403 if tenant == "alpha" else 404  # staff at Alpha; nothing at Bravo
        assert client.get(refund).status_code == expected
        posted = client.post(refund, {"amount": "5", "reason": "Mine now", "key": "k"})
        assert posted.status_code == expected
        action = {"action": "refund", "_selected_action": [payment.pk]}
        response = client.post(reverse("admin:payments_payment_changelist"), action)
        assert response["Location"] != refund
    assert not Refund.objects.exists()
    assert not MoneyLog.objects.filter(action="refund").exists()


def test_it_hides_the_refund_button_from_staff_who_manage_another_organizer(paid, bob_org, bob):
    page = _as(bob).get(reverse("admin:payments_payment_change", args=[paid["alpha"].pk]))
    assert page.status_code == 200
    assert page.context["can_refund"] is False


def test_it_lets_staff_take_money_at_the_desk_where_they_are_staff(alpha_event, bob, bob_org):
    entry = {
        "email": "desk@example.com", "first_name": "Des", "last_name": "K",
        "birth_date": dt.date(1985, 3, 4), "sex": "F", "nationality": "FR",
        "emergency_name": "Someone", "emergency_phone": "+33 6 00 00 00 00",
    }  # fmt: skip
    registration = registration_create(
        race=alpha_event.races.get(), user=None, entry=entry, answers={}, code=""
    )
    payment = registration.payments.get()
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.DUE_ON_SITE, method=Payment.Method.ON_SITE
    )
    data = {"action": "mark_paid_on_site", "_selected_action": [payment.pk]}
    _as(bob).post(reverse("admin:payments_payment_changelist"), data)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


def test_it_lists_and_onboards_stripe_accounts_only_where_the_person_manages(
    alpha, bravo, erin, fake_stripe: FakeStripe
):
    for org in (alpha, bravo):
        state = {"charges_enabled": True, "payouts_enabled": True, "details_submitted": True}
        account = f"acct_{org.slug}"
        fake_stripe.accounts[account] = {"id": account, "object": "account", **state}
        ConnectedAccount.objects.create(organizer=org, stripe_id=account, **state)
    client = _as(erin)
    listed = client.get(reverse("admin:payments_connectedaccount_changelist"))
    assert [a.organizer for a in listed.context["cl"].result_list] == [bravo]
    assert "acct_alpha" not in listed.content.decode()
    alpha_account = ConnectedAccount.objects.get(organizer=alpha)
    change = reverse("admin:payments_connectedaccount_change", args=[alpha_account.pk])
    assert client.get(change).status_code in (302, 403)
    assert fake_stripe.to("/v1/balance", method="GET") == []
    assert client.post(reverse("admin:payments_onboard", args=[alpha.pk])).status_code == 403
    assert client.get(reverse("admin:payments_onboard_return", args=[alpha.pk])).status_code == 403
    assert fake_stripe.calls == []
    response = client.post(reverse("admin:payments_onboard", args=[bravo.pk]))
    assert response.status_code == 303
    assert not [str(m) for m in get_messages(response.wsgi_request)]
