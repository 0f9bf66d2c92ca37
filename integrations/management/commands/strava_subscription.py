"""The application's one Strava webhook subscription: create, show or delete it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from integrations.models import StravaSubscription
from integrations.strava.client import StravaClient, StravaError
from integrations.strava.quota import QuotaSpentError


class Command(BaseCommand):
    help = "Create, show or delete Pace's Strava webhook subscription."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "show", "delete"])
        parser.add_argument("--callback-url", help="default: SITE_URL + the webhook's path")

    def handle(self, *args: Any, action: str, callback_url: str | None, **options: Any) -> None:
        if not settings.STRAVA_ENABLED:
            raise CommandError("Set STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET first.")
        client = StravaClient()
        try:
            getattr(self, f"_{action}")(client, callback_url)
        except (StravaError, QuotaSpentError) as exc:
            raise CommandError(f"Strava: {exc}") from exc

    def _create(self, client: StravaClient, callback_url: str | None) -> None:
        if not settings.STRAVA_WEBHOOK_VERIFY_TOKEN:
            raise CommandError("Set STRAVA_WEBHOOK_VERIFY_TOKEN first (any random string).")
        url = callback_url or settings.SITE_URL + reverse("integrations:strava_webhook")
        # Strava calls the URL's GET handshake before it answers: Pace must be serving.
        body = client.create_subscription(
            callback_url=url, verify_token=settings.STRAVA_WEBHOOK_VERIFY_TOKEN
        )
        StravaSubscription.objects.update_or_create(
            subscription_id=int(body["id"]), defaults={"callback_url": url}
        )
        self.stdout.write(f"Subscription {body['id']} created for {url}")

    def _show(self, client: StravaClient, callback_url: str | None) -> None:
        subscriptions = client.subscriptions()
        for sub in subscriptions:
            known = StravaSubscription.objects.filter(subscription_id=int(sub["id"])).exists()
            self.stdout.write(
                f"{sub.get('id')} {sub.get('callback_url')}"
                + ("" if known else " (not recorded here: events would be refused)")
            )
        if not subscriptions:
            self.stdout.write("No subscription.")

    def _delete(self, client: StravaClient, callback_url: str | None) -> None:
        for sub in client.subscriptions():
            client.delete_subscription(int(sub["id"]))
            self.stdout.write(f"Subscription {sub['id']} deleted")
        StravaSubscription.objects.all().delete()
