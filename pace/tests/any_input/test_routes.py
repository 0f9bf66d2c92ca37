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

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Race, Registration
from pace.tests.any_input.inputs import (
    BAD_BODIES,
    BODY_KEYS,
    HOSTILE_DATES,
    HOSTILE_INTS,
    HOSTILE_TEXT,
    PERSONAS,
    PUBLIC_ROUTES,
    QUERY_KEYS,
    ROUTES,
    Pools,
    Route,
    failure_of,
    failures_of,
    request_once,
)

pytestmark = pytest.mark.django_db


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
    failures = failures_of(
        (method, path, kwargs, users, persona)
        for route in ROUTES
        for persona in PERSONAS
        for method, path, kwargs in _sweep_as(route, pools, persona)
    )
    assert not failures, "\n".join(failures)


def _sweep_as(route: Route, pools: Pools, persona: str) -> list[tuple[str, str, dict[str, Any]]]:
    requests = list(_sweep(route, pools))
    if persona != "organizer" and route.in_admin:
        return requests[:1]  # sent to the login page before any value is read
    return requests


def test_it_answers_real_objects_pages_below_500_with_hostile_queries_and_forms(
    world: Any,
) -> None:
    """The sweep's made-up slugs mostly stop at a 404: these reach the views behind them."""
    pools, users = world
    form = "application/x-www-form-urlencoded"
    failures = failures_of(
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
    response = request_once(users, persona, method, path, **kwargs)
    assert not failure_of(response, f"{method} {path[:300]} as {persona} {kwargs}")
