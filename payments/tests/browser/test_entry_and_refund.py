"""An athlete enters and pays on site; the organizer takes the money and refunds it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from events.models import Registration
from payments.models import MoneyLog, Payment

pytestmark = pytest.mark.browser


def test_it_takes_an_entry_and_lets_the_organizer_refund_it(
    page: Any, live_server: Any, log_in: Any, dave: Any, alice: Any, alpha_event: Any
) -> None:
    race = alpha_event.races.get()
    log_in(dave, then=alpha_event.get_absolute_url())
    page.click(f"#race-{race.slug} a:text-is('Enter')")
    page.wait_for_url(f"**/enter/{race.slug}/")
    for name, value in {
        "first_name": "Dave", "last_name": "Athlete", "birth_date": "1985-03-04",
        "emergency_name": "Eve", "emergency_phone": "+33 600 000 000", "club": "AC Test",
    }.items():  # fmt: skip
        page.fill(f"[name={name}]", value)
    page.select_option("[name=sex]", "M")
    page.select_option("[name=nationality]", "FR")
    page.check("[name=waiver]")
    page.click("form.entry-form button[type=submit]")
    page.wait_for_url("**/entries/*/")
    expect(page.locator("main")).to_contain_text("You're in!")
    expect(page.locator(".facts")).to_contain_text("Due on site")

    page.goto(f"{live_server.url}/me/races/")
    expect(page.locator("main")).to_contain_text("Alpha Marathon")
    entry = Registration.objects.get(user=dave)
    payment = entry.payments.get()

    page.context.clear_cookies()
    log_in(alice, then="/admin/payments/payment/")
    page.check(f"#result_list input[value='{payment.pk}']")
    page.select_option("select[name=action]", "mark_paid_on_site")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("1 payment(s) marked paid on site")

    page.goto(f"{live_server.url}/admin/payments/payment/{payment.pk}/refund/")
    page.fill("[name=amount]", "100")
    page.fill("[name=reason]", "Injured")
    page.click("input[type=submit][value=Refund]")
    expect(page.locator("#content-main")).to_contain_text("can be refunded")
    page.fill("[name=amount]", "10")
    page.click("input[type=submit][value=Refund]")
    page.wait_for_url(f"**/admin/payments/payment/{payment.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Refunded 10")

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PARTIALLY_REFUNDED
    refund = MoneyLog.objects.get(payment=payment, action="refund")
    assert (refund.actor, refund.detail.get("reason")) == (alice, "Injured")


def test_it_sends_a_card_entry_to_stripe_checkout_with_the_fee_shown_first(
    page: Any, live_server: Any, card_race: Any, alpha_account: Any, fake_stripe: Any
) -> None:
    stripe_pages: list[str] = []

    def stripe_checkout(route: Any) -> None:
        stripe_pages.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>")

    page.route("https://checkout.stripe.com/**", stripe_checkout)
    page.goto(f"{live_server.url}{card_race.event.get_absolute_url()}enter/{card_race.slug}/")
    price_box = page.locator(".price-box")
    expect(price_box).to_contain_text("40.00 EUR")
    expect(price_box).to_contain_text("service fee of 2.85 EUR")
    for name, value in {
        "email": "rita@example.com", "first_name": "Rita", "last_name": "Runner",
        "birth_date": "1980-05-02", "emergency_name": "Paul", "emergency_phone": "+33 6",
    }.items():  # fmt: skip
        page.fill(f"[name={name}]", value)
    page.select_option("[name=sex]", "F")
    page.select_option("[name=nationality]", "FR")
    page.check("[name=waiver]")
    page.click("form.entry-form button:text('Continue to payment')")
    page.wait_for_url("https://checkout.stripe.com/**")

    entry = Registration.objects.get(email="rita@example.com")
    payment = entry.payments.get()
    assert entry.status == Registration.Status.PENDING
    assert stripe_pages == [payment.checkout_url]
    [call] = fake_stripe.to("/v1/checkout/sessions")
    assert call.params["payment_intent_data[application_fee_amount]"] == "285"
    assert call.params["payment_intent_data[transfer_data][destination]"] == "acct_alpha"
