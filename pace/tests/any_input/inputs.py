"""What the any-input tests send: hostile values, every route the resolver knows with its
converters, the real slugs and ids that fill them, and one request rolled back after it."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.apps import apps
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from events.models import Race, Registration, WaitlistEntry
from payments.models import Payment

# Values a path segment or query value can carry, already percent-encoded where they need
# to be: each has broken some Django site (PostgreSQL refuses NUL and ints past bigint).
HOSTILE_INTS = ["0", "-1", "2147483648", str(2**63 - 1), str(2**63), str(10**30), "9" * 400]
HOSTILE_TEXT = [
    "%00", "a%00b", "%ff%fe", "%C3%A9t%C3%A9", "%F0%9F%8F%83", "x" * 3000, "..%2F..%2Fetc",
    "%3Cscript%3E", "'%20OR%201%3D1", "%E2%80%AE", "%20", "nope", "-", "_", "1e999", "nan",
    "%D9%A3",  # an Arabic-Indic digit: int() takes it, the database does not
    "%C2%B2",  # a superscript two: str.isdigit() takes it, int() does not
]  # fmt: skip
HOSTILE_DATES = ["2026-13-45", "0000-00-00", "99999-01-01", "2026-02-30", "-1", "now"]
QUERY_KEYS = [
    "page", "p", "q", "o", "e", "format", "sport", "country", "date_from", "date_to",
    "distance", "month", "next", "token", "race", "event", "all", "_popup", "_to_field",
    "_changelist_filters", "id__exact", "status__exact", "race__id__exact",
    "race__event__id__exact", "created_at__gte", "lat", "lon", "key", "code", "offer",
    "created_at__year", "start_date__year", "country", "app_label", "model_name",
    "field_name", "term",
]  # fmt: skip
BODY_KEYS = [
    "email", "first_name", "last_name", "birth_date", "sex", "nationality", "waiver", "code",
    "name", "password", "password1", "password2", "login", "remember", "action", "post",
    "_selected_action", "subject", "body", "reason", "amount", "device_id", "id", "lat",
    "lon", "timestamp", "race", "event", "status", "offer_token", "csrfmiddlewaretoken",
]  # fmt: skip
BAD_BODIES = [
    ("application/json", "{"),
    ("application/json", '{"a": 1e999, "b": [[[[[[[[[[]]]]]]]]]]}'),
    ("application/json", '{"id": 99999999999999999999999999, "lat": "\\u0000"}'),
    ("application/json", "[]"),
    ("application/json", "\xff\xfe"),
    ("text/plain", "\x00\x01\x02"),
    ("application/xml", "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>"),
    ("multipart/form-data; boundary=x", "--x\r\nnot a part\r\n"),
    ("multipart/form-data", "no boundary"),
    ("application/x-www-form-urlencoded", "a=%00&a=%ff&=&&b"),
]
PERSONAS = ["anonymous", "athlete", "organizer"]
_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    """One URL pattern with its segments as ``(literal, converter kind or None)``."""

    name: str
    parts: tuple[tuple[str, str | None], ...]

    @property
    def in_admin(self) -> bool:
        return bool(self.parts) and self.parts[0][0] == "admin/"

    def fill(self, value_for: Any) -> str:
        return "/" + "".join(value_for(kind) if kind else text for text, kind in self.parts)


@dataclass
class Pools:
    """Real values from the seeded database, so slugs, tokens and ids resolve."""

    ints: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    # Pages of real objects (an event, its race, an entry's token): the views behind them.
    pages: list[str] = field(default_factory=list)


def _split(pattern: Any) -> list[tuple[str, str | None]]:
    if isinstance(pattern, RoutePattern):
        route, regex = str(pattern), _CONVERTER  # str() is its route
    elif isinstance(pattern, RegexPattern):
        route, regex = str(pattern).lstrip("^").rstrip("$"), _GROUP  # str() is its regex
    else:  # pragma: no cover - Django has only these two
        raise TypeError(pattern)
    parts: list[tuple[str, str | None]] = []
    at = 0
    for match in regex.finditer(route):
        parts.append((route[at : match.start()], None))
        kind = match.groupdict().get("kind") if regex is _CONVERTER else "regex"
        parts.append(("", kind or "str"))
        at = match.end()
    parts.append((route[at:].replace("\\", ""), None))
    return [(text, kind) for text, kind in parts if text or kind]


def _walk(patterns: list[Any], prefix: tuple[tuple[str, str | None], ...]) -> Iterator[Route]:
    for pattern in patterns:
        parts = prefix + tuple(_split(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, parts)
        elif isinstance(pattern, URLPattern):
            yield Route(name=pattern.name or "".join(t for t, _ in parts), parts=parts)


ROUTES = sorted(set(_walk(get_resolver().url_patterns, ())), key=lambda r: r.name)
PUBLIC_ROUTES = [r for r in ROUTES if not r.in_admin]


def _real_values() -> Pools:
    """Every primary key and every slug, token or key stored by the project's apps."""
    pools = Pools()
    for model in apps.get_models():
        if model._meta.app_label not in {"events", "tracking", "payments", "auth", "account"}:
            continue
        pools.ints += [str(pk) for pk in model._default_manager.values_list("pk", flat=True)[:5]]
        for f in model._meta.concrete_fields:
            if isinstance(f, models.CharField) and re.search("slug|token|key", f.name):
                values = model._default_manager.exclude(**{f.name: ""}).exclude(**{f.name: None})
                pools.slugs += [quote(v) for v in values.values_list(f.name, flat=True)[:5]]
    return pools


