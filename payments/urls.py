from __future__ import annotations

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("payments/checkout/<slug:token>/", views.checkout, name="checkout"),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
