"""Payments of entries: one row per attempt to pay a registration."""

from __future__ import annotations

from django.db import models


class Payment(models.Model):
    ORGANIZER_PATH = "registration__race__event__organizer"

    class Method(models.TextChoices):
        FREE = "free", "Free entry"
        ON_SITE = "on_site", "Pay on site"

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        DUE_ON_SITE = "due_on_site", "Due on site"
        CANCELLED = "cancelled", "Cancelled"

    registration = models.ForeignKey(
        "events.Registration", on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} ({self.status})"
