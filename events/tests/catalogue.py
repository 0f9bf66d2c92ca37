"""Events of two organizers in every state the public pages treat apart, and the list
page's view of them."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from events.models import Event
from events.tests.factories import make_course, make_event, make_race


def make_catalogue(
    alpha: Any, alpha_event: Event, bravo: Any, bravo_event: Event
) -> dict[str, Event]:
    """Published, cancelled, past and draft events of two organizers, with races."""
    fondo = make_event(alpha, "Lyon Gran Fondo", sport="cycling", days_ahead=60, place="Lyon")
    make_race(fondo, "Grand parcours", distance_m=120_000)
    past = make_event(alpha, "Past Run", days_ahead=-30)
    make_race(past, "10K")
    draft = make_event(alpha, "Alpha Secret", status=Event.Status.DRAFT)
    make_race(draft, "Secret 5K", distance_m=5000, course=make_course(alpha, distance_m=5000))
    cancelled = make_event(bravo, "Bravo Off", status=Event.Status.CANCELLED, days_ahead=45)
    make_race(cancelled, "5K", distance_m=5000)
    return {
        "marathon": alpha_event, "trail": bravo_event, "fondo": fondo, "past": past,
        "draft": draft, "cancelled": cancelled,
    }  # fmt: skip


def listed(client: Client, **params: Any) -> list[str]:
    """The names of the events the public list shows for ``params``."""
    response = client.get(reverse("events:list"), params)
    assert response.status_code == 200
    return [event.name for event in response.context["page"].object_list]
