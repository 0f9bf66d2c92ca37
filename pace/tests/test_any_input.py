"""No 500 on any input (issue 17): every URL Django's resolver knows, any request.

The safety net over the whole site: the resolver is walked (public pages, .ics, sitemap,
robots, health, allauth, entry/checkout/transfer tokens, tracking pages, the admin with its
custom views) and each route is requested with its converters filled by real slugs and ids
and by hostile ones (ints past bigint, negative, NUL, ``%00``, invalid UTF-8, unicode, very
long), hostile query strings (NUL, huge pages, repeated keys, impossible dates) and bodies
(random forms, invalid JSON, wrong content types), as an anonymous visitor, an athlete and
an organizer owner. Every answer must be below 500; a 400 must say why.

Endpoints with their own property tests (OsmAnd, the Stripe webhook, the entry form, GPX
upload, the live sockets) are still requested here: a 500 there is a regression too.
Runs on SQLite and PostgreSQL: NUL bytes and out-of-range integers only fail on the latter.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Race, Registration, WaitlistEntry
from payments.models import Payment

pytestmark = pytest.mark.django_db

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


def _seed(alpha_event: Any, bravo_event: Any, dave: Any) -> Pools:
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


@pytest.fixture
def world(alpha_event: Any, bravo_event: Any, alice: Any, dave: Any, settings: Any) -> Any:
    # The limits have their own tests; here every request must reach the view behind them.
    settings.RATE_LIMITS = {}
    pools = _seed(alpha_event, bravo_event, dave)
    users = {"anonymous": None, "athlete": dave, "organizer": alice}
    return pools, users


def _request(users: dict[str, Any], persona: str, method: str, path: str, **kw: Any) -> Any:
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


def _check(response: Any, label: str) -> str | None:
    if response.status_code >= 500:
        return f"{label}: {response.status_code}"
    head = response.request["REQUEST_METHOD"] == "HEAD"  # answered without a body by design
    if response.status_code == 400 and not head and not response.content.strip():
        return f"{label}: 400 without a reason"
    return None


def _sweep(route: Route, pools: Pools) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The requests every route gets: real values, the worst values, hostile query and form."""
    path = route.fill(lambda kind: pools.ints[0] if kind == "int" else pools.slugs[0])
    yield "GET", path, {}
    if any(kind for _, kind in route.parts):
        worst = {"int": str(2**63), "slug": "x" * 3000}  # a slug never matches a NUL
        yield "GET", route.fill(lambda kind: worst.get(kind, "a%00b")), {}
    yield "GET", path + "?" + "&".join(f"{k}=%00&{k}={10**20}" for k in QUERY_KEYS), {}
    yield "GET", path + "?" + "&".join(f"{k}=%C2%B2" for k in QUERY_KEYS), {}
    form = "&".join(f"{k}=a%00b" for k in BODY_KEYS)
    yield "POST", path, {"content_type": "application/x-www-form-urlencoded", "data": form}


def test_it_answers_every_route_below_500_with_real_and_hostile_values(world: Any) -> None:
    """Deterministic sweep: each route, each persona, real values then the worst ones."""
    pools, users = world
    failures = []
    for route in ROUTES:
        for persona in PERSONAS:
            requests = list(_sweep(route, pools))
            if persona != "organizer" and route.in_admin:
                requests = requests[:1]  # sent to the login page before any value is read
            for method, path, kwargs in requests:
                try:
                    response = _request(users, persona, method, path, **kwargs)
                    failure = _check(response, f"{method} {path[:200]} as {persona}")
                except AssertionError as exc:
                    failure = str(exc)
                if failure:
                    failures.append(failure[:400])
    assert not failures, "\n".join(failures)


def test_it_answers_real_objects_pages_below_500_with_hostile_queries_and_forms(
    world: Any,
) -> None:
    """The sweep's made-up slugs mostly stop at a 404: these reach the views behind them."""
    pools, users = world
    form = "application/x-www-form-urlencoded"
    failures = _failures(
        request
        for page in pools.pages
        for persona in PERSONAS
        for request in [
            ("GET", page + "?" + _form(QUERY_KEYS, "a%00b"), {}, users, persona),
            (
                "POST",
                page,
                {"content_type": form, "data": _form(BODY_KEYS, "a%00b")},
                users,
                persona,
            ),
            (
                "POST",
                page,
                {"content_type": form, "data": _form(BODY_KEYS, "9" * 20)},
                users,
                persona,
            ),
        ]
    )
    assert not failures, "\n".join(failures)


def _form(keys: list[str], value: str) -> str:
    return "&".join(f"{k}={value}" for k in keys)


def test_it_refuses_a_non_key_in_an_autocomplete_field_with_a_form_error(
    world: Any, client: Client, alice: Any
) -> None:
    """The admin re-rendered the posted race's event in its autocomplete with a query."""
    client.force_login(alice)
    for bad in ["a\x00b", str(10**30), "alpha-marathon", "-1"]:
        response = client.post("/admin/events/race/add/", {"event": bad, "name": "10K"})
        assert response.status_code == 200
        assert "event" in response.context["adminform"].form.errors


