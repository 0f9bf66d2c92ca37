"""The back office's refund form."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django import forms

from payments.models import Payment
from payments.refunds import refundable


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))
    refund_application_fee = forms.BooleanField(
        required=False, initial=True, label="Give back the platform fee in proportion"
    )
    reverse_transfer = forms.BooleanField(
        required=False,
        initial=True,
        label="Take the refund back from the organizer's Stripe balance (reverse the transfer)",
        help_text="Only platform staff may refund at the platform's expense.",
    )
    # One key per form shown: submitting it twice asks Stripe for the same refund twice.
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, payment: Payment, staff: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].initial = refundable(payment)
        self.fields["amount"].help_text = f"In {payment.currency}."
        self.fields["key"].initial = secrets.token_urlsafe(16)
        if payment.method != Payment.Method.STRIPE:
            del self.fields["reverse_transfer"], self.fields["refund_application_fee"]
        elif not staff:
            self.fields["reverse_transfer"].disabled = True

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        left = refundable(self.payment)
        if amount > left:
            raise forms.ValidationError(f"At most {left} {self.payment.currency} can be refunded.")
        return amount
