"""``/live/EVENT/RACE/field.json`` and ``roster.json``: the live page's whole field and
roster over HTTP, read from the live store, compressed, shared, limited, and as private
as the page."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import brotli
import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Event, Race
from pace.lib.jsonfast import dumps
from pace.lib.testing import FakeClock
from tracking.familylinks import family_link_create
from tracking.live.livestore import TickerMemory, live_store
from tracking.sim.testrace import load_test_race_create
from tracking.web import livefield

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The shelves and the published races' memo, empty and on a clock the test moves."""
    fake = FakeClock()
    for shelf in (livefield.fields, livefield.rosters):
        monkeypatch.setattr(shelf, "clock", fake)
        shelf.clear()
    monkeypatch.setattr(livefield.published, "clock", fake)
    livefield.published.items.clear()
    yield fake
    livefield.fields.clear()
    livefield.rosters.clear()
    livefield.published.items.clear()


@pytest.fixture
def race() -> Race:
    data = load_test_race_create(athletes=4)
    return Race.objects.select_related("event").get(pk=data["race_id"])


def url(race: Race, name: str) -> str:
    return f"/live/{race.event.slug}/{race.slug}/{name}.json"


def entry(athlete: int, distance: int) -> list[Any]:
    return [athlete, 45.5 + distance / 1e5, 6.1, distance, "racing", 1, 300, 0, 3000, 0]


def tick(race: Race, seq: int, entries: list[list[Any]]) -> None:
    """What the race's ticker writes to the live store on a tick."""
    meta = {"seq": seq, "t": 1000.0 + seq, "leaders": [], "race": {}}
    field = [(e[0], dumps(e)) for e in entries]
    async_to_sync(live_store().write_tick)(
        race.pk, meta=meta, changed=[], field=field, ticker=TickerMemory(seq=seq)
    )


@pytest.fixture(autouse=True)
def _forget(race: Race) -> Iterator[None]:
    yield
    async_to_sync(live_store().forget)(race.pk)


def decoded(response: Any) -> Any:
    body = response.content
    encoding = response.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        body = brotli.decompress(body)
    else:
        assert encoding is None
    return json.loads(body)


def ids(race: Race) -> list[int]:
    return list(race.registrations.order_by("pk").values_list("pk", flat=True))