def test_it_lists_any_bib_an_organizer_types(world: Any, client: Client, alice: Any) -> None:
    """Start lists put numbered bibs first by number: '²' passed ``isdigit`` and broke int()."""
    race = Race.objects.get(slug="marathon")
    for entry, bib in zip(race.registrations.all(), ["²", "٣", "12"], strict=True):
        Registration.objects.filter(pk=entry.pk).update(bib=bib)
    client.force_login(alice)
    response = client.get(f"/admin/events/registration/start-list/{race.pk}/")
    assert response.status_code == 200
    assert "²" in response.content.decode()


def _hostile_filters(model: type[models.Model]) -> Iterator[str]:
    """Query strings filtering each local field of a change list by what cannot be run."""
    for f in model._meta.concrete_fields:
        yield f"{f.name}=a%00b"
        if isinstance(f, models.DateField | models.DateTimeField):
            yield f"{f.name}__year=-1"
            yield f"{f.name}__year={10**20}"
        elif isinstance(f, models.IntegerField | models.ForeignKey):
            yield f"{f.name}={10**20}&{f.name}__in=1,a%00b"


@pytest.fixture
def admins(world: Any, iris: Any) -> Any:
    """Each registered admin's change list with who may open it: organizers theirs, the
    platform's superuser other apps' (users, sites, e-mail addresses, beat schedules)."""
    _, users = world
    iris.is_superuser = True
    iris.save(update_fields=["is_superuser"])
    users = {**users, "staff": iris}
    return [
        (model, f"/admin/{model._meta.app_label}/{model._meta.model_name}/", persona, users)
        for model in admin.site._registry
        for persona in ["organizer" if hasattr(model, "ORGANIZER_PATH") else "staff"]
    ]


def _failures(requests: Iterator[tuple[str, str, dict[str, Any], Any, str]]) -> list[str]:
    failures = []
    for method, path, kwargs, users, persona in requests:
        try:
            response = _request(users, persona, method, path, **kwargs)
            failure = _check(response, f"{method} {path} {kwargs} as {persona}")
        except AssertionError as exc:
            failure = str(exc)
        if failure:
            failures.append(failure[:400])
    return failures


def test_it_refuses_change_list_filters_it_cannot_run(admins: Any) -> None:
    """Any local field may be filtered from the URL: a NUL, a year out of range, a year past
    the C long only failed once the page ran the query (a 500 instead of Django's ``?e=1``)."""
    failures = _failures(
        ("GET", f"{path}?{query}", {}, users, persona)
        for model, path, persona, users in admins
        for query in _hostile_filters(model)
    )
    assert not failures, "\n".join(failures)


def test_it_refuses_actions_on_ids_that_cannot_be_keys(admins: Any) -> None:
    """Django runs an action on ``pk__in`` whatever was posted as ``_selected_action``."""
    form = "application/x-www-form-urlencoded"
    failures = _failures(
        ("POST", path, {"content_type": form, "data": f"action=delete_selected&index=0&{sel}"},
         users, persona)
        for _, path, persona, users in admins
        for sel in ["_selected_action=a%00b", f"_selected_action={10**20}&_selected_action=1",
                    "_selected_action=x&post=yes", "_selected_action=None"]
    )  # fmt: skip
    assert not failures, "\n".join(failures)


@st.composite
def _requests(draw: Any, pools: Pools) -> tuple[str, str, str, dict[str, Any]]:
    # Half the examples go to the public site, which the admin's many routes would drown.
    route = draw(st.sampled_from(ROUTES) | st.sampled_from(PUBLIC_ROUTES))

    def value_for(kind: str) -> str:
        real = pools.ints if kind == "int" else pools.slugs
        hostile = HOSTILE_INTS if kind == "int" else HOSTILE_TEXT + HOSTILE_INTS
        return draw(st.one_of(st.sampled_from(real), st.sampled_from(hostile)))

    path = route.fill(value_for) if draw(st.booleans()) else draw(st.sampled_from(pools.pages))
    keys = st.one_of(st.sampled_from(QUERY_KEYS), st.sampled_from(HOSTILE_TEXT))
    values = st.sampled_from(HOSTILE_INTS + HOSTILE_TEXT + HOSTILE_DATES + pools.slugs)
    query = draw(st.lists(st.tuples(keys, values), max_size=4))
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query)
    persona = draw(st.sampled_from(PERSONAS))
    method = draw(st.sampled_from(["GET", "POST", "POST", "HEAD", "PUT", "DELETE"]))
    kwargs: dict[str, Any] = {}
    if method == "POST":
        form = st.dictionaries(
            st.sampled_from(BODY_KEYS),
            st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_INTS + HOSTILE_DATES)),
            max_size=6,
        )
        body = draw(st.one_of(st.sampled_from(BAD_BODIES), form))
        if isinstance(body, tuple):
            kwargs = {"content_type": body[0], "data": body[1].encode("utf-8", "surrogatepass")}
        else:
            encoded = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in body.items())
            kwargs = {"content_type": "application/x-www-form-urlencoded", "data": encoded}
    return persona, method, path, kwargs


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_it_answers_any_request_below_500(world: Any, data: Any) -> None:
    pools, users = world
    persona, method, path, kwargs = data.draw(_requests(pools))
    response = _request(users, persona, method, path, **kwargs)
    assert not _check(response, f"{method} {path[:300]} as {persona} {kwargs}")
