from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap as DjangoSitemap
from django.db.models import QuerySet
from django.urls import reverse

from events.models import Event, Organizer


class Sitemap(DjangoSitemap):
    """Addresses on ``SITE_URL`` (not the Sites framework's example.com, nor the Host header)."""

    def get_urls(self, page: int | str = 1, site: Any = None, protocol: str | None = None) -> Any:
        base = urlsplit(settings.SITE_URL)
        # Django reads only the site's domain: no Site row is needed for SITE_URL's.
        site_url = SimpleNamespace(domain=base.netloc)
        return super().get_urls(page=page, site=site_url, protocol=base.scheme)  # type: ignore[arg-type]


class EventSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self) -> QuerySet[Event]:
        return Event.objects.listed().only("slug", "updated_at").order_by("pk")

    def lastmod(self, obj: Event):
        return obj.updated_at


class OrganizerSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.5

    def items(self) -> QuerySet[Organizer]:
        return (
            Organizer.objects.filter(events__status=Event.Status.PUBLISHED)
            .distinct()
            .only("slug")
            .order_by("pk")
        )


class StaticSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self) -> list[str]:
        return ["events:home", "events:list"]

    def location(self, item: str) -> str:
        return reverse(item)


SITEMAPS = {"pages": StaticSitemap, "events": EventSitemap, "organizers": OrganizerSitemap}