def test_it_serves_every_athletes_compact_entry_at_the_latest_tick(client: Client, race: Race):
    a, b, c, d = ids(race)
    tick(race, 1, [entry(d, 10), entry(a, 20), entry(b, 30)])
    tick(race, 2, [entry(c, 5), entry(a, 25)])
    response = client.get(url(race, "field"), HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert response["Cache-Control"] == "public, max-age=2"
    # By athlete id; each athlete's latest entry.
    assert decoded(response) == {
        "seq": 2,
        "t": 1002.0,
        "field": [entry(a, 25), entry(b, 30), entry(c, 5), entry(d, 10)],
    }


def test_it_answers_in_brotli_gzip_or_plain_as_the_client_accepts(client: Client, race: Race):
    tick(race, 1, [entry(i, 100 * i) for i in ids(race)])
    br = client.get(url(race, "field"), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    gz = client.get(url(race, "field"), HTTP_ACCEPT_ENCODING="gzip")
    plain = client.get(url(race, "field"))
    assert (br["Content-Encoding"], gz["Content-Encoding"]) == ("br", "gzip")
    assert not plain.has_header("Content-Encoding")
    assert decoded(br) == decoded(gz) == decoded(plain)
    assert len(br.content) < len(plain.content) and len(gz.content) < len(plain.content)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(accept=st.text(max_size=60))
def test_any_accept_encoding_gets_the_same_field(client: Client, race: Race, accept: str):
    tick(race, 3, [entry(i, 7) for i in ids(race)])
    response = client.get(url(race, "field"), HTTP_ACCEPT_ENCODING=accept)
    assert response.status_code == 200
    assert decoded(response)["seq"] == 3


def test_before_the_first_tick_the_field_is_empty(client: Client, race: Race):
    response = client.get(url(race, "field"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"seq": 0, "t": None, "field": []}


def test_one_build_serves_everyone_for_two_seconds_without_a_query(
    client: Client, race: Race, clock: FakeClock, django_assert_num_queries: Any
):
    a = ids(race)[0]
    tick(race, 1, [entry(a, 10)])
    with django_assert_num_queries(1):  # the race's address, once
        first = client.get(url(race, "field"))
    tick(race, 2, [entry(a, 20)])
    with django_assert_num_queries(0):
        assert json.loads(client.get(url(race, "field")).content) == json.loads(first.content)
    clock.elapsed += livefield.FIELD_SECONDS
    with django_assert_num_queries(0):  # the race is remembered; the field is read again
        assert json.loads(client.get(url(race, "field")).content)["seq"] == 2


def test_a_client_holding_the_field_gets_a_304(client: Client, race: Race, clock: FakeClock):
    tick(race, 1, [entry(ids(race)[0], 10)])
    etag = client.get(url(race, "field"))["ETag"]
    clock.elapsed += livefield.FIELD_SECONDS
    held = client.get(url(race, "field"), HTTP_IF_NONE_MATCH=etag)
    assert held.status_code == 304 and held.content == b""
    tick(race, 2, [entry(ids(race)[0], 20)])
    clock.elapsed += livefield.FIELD_SECONDS
    fresh = client.get(url(race, "field"), HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag


def test_the_roster_names_every_confirmed_athlete(client: Client, race: Race):
    response = client.get(url(race, "roster"), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == f"public, max-age={int(livefield.ROSTER_SECONDS)}"
    rows = decoded(response)["roster"]
    registrations = race.registrations.order_by("pk")
    assert [r[0] for r in rows] == [r.pk for r in registrations]
    assert [(r[1], r[2], r[4]) for r in rows] == [(r.bib, r.name, r.sex) for r in registrations]
    etag = response["ETag"]
    assert client.get(url(race, "roster"), HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize("name", ["field", "roster"])
def test_a_private_race_is_served_as_its_page_is(
    client: Client, race: Race, name: str, iris: Any, dave: Any
):
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    assert client.get(url(race, name)).status_code == 404
    visitor = Client()
    visitor.force_login(dave)  # not the organizer's
    assert visitor.get(url(race, name)).status_code == 404
    # Its family link's holder, and platform staff (as the organizer's members).
    _link, token = family_link_create(
        registration=race.registrations.order_by("pk")[0], duration="24h"
    )
    held = client.get(url(race, name), {"family": token})
    assert held.status_code == 200 and held["Cache-Control"].startswith("private")
    assert client.get(url(race, name), {"family": token + "x"}).status_code == 404
    assert client.get(url(race, name), {"family": ""}).status_code == 404
    staff = Client()
    staff.force_login(iris)
    assert staff.get(url(race, name)).status_code == 200


def test_unpublishing_a_race_hides_its_field_within_seconds(
    client: Client, race: Race, clock: FakeClock
):
    assert client.get(url(race, "field")).status_code == 200
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    clock.elapsed += livefield.PUBLISHED_SECONDS
    assert client.get(url(race, "field")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/live/nope/10k/field.json",
        "/live/{event}/nope/field.json",
        "/live/{event}/nope/roster.json",
        "/live/{event}/{race}/field.json/",
        "/live/{event}/{race}/fields.json",
        "/live/{event}/%00/field.json",
    ],
)
def test_unknown_races_and_addresses_are_404(client: Client, race: Race, path: str):
    response = client.get(path.format(event=race.event.slug, race=race.slug))
    assert response.status_code == 404


def test_only_get_is_allowed(client: Client, race: Race):
    assert client.post(url(race, "field")).status_code == 405
    assert client.put(url(race, "roster")).status_code == 405


def test_it_limits_each_ip(client: Client, race: Race, settings: Any):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "live.field.ip": "3/m"}
    statuses = [client.get(url(race, name)).status_code for name in ("field", "roster") * 2]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(url(race, "field"))
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0 and "error" in limited.json()
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.get(url(race, "field")).status_code == 200


def test_the_live_page_fetches_its_field_and_roster_beside_a_lean_socket(
    client: Client, race: Race
):
    page = client.get(f"/live/{race.event.slug}/{race.slug}/")
    config = page.context["config"]
    assert "roster" not in config  # a 5,000-athlete race's was 48 KB gzipped in the page
    assert config["ws"] == f"/ws/live/{race.pk}/?field=later"
    assert config["field_url"] == url(race, "field")
    assert config["roster_url"] == url(race, "roster")
    assert "leaflet.js" in config["leaflet"][0]
    head = page.content.decode().split('id="live-config"')[0]
    assert "leaflet.js" not in head  # fetched once the board is live, not with the page
    assert f"/ws/live/{race.pk}/?field\\u003Dlater" in head  # the early socket, lean too


# --- The page fast path answers a public race's documents from memory (pace/asgi.py) ---

HOST = "pace.example"


@pytest.fixture
def fast(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from django.core.handlers.asgi import ASGIHandler

    from pace.daphne_patches.fastpath import PageFastPath
    from pace.lib.ratelimits import LocalWindow

    settings.ALLOWED_HOSTS = [HOST]
    monkeypatch.setattr(livefield, "fast_limit", LocalWindow("live.field.ip"))
    return PageFastPath(ASGIHandler(), answers=[livefield.shared_document_answer])


def fetch(app: Any, path: str, *headers: tuple[bytes, bytes]) -> Any:
    from pace.lib.testing import asgi_fetch

    return asgi_fetch(app, path, host=HOST.encode(), headers=headers)


@pytest.mark.parametrize("name", ["field", "roster"])
@pytest.mark.parametrize("accept", [b"gzip, deflate, br", b"gzip", b""])
def test_a_public_races_documents_come_from_memory_as_the_view_gives_them(
    race: Race, fast: Any, name: str, accept: bytes
):
    tick(race, 1, [entry(i, 100 * i) for i in ids(race)])
    by_view = fetch(fast, url(race, name), (b"accept-encoding", accept))
    assert by_view.by_django and by_view.status == 200  # built, and the race remembered
    from_memory = fetch(fast, url(race, name), (b"accept-encoding", accept))
    assert not from_memory.by_django
    assert from_memory.same_as(by_view)
    assert {"etag", "vary", "cache-control", "x-content-type-options"} <= from_memory.header_names
    etag = (b"if-none-match", from_memory.header("ETag").encode())
    held = fetch(fast, url(race, name), etag)
    assert (held.status, held.body, held.by_django) == (304, b"", False)


def test_a_field_older_than_its_seconds_is_rebuilt_by_the_view(
    race: Race, fast: Any, clock: FakeClock
):
    a = ids(race)[0]
    tick(race, 1, [entry(a, 10)])
    assert fetch(fast, url(race, "field")).by_django
    tick(race, 2, [entry(a, 20)])
    assert json.loads(fetch(fast, url(race, "field")).body)["seq"] == 1  # the shared copy
    clock.elapsed += livefield.FIELD_SECONDS
    rebuilt = fetch(fast, url(race, "field"))  # the one request sent to rebuild it
    assert rebuilt.by_django and json.loads(rebuilt.body)["seq"] == 2
    again = fetch(fast, url(race, "field"))
    assert not again.by_django and json.loads(again.body)["seq"] == 2


def test_a_stale_document_is_served_while_one_request_rebuilds_it(race: Race, clock: FakeClock):
    document = livefield.built(b"{}", '"x"')
    assert livefield.fields.get(race.pk, lambda: document) is document
    assert livefield.fields.peek(race.pk) == (document, False)
    clock.elapsed += livefield.FIELD_SECONDS
    assert livefield.fields.peek(race.pk) == (document, True)  # this one goes to the view
    assert livefield.fields.peek(race.pk) == (document, False)  # the rest: the last copy
    clock.elapsed += livefield.FIELD_SECONDS
    assert livefield.fields.peek(race.pk) == (document, True)  # no rebuild came: again
    clock.elapsed += livefield.FIELD_SECONDS * livefield.STALE_LIMIT
    assert livefield.fields.peek(race.pk) == (None, False)  # too old: everyone to the view


def test_a_race_unpublished_leaves_the_fast_path_at_its_recheck(
    race: Race, fast: Any, clock: FakeClock
):
    assert fetch(fast, url(race, "field")).by_django
    assert not fetch(fast, url(race, "field")).by_django
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    clock.elapsed += livefield.PUBLISHED_SECONDS - 0.5
    assert fetch(fast, url(race, "field")).status == 200  # still remembered
    clock.elapsed += 0.5
    recheck = fetch(fast, url(race, "field"))
    assert recheck.by_django and recheck.status == 404
    after = fetch(fast, url(race, "field"))
    assert after.by_django and after.status == 404


def test_private_races_family_links_and_other_methods_go_to_the_views(
    race: Race, fast: Any, clock: FakeClock
):
    from pace.lib.testing import asgi_fetch

    assert fetch(fast, url(race, "field")).status == 200
    _link, token = family_link_create(
        registration=race.registrations.order_by("pk")[0], duration="24h"
    )
    held = fetch(fast, url(race, "field") + f"?family={token}")
    assert held.by_django and held.status == 200
    head = asgi_fetch(fast, url(race, "field"), host=HOST.encode(), method="HEAD")
    assert head.by_django and head.status == 405
    Event.objects.filter(pk=race.event_id).update(status=Event.Status.DRAFT)
    clock.elapsed += livefield.PUBLISHED_SECONDS
    hidden = fetch(fast, url(race, "field"))
    assert hidden.by_django and hidden.status == 404
    assert fetch(fast, url(race, "field")).by_django  # a private race is never remembered


def test_past_the_ip_limit_in_memory_the_view_counts_and_refuses(
    race: Race, fast: Any, settings: Any
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "live.field.ip": "3/m"}
    answers = [fetch(fast, url(race, "field")) for _ in range(8)]
    # The view's first answer, three from memory, then the view for each: it counted 1..5.
    assert [a.by_django for a in answers] == [True, False, False, False, True, True, True, True]
    assert [a.status for a in answers] == [200] * 6 + [429, 429]


def test_the_views_answers_cost_no_page_cache_read(race: Race, fast: Any, clock: FakeClock):
    """The page cache never holds these documents: a request the fast path cannot answer
    from memory goes straight to the view (at a start gun, thousands waited on the
    page-cache read's connections first)."""

    class Reads:
        def __init__(self) -> None:
            self.names: list[str] = []

        async def get_many(self, names: list[str]) -> list[Any]:
            self.names += names
            return [None] * len(names)

        async def aclose(self) -> None:
            return None

    fast.store = reads = Reads()
    for query in ("", f"?family={'x' * 20}"):
        fetch(fast, url(race, "field") + query)
        fetch(fast, url(race, "roster") + query)
    clock.elapsed += livefield.ROSTER_SECONDS  # both stale
    fetch(fast, url(race, "field"))
    assert reads.names == []
    fetch(fast, f"/live/{race.event.slug}/{race.slug}/")  # a page: the cache is read
    assert reads.names
