"""Money: organizers' Stripe accounts, payments of entries, refunds, and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ConnectedAccount(models.Model):
    """An organizer's Stripe Express account, kept current from ``account.updated``.

    ``disconnected_at`` is set when Stripe no longer knows the account (deleted, or it
    left the platform): it takes no payments, and onboarding starts a new account.
    """

    ORGANIZER_PATH = "organizer"

    organizer = models.OneToOneField(
        "events.Organizer", on_delete=models.CASCADE, related_name="stripe_account"
    )
    stripe_id = models.CharField(max_length=64, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organizer} ({self.stripe_id})"


class Payment(models.Model):
    ORGANIZER_PATH = "registration__race__event__organizer"

    class Method(models.TextChoices):
        FREE = "free", "Free entry"
        ON_SITE = "on_site", "Pay on site"
        STRIPE = "stripe", "Card (Stripe)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        DUE_ON_SITE = "due_on_site", "Due on site"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "part_refunded", "Partially refunded"
        CANCELLED = "cancelled", "Cancelled"

    registration = models.ForeignKey(
        "events.Registration", on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=14, choices=Status.choices)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    platform_fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    refunded_amount = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    stripe_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    stripe_payment_intent = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} ({self.status})"


class Refund(models.Model):
    ORGANIZER_PATH = "payment__registration__race__event__organizer"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    reason = models.CharField(max_length=300)
    reverse_transfer = models.BooleanField(default=True)
    refund_application_fee = models.BooleanField(default=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.payment}"


class WebhookEvent(models.Model):
    """A Stripe event already handled: its id is stored once, so a replay does nothing."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class MoneyLog(models.Model):
    """Audit log: every change of money, who made it and why. Rows are never changed."""

    ORGANIZER_PATH = "organizer"

    organizer = models.ForeignKey(
        "events.Organizer", on_delete=models.PROTECT, related_name="money_log"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="log"
    )
    action = models.CharField(max_length=40)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.amount} {self.currency}"
