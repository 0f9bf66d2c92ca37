"""Structured data for search engines (schema.org SportsEvent)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django_countries.fields import Country

from events.models import Event

_STATUS: dict[str, str] = {
    Event.Status.PUBLISHED: "https://schema.org/EventScheduled",
    Event.Status.CANCELLED: "https://schema.org/EventCancelled",
    Event.Status.DRAFT: "https://schema.org/EventScheduled",
}


def event_json_ld(event: Event) -> dict[str, Any]:
    """JSON-LD for an event page; races become sub-events with their offers."""
    url = f"{settings.SITE_URL}{event.get_absolute_url()}"
    place = {
        "@type": "Place",
        "name": event.place,
        "address": {
            "@type": "PostalAddress",
            "addressLocality": event.place,
            "addressRegion": event.region or None,
            # CountryField gives a Country; the stubs say str.
            "addressCountry": cast(Country, event.country).code,
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": event.latitude,
            "longitude": event.longitude,
        },
    }
    organizer = {
        "@type": "Organization",
        "name": event.organizer.name,
        "url": f"{settings.SITE_URL}{event.organizer.get_absolute_url()}",
    }
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "SportsEvent",
        "name": event.name,
        "url": url,
        "sport": event.get_sport_display(),
        "description": event.summary or event.description[:300] or event.name,
        "startDate": event.start_date.isoformat(),
        "endDate": event.end_date.isoformat(),
        "eventStatus": _STATUS[event.status],
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": place,
        "organizer": organizer,
    }
    if event.cover_image:
        data["image"] = f"{settings.SITE_URL}{event.cover_image.url}"
    races = list(event.races.all())
    if races:
        data["offers"] = [
            {
                "@type": "Offer",
                "name": race.name,
                "price": f"{race.entry_fee:.2f}",
                "priceCurrency": event.currency,
                "url": f"{url}#race-{race.slug}",
                "availability": "https://schema.org/InStock",
            }
            for race in races
        ]
        data["subEvent"] = [
            {
                "@type": "SportsEvent",
                "name": f"{event.name}: {race.name}",
                "startDate": race.start_time.astimezone(event.local_tz).isoformat(),
                "location": place,
                "url": f"{url}#race-{race.slug}",
            }
            for race in races
        ]
    return data
