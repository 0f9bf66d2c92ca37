"""Series standings and stage race classifications in the sitemap."""

from __future__ import annotations

from django.urls import reverse

from events.models import Event
from events.sitemaps import Sitemap
from results.models import Series, StageRace


class StandingsSitemap(Sitemap):
    """Public series' standings and the classifications of listed stage races."""

    changefreq = "weekly"
    priority = 0.5

    def items(self) -> list[Series | StageRace]:
        series = Series.objects.filter(is_public=True).only("slug").order_by("pk")
        listed = Event.objects.listed()
        stage_races = (
            StageRace.objects.filter(event__in=listed)
            .select_related("event")
            .only("event__slug")
            .order_by("pk")
        )
        return [*series, *stage_races]

    def location(self, item: Series | StageRace) -> str:
        if isinstance(item, Series):
            return reverse("results:series", args=[item.slug])
        return reverse("results:stage_race", args=[item.event.slug])
