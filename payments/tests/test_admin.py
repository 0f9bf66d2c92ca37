"""The money back office: organizer isolation, the read-only log, onboarding, balance, fees."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from payments.models import ConnectedAccount, MoneyLog, Payment
from payments.tests.conftest import enter, post_event, session

pytestmark = pytest.mark.django_db


def _as(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def books(client, pending, bravo_event, alice, bob):
    """Alpha: Rita paid 40 EUR by card, then 10 were refunded. Bravo: Bruno paid 25 on site."""
    post_event(client, "checkout.session.completed", session(pending))
    refund_url = reverse("admin:payments_payment_refund", args=[pending.pk])
    key = _as(alice).get(refund_url).context["form"]["key"].initial
    _as(alice).post(
        refund_url,
        {"key": key, "amount": "10", "reason": "Goodwill", "refund_application_fee": "on"},
    )
    bruno = enter(client, bravo_event.races.get(), first_name="Bruno", email="bruno@example.com")
    _as(bravo_event.organizer.memberships.get().user).post(
        reverse("admin:payments_payment_changelist"),
        {"action": "mark_paid_on_site", "_selected_action": [bruno.payments.get().pk]},
    )
    return {"alpha": pending, "bravo": bruno.payments.get()}


SEATS = [("alice", "alpha", "bravo"), ("charlie", "bravo", "alpha")]


@pytest.mark.parametrize(("user", "own", "other"), SEATS)
def test_it_shows_each_organizer_only_its_own_money(
    request, books, user, own, other, alpha_account, fake_stripe
):
    client = _as(request.getfixturevalue(user))
    names = {"alpha": "Rita Runner", "bravo": "Bruno Runner"}

    payments = client.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert names[own] in payments
    assert names[other] not in payments
    assert "Alpha Marathon" in payments if own == "alpha" else "Alpha Marathon" not in payments

    def change(model, pk):
        return client.get(reverse(f"admin:payments_{model}_change", args=[pk])).status_code

    assert change("payment", books[own].pk) == 200
    assert change("payment", books[other].pk) == 302  # "does not exist", back to the index
    refund = reverse("admin:payments_payment_refund", args=[books[other].pk])
    assert client.get(refund).status_code == 404

    logs = client.get(reverse("admin:payments_moneylog_changelist"))
    organizers = {row.organizer.name for row in logs.context["cl"].result_list}
    assert organizers == {books[own].registration.event.organizer.name}
    refunds = client.get(reverse("admin:payments_refund_changelist")).context["cl"].result_list
    assert all(r.payment_id == books[own].pk for r in refunds)

    fees = client.get(reverse("admin:payments_fee_report")).context["rows"]
    assert [row.organizer for row in fees] == [books[own].registration.event.organizer.name]

    accounts = client.get(reverse("admin:payments_connectedaccount_changelist"))
    assert ("acct_alpha" in accounts.content.decode()) is (own == "alpha")
    assert change("connectedaccount", alpha_account.pk) == (200 if own == "alpha" else 302)
    balance_calls = fake_stripe.to("/v1/balance", method="GET")
    assert len(balance_calls) == (1 if own == "alpha" else 0)


def test_it_reports_fees_per_organizer_to_platform_staff(books, iris, django_assert_num_queries):
    client = _as(iris)
    client.get(reverse("admin:index"))

    with django_assert_num_queries(5):  # session, user, two for the menu's permissions, the report
        response = client.get(reverse("admin:payments_fee_report"))

    rows = {(row.organizer, row.currency): row for row in response.context["rows"]}
    alpha, bravo = rows[("Alpha Races", "EUR")], rows[("Bravo Events", "EUR")]
    assert (alpha.card_payments, alpha.paid_by_card, alpha.refunded, alpha.fees) == (
        1, Decimal("40.00"), Decimal("10.00"), Decimal("2.14"),  # 2.85 less 0.71 given back
    )  # fmt: skip
    assert (bravo.paid_on_site, bravo.fees) == (Decimal("25.00"), Decimal("0"))
    assert (
        "Fees per organizer"
        in client.get(reverse("admin:payments_moneylog_changelist")).content.decode()
    )


def test_it_never_lets_anyone_edit_the_money_log(books, iris, alice):
    log = MoneyLog.objects.filter(organizer__name="Alpha Races").first()
    for user in (iris, alice):
        client = _as(user)
        change = reverse("admin:payments_moneylog_change", args=[log.pk])
        assert client.get(reverse("admin:payments_moneylog_add")).status_code == 403
        assert client.post(change, {"amount": "0", "action": "paid"}).status_code == 403
        assert (
            client.post(reverse("admin:payments_moneylog_delete", args=[log.pk])).status_code == 403
        )
    assert MoneyLog.objects.get(pk=log.pk).amount == log.amount


def test_it_onboards_an_organizer_on_stripe_and_reads_its_state_on_return(
    alpha, alice, fake_stripe
):
    client = _as(alice)
    page = client.get(reverse("admin:payments_connectedaccount_changelist")).content.decode()
    assert "Onboard on Stripe" in page

    response = client.post(reverse("admin:payments_onboard", args=[alpha.pk]))

    account = ConnectedAccount.objects.get(organizer=alpha)
    assert response.status_code == 303
    assert response["Location"].startswith(
        f"https://connect.stripe.com/setup/e/{account.stripe_id}/"
    )
    [create] = fake_stripe.to("/v1/accounts")
    assert create.headers["Idempotency-Key"].startswith(f"account-{alpha.pk}-")
    assert (create.params["type"], create.params["country"]) == ("express", "FR")
    [link] = fake_stripe.to("/v1/account_links")
    assert link.params["type"] == "account_onboarding"
    assert link.params["refresh_url"].endswith(
        f"/admin/payments/connectedaccount/onboard/{alpha.pk}/"
    )
    assert link.params["return_url"].endswith(f"/onboard/{alpha.pk}/done/")
    assert link.headers["Idempotency-Key"].startswith(f"account-link-{account.stripe_id}-")
    assert account.charges_enabled is False

    fake_stripe.accounts[account.stripe_id].update(charges_enabled=True, details_submitted=True)
    back = client.get(reverse("admin:payments_onboard_return", args=[alpha.pk]), follow=True)

    account.refresh_from_db()
    assert (account.charges_enabled, account.details_submitted) == (True, True)
    assert "can take card payments" in back.content.decode()

    client.post(reverse("admin:payments_onboard", args=[alpha.pk]))  # continue: same account
    assert len(fake_stripe.to("/v1/accounts")) == 1
    assert ConnectedAccount.objects.count() == 1


def test_it_lets_only_an_organizers_owners_and_admins_onboard_it(
    alpha, bob, charlie, bravo, fake_stripe
):
    onboard = reverse("admin:payments_onboard", args=[alpha.pk])

    assert _as(bob).post(onboard).status_code == 403
    assert _as(charlie).post(onboard).status_code == 404
    assert _as(bob).get(reverse("admin:payments_connectedaccount_changelist")).status_code == 403
    assert not fake_stripe.calls
    assert not ConnectedAccount.objects.exists()


def test_it_says_when_stripe_is_not_configured(alpha, alice):
    client = _as(alice)

    page = client.get(reverse("admin:payments_connectedaccount_changelist")).content.decode()
    response = client.post(reverse("admin:payments_onboard", args=[alpha.pk]), follow=True)

    assert "Stripe is not configured on this platform" in page
    assert "Stripe is not configured on this platform." in response.content.decode()
    assert not ConnectedAccount.objects.exists()


def test_it_shows_the_live_balance_of_the_organizers_account(alice, alpha_account, fake_stripe):
    fake_stripe.balances["acct_alpha"] = {
        "available": [{"amount": 12345, "currency": "eur"}],
        "pending": [{"amount": 3715, "currency": "eur"}, {"amount": 500, "currency": "chf"}],
    }

    response = _as(alice).get(
        reverse("admin:payments_connectedaccount_change", args=[alpha_account.pk])
    )

    assert response.context["balance"].rows() == [
        ("CHF", Decimal("0"), Decimal("5.00")),
        ("EUR", Decimal("123.45"), Decimal("37.15")),
    ]
    assert "123.45" in response.content.decode()
    [call] = fake_stripe.to("/v1/balance", method="GET")
    assert call.headers["Stripe-Account"] == "acct_alpha"


def test_it_lists_payments_with_their_fees_and_filters_by_own_events(books, alice):
    response = _as(alice).get(reverse("admin:payments_payment_changelist"))

    assert list(response.context["cl"].result_list) == [Payment.objects.get(method="stripe")]
    assert "2.85" in response.content.decode()
    event_filter = next(f for f in response.context["cl"].filter_specs if f.title == "event")
    assert [name for _, name in event_filter.lookup_choices] == ["Alpha Marathon"]


def test_it_onboards_a_new_account_when_stripe_no_longer_knows_the_old_one(
    client, alpha, alice, alpha_account, fake_stripe
):
    del fake_stripe.accounts["acct_alpha"]
    post_event(client, "account.updated", {"id": "acct_alpha", "object": "account"})
    admin = _as(alice)
    page = admin.get(reverse("admin:payments_connectedaccount_changelist")).content.decode()
    assert "Disconnected from Stripe" in page

    response = admin.post(reverse("admin:payments_onboard", args=[alpha.pk]))

    account = ConnectedAccount.objects.get(organizer=alpha)
    assert response.status_code == 303
    assert account.stripe_id != "acct_alpha"
    assert (account.disconnected_at, account.charges_enabled) == (None, False)
    [create] = fake_stripe.to("/v1/accounts")
    assert create.headers["Idempotency-Key"].startswith(f"account-{alpha.pk}-")
    assert response["Location"].startswith(
        f"https://connect.stripe.com/setup/e/{account.stripe_id}/"
    )


def test_it_marks_the_account_disconnected_when_stripe_forgot_it_before_the_return(
    alpha, alice, alpha_account, fake_stripe
):
    del fake_stripe.accounts["acct_alpha"]

    back = _as(alice).get(reverse("admin:payments_onboard_return", args=[alpha.pk]), follow=True)

    alpha_account.refresh_from_db()
    assert alpha_account.disconnected_at is not None
    assert "no longer known to Stripe" in back.content.decode()