def _entries(race: Race, count: int) -> None:
    """Confirmed entries with bibs and manage tokens, each owing its fee on site."""
    for n in range(1, count + 1):
        entry = Registration.objects.create(
            race=race, event=race.event, status=Registration.Status.CONFIRMED,
            email=f"athlete{n}@example.com", first_name="Athlete", last_name=str(n),
            birth_date=dt.date(1985, 5, 2), sex="F", nationality="FR", emergency_name="E",
            emergency_phone="+33 6 00 00 00 00", bib=str(n), list_price=race.entry_fee,
            price=race.entry_fee, currency=race.event.currency, payment_method="on_site",
            waiver_accepted_at=timezone.now(), manage_token=secrets.token_urlsafe(32),
        )  # fmt: skip
        Payment.objects.create(
            registration=entry, method=Payment.Method.ON_SITE, amount=entry.price,
            currency=entry.currency, status=Payment.Status.DUE_ON_SITE,
        )  # fmt: skip


def seed(alpha_event: Any, bravo_event: Any, dave: Any) -> Pools:
    race = alpha_event.races.get()
    _entries(race, 3)
    _entries(bravo_event.races.get(), 2)
    entry = race.registrations.first()
    entry.user = dave
    entry.save(update_fields=["user"])
    WaitlistEntry.objects.create(
        race=race, email="w@example.com", name="W", status="offered", offer_token="offer-tok"
    )
    pools = _real_values()
    event, token = alpha_event.slug, entry.manage_token
    pools.pages = [
        f"/events/{event}/",
        f"/events/{event}/calendar.ics",
        f"/events/{event}/enter/{race.slug}/",
        f"/events/{event}/waitlist/{race.slug}/",
        f"/entries/{token}/",
        f"/entries/{token}/cancel/",
        f"/entries/{token}/transfer/",
        f"/entries/{token}/confirm/{token}/",
        f"/live/{event}/{race.slug}/",
        f"/payments/checkout/{token}/",
        f"/organizers/{alpha_event.organizer.slug}/",
        f"/courses/{race.course_id}/",
        f"/admin/events/registration/start-list/{race.pk}/",
        f"/admin/events/registration/email/{race.pk}/",
        f"/admin/events/event/{alpha_event.pk}/change/",
        f"/admin/payments/connectedaccount/onboard/{alpha_event.organizer_id}/",
    ]
    return pools


def request_once(users: dict[str, Any], persona: str, method: str, path: str, **kw: Any) -> Any:
    """One request in a savepoint rolled back after it: every example sees the seed."""
    client = Client()
    if users[persona] is not None:
        client.force_login(users[persona])
    with transaction.atomic():
        try:
            response = client.generic(method, path, **kw)
        except Exception as exc:  # the test client re-raises what the handler logged as 500
            raise AssertionError(f"{method} {path[:300]} as {persona}: {exc!r}") from exc
        finally:
            transaction.set_rollback(True)
    return response


def failure_of(response: Any, label: str) -> str | None:
    if response.status_code >= 500:
        return f"{label}: {response.status_code}"
    head = response.request["REQUEST_METHOD"] == "HEAD"  # answered without a body by design
    if response.status_code == 400 and not head and not response.content.strip():
        return f"{label}: 400 without a reason"
    return None


def failures_of(requests: Iterator[tuple[str, str, dict[str, Any], Any, str]]) -> list[str]:
    """What went wrong, one line each, for requests (method, path, kwargs, users, persona)."""
    failures = []
    for method, path, kwargs, users, persona in requests:
        try:
            response = request_once(users, persona, method, path, **kwargs)
            failure = failure_of(response, f"{method} {path} {kwargs} as {persona}")
        except AssertionError as exc:
            failure = str(exc)
        if failure:
            failures.append(failure[:400])
    return failures
