"""The page fast path answers cache hits exactly as Django does and leaves the rest to it.

Each request goes through the ASGI application itself (Django's handler, or the fast
path around another one), as daphne would send it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler

from pace.daphne_patches.fastpath import PageFastPath
from pace.lib.testing import AsgiAnswer as Answer
from pace.lib.testing import asgi_fetch

HOST = "pace.example"
# What every page hit carries, whoever serves it.
HIT_HEADERS = {
    "content-type",
    "content-length",
    "cache-control",
    "vary",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
}


def _fetch(app: Any, url: str, **options: Any) -> Answer:
    return asgi_fetch(app, url, **{"host": HOST.encode(), **options})


# Django's handler runs views in a thread of its own, with a connection of its own: the
# data must be committed for it to see.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _host(settings: Any) -> None:
    settings.ALLOWED_HOSTS = [HOST]


@pytest.fixture
def pages(alpha_event: Any) -> dict[str, str]:
    course = alpha_event.races.get().course
    return {
        "home": "/",
        "list": "/events/?sport=running&country=FR",
        "event": alpha_event.get_absolute_url(),
        "course": f"/courses/{course.pk}/",
    }


def _apps() -> tuple[ASGIHandler, PageFastPath]:
    """Django's handler, and the fast path around another, built with the test's settings."""
    return ASGIHandler(), PageFastPath(ASGIHandler())


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("page", ["home", "list", "event", "course"])
def test_it_answers_a_cached_page_as_django_does(pages, page, method):
    django, fast = _apps()
    _fetch(django, pages[page])  # a miss: rendered and stored
    expected = _fetch(django, pages[page], method=method)
    answer = _fetch(fast, pages[page], method=method)
    assert not answer.by_django
    assert answer.status == 200
    assert answer.same_as(expected)
    assert answer.header_names >= HIT_HEADERS


def test_it_adds_the_https_headers_django_adds(pages, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    django, fast = _apps()
    _fetch(django, pages["event"], scheme="https")
    expected = _fetch(django, pages["event"], scheme="https")
    answer = _fetch(fast, pages["event"], scheme="https")
    assert not answer.by_django
    assert answer.same_as(expected)
    assert "strict-transport-security" in answer.header_names


def test_it_gives_each_visitor_what_the_page_gives_visitors_on_a_hit(alpha_event, settings):
    """The live page's ``per_visitor`` (a signed spectator id, ``tracking.fanout.spectators``)
    runs on the fast path's hits too: the entry names it, the cookie is not in it."""
    from tracking.fanout.spectators import COOKIE, spectator_id_verified

    settings.SECURE_COOKIES = settings.SESSION_COOKIE_SECURE = True
    race = alpha_event.races.get()
    live = f"/live/{alpha_event.slug}/{race.slug}/"
    django, fast = _apps()
    _fetch(django, live)  # a miss: rendered and stored
    answers = [_fetch(fast, live), _fetch(fast, live)]
    cookies = [dict(a.headers)[b"Set-Cookie"].decode() for a in answers]
    assert not any(a.by_django for a in answers) and cookies[0] != cookies[1]
    value = cookies[0].split(";")[0].removeprefix(f"{COOKIE}=")
    assert spectator_id_verified(value) and "Secure" in cookies[0] and "HttpOnly" in cookies[0]
    assert all(b"private" in dict(a.headers)[b"Cache-Control"] for a in answers)
    back = _fetch(fast, live, headers=((b"cookie", f"{COOKIE}={value}".encode()),))
    expected = _fetch(django, live, headers=((b"cookie", f"{COOKIE}={value}".encode()),))
    assert not back.by_django and back.same_as(expected) and back.body == answers[0].body
    assert b"Set-Cookie" not in dict(back.headers)
    assert b"public" in dict(back.headers)[b"Cache-Control"]


def test_it_gzips_a_hit_as_django_does_compressing_it_once(alpha_event):
    """``PublicGZipMiddleware`` on the hits: the same gzipped bytes Django gives (a public
    page is compressed once per process), which are the page."""
    import gzip

    race = alpha_event.races.get()
    live = f"/live/{alpha_event.slug}/{race.slug}/"
    gz = ((b"accept-encoding", b"gzip, deflate"),)
    django, fast = _apps()
    plain = _fetch(django, live)  # a miss: rendered and stored
    expected = _fetch(django, live, headers=gz)
    answer = _fetch(fast, live, headers=gz)
    assert not answer.by_django
    assert dict(answer.headers)[b"Content-Encoding"] == b"gzip"
    assert b"Accept-Encoding" in dict(answer.headers)[b"Vary"]
    assert answer.body == expected.body and len(answer.body) < len(plain.body) / 2
    assert gzip.decompress(answer.body) == plain.body
    assert b"Content-Encoding" not in dict(_fetch(fast, live).headers)  # gzip not accepted


def test_it_leaves_the_https_redirect_to_django(pages, settings):
    settings.SECURE_SSL_REDIRECT = True
    django, fast = _apps()
    _fetch(django, pages["event"], scheme="https")
    answer = _fetch(fast, pages["event"])
    assert answer.by_django
    assert answer.status == 301


def test_it_leaves_signed_in_visitors_to_django(client, dave, pages, settings):
    django, fast = _apps()
    _fetch(django, pages["event"])
    client.force_login(dave)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    cookie = (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())
    answer = _fetch(fast, pages["event"], headers=(cookie,))
    assert answer.by_django
    assert b"Log out" in answer.body
    assert "public" not in dict(answer.headers).get(b"Cache-Control", b"").decode()


def test_it_leaves_visitors_with_messages_to_django(pages):
    django, fast = _apps()
    _fetch(django, pages["home"])
    cookie = (b"cookie", b"messages=W1siX19qc29uX21lc3NhZ2UiXV0:not-signed")
    expected = _fetch(django, pages["home"], headers=(cookie,))
    answer = _fetch(fast, pages["home"], headers=(cookie,))
    assert answer.by_django
    assert answer.same_as(expected)
    assert "cache-control" not in answer.header_names


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_it_leaves_other_methods_to_django(pages, method):
    django, fast = _apps()
    _fetch(django, pages["list"])
    expected = _fetch(django, pages["list"], method=method)
    answer = _fetch(fast, pages["list"], method=method)
    assert answer.by_django
    assert (answer.status, answer.body) == (expected.status, expected.body)
    assert answer.status != 200 or method == "OPTIONS"


@pytest.mark.parametrize("host", [b"evil.example", b"pace.example.evil.example", b"pace.example:x"])
def test_it_never_serves_a_cached_page_to_an_unknown_host(pages, host):
    django, fast = _apps()
    _fetch(django, pages["event"])
    answer = _fetch(fast, pages["event"], host=host)
    assert answer.by_django
    assert answer.status == 400


def test_it_reads_two_host_headers_as_django_does(pages):
    django, fast = _apps()
    _fetch(django, pages["event"])
    answer = _fetch(fast, pages["event"], headers=((b"host", b"evil.example"),))
    assert answer.by_django
    assert answer.status == 400


def test_it_leaves_a_query_string_django_refuses_to_django(pages, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1
    django, fast = _apps()
    url = "/events/?sport=running&country=FR"
    expected = _fetch(django, url)
    answer = _fetch(fast, url)
    assert answer.by_django
    assert answer.status == expected.status == 400
    assert answer.body == expected.body


def test_it_leaves_a_query_string_that_is_not_utf8_to_django(pages):
    django, fast = _apps()
    _fetch(django, pages["event"])
    expected = _fetch(django, pages["event"], raw_query=b"\xff=1")
    answer = _fetch(fast, pages["event"], raw_query=b"\xff=1")
    assert answer.by_django
    assert answer.same_as(expected)
    assert answer.status == 400


def test_it_leaves_parameters_the_page_does_not_use_to_django(pages):
    django, fast = _apps()
    _fetch(django, pages["list"])
    _fetch(django, pages["event"])
    for url in (f"{pages['list']}&utm_source=x", f"{pages['event']}?utm_source=x"):
        expected = _fetch(django, url)
        answer = _fetch(fast, url)
        assert answer.by_django
        assert answer.same_as(expected)


def test_it_serves_the_same_filters_in_any_order_from_one_entry(pages):
    django, fast = _apps()
    _fetch(django, "/events/?sport=running&country=FR")
    answer = _fetch(fast, "/events/?country=FR&sport=running")
    assert not answer.by_django
    assert answer.status == 200


def test_it_shows_a_changed_event_at_once(pages, alpha_event):
    django, fast = _apps()
    _fetch(django, pages["event"])
    assert not _fetch(fast, pages["event"]).by_django
    alpha_event.name = "Alpha Night Marathon"
    alpha_event.save()
    changed = _fetch(fast, pages["event"])
    assert changed.by_django
    assert b"Alpha Night Marathon" in changed.body
    again = _fetch(fast, pages["event"])
    assert not again.by_django
    assert again.same_as(changed)


def test_it_runs_the_csrf_middleware_as_django_does(pages, settings):
    django, fast = _apps()
    _fetch(django, pages["home"])
    good = (b"cookie", f"{settings.CSRF_COOKIE_NAME}={'a' * 32}".encode())
    answer = _fetch(fast, pages["home"], headers=(good,))
    assert not answer.by_django
    assert answer.same_as(_fetch(django, pages["home"], headers=(good,)))
    bad = (b"cookie", f"{settings.CSRF_COOKIE_NAME}=not-a-token".encode())
    expected = _fetch(django, pages["home"], headers=(bad,))
    answer = _fetch(fast, pages["home"], headers=(bad,))
    assert not answer.by_django
    assert "set-cookie" in answer.header_names  # a fresh token, as Django gives
    assert answer.header_names == expected.header_names
    assert (answer.status, answer.body) == (expected.status, expected.body)


def test_it_stands_aside_for_middleware_it_does_not_mirror(pages, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    django, fast = _apps()
    _fetch(django, pages["home"])
    assert not fast.enabled
    assert _fetch(fast, pages["home"]).by_django


def test_it_passes_websockets_straight_through():
    seen: list[str] = []

    class Handler(ASGIHandler):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["type"])

    async def run() -> None:
        async def nothing() -> dict[str, Any]:
            return {}

        async def ignore(message: Mapping[str, Any]) -> None:
            return None

        await PageFastPath(Handler())({"type": "websocket", "path": "/ws/"}, nothing, ignore)

    async_to_sync(run)()
    assert seen == ["websocket"]


def test_it_answers_a_results_page_while_its_race_stamp_holds(alpha, alice):
    """Results pages are guarded by their race's stamp (``results.caching``): a hit is
    answered as Django answers it (max-age of the stamp), the stamp read with the entry
    once the page was seen; a changed or expired stamp leaves the page to Django, which
    reads the stamp afresh, and the fast path serves the page again."""
    from django.core.cache import cache

    from results.caching import stamp_key
    from results.tests.pages import make_computed

    computed = make_computed(alpha, publish_by=alice)
    django, fast = _apps()
    for url in (computed.url(), computed.url() + "?sort=name&page=1", computed.url("102")):
        _fetch(django, url)  # a miss: rendered and stored
        expected = _fetch(django, url)
        answers = [_fetch(fast, url), _fetch(fast, url)]  # the guard read apart, then with
        assert not any(a.by_django for a in answers)
        assert all(a.status == 200 and a.same_as(expected) for a in answers)
        assert dict(answers[0].headers)[b"Cache-Control"] == b"public, max-age=5"
    stamp = stamp_key(computed.race.event.slug, computed.race.slug)
    cache.set(stamp, "results-changed", 5)
    assert _fetch(fast, computed.url()).by_django
    assert not _fetch(fast, computed.url()).by_django
    cache.delete(stamp)
    assert _fetch(fast, computed.url()).by_django
    assert not _fetch(fast, computed.url()).by_django


def test_a_results_stamp_past_its_recheck_sends_one_request_a_second_to_django(alpha, alice):
    """Past the stamp's recheck time one request goes to Django, which reads the stamp
    afresh; the others are served meanwhile (before, every request of the race's pages
    went to Django's one thread until the stamp was stored again). A changed stamp is
    still never served from the old page, and a race that is gone is not served."""
    from django.core.cache import cache

    from events.models import Race
    from pace.lib.pagecache import guard_reading, read_guard
    from pace.lib.testing import FakeClock
    from results.caching import STAMP_SECONDS, stamp_key
    from results.tests.pages import make_computed

    computed = make_computed(alpha, publish_by=alice)
    url = computed.url()
    clock = FakeClock()
    past = clock.start - 1  # past on the fake clock and on Django's (the real one)
    django, fast = ASGIHandler(), PageFastPath(ASGIHandler(), clock=clock)
    _fetch(django, url)  # a miss: rendered and stored, the stamp with it
    key = stamp_key(computed.race.event.slug, computed.race.slug)
    stamp, recheck_at = read_guard(cache.get(key))
    assert recheck_at is not None and recheck_at > clock.time()
    assert not _fetch(fast, url).by_django
    cache.set(key, guard_reading(stamp, recheck_at=past), 15)
    assert _fetch(fast, url).by_django  # the one that reads the stamp again...
    assert (read_guard(cache.get(key))[1] or 0) > clock.time()  # ...and stores it afresh
    cache.set(key, guard_reading(stamp, recheck_at=past), 15)
    assert [_fetch(fast, url).by_django for _ in range(3)] == [False] * 3  # served meanwhile
    clock.elapsed += 1.0
    assert _fetch(fast, url).by_django  # the next second's one
    cache.set(key, guard_reading("changed", recheck_at=clock.time() + STAMP_SECONDS), 15)
    assert _fetch(fast, url).by_django  # never the old page for another stamp
    Race.objects.filter(pk=computed.race.pk).update(slug="renamed")  # behind Django's back
    cache.set(key, guard_reading(stamp, recheck_at=past), 15)
    clock.elapsed += 1.0
    assert _fetch(fast, url).status == 404  # Django found no such race: the stamp is dropped
    assert cache.get(key) is None
    assert _fetch(fast, url).by_django


def test_a_server_hands_the_gil_to_its_event_loop_within_half_a_millisecond():
    import sys

    from pace.daphne_patches.fastpath import SWITCH_INTERVAL_S, favour_event_loop

    default = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # CPython's default (importing pace.asgi changes it)
        favour_event_loop()
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S <= 0.0005
    finally:
        sys.setswitchinterval(default)


def test_a_hit_leaves_no_garbage_for_the_cyclic_collector(pages):
    """A hit's request, user, session and query dict are freed as the hit ends, not by a
    collection of the young generation that stops the process (``fastpath._forget``)."""
    import gc

    django, fast = _apps()
    _fetch(django, pages["event"])  # a miss: rendered and stored
    url, _, query = pages["event"].partition("?")
    scope = {"type": "http", "method": "GET", "path": url, "raw_path": url.encode(),
             "query_string": query.encode(), "root_path": "", "scheme": "http",
             "headers": [(b"host", HOST.encode())], "http_version": "1.1",
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}  # fmt: skip

    async def cyclic_garbage_of_hits(n: int) -> int:
        assert await fast.cached_response(dict(scope)) is not None  # Redis connected
        gc.collect()
        gc.disable()
        try:
            for _ in range(n):
                assert await fast.cached_response(dict(scope)) is not None
            return gc.collect()
        finally:
            gc.enable()
            await fast.aclose()

    cyclic = async_to_sync(cyclic_garbage_of_hits)(20)
    # Without _forget: ~16 objects a hit (the lazy user's closure over the request...).
    assert cyclic < 20


def test_the_projects_own_middleware_keeps_the_fast_path_on():
    """Every middleware in settings is one the fast path runs or knows leaves a hit alone:
    a new one it does not know turns the fast path off (a warning at start, every hit
    through Django), which only a benchmark would otherwise show."""
    from django.conf import settings

    from pace.daphne_patches.fastpath import _mirrored_middleware

    assert _mirrored_middleware(settings.MIDDLEWARE) is not None


def test_a_burst_of_hits_waits_for_a_redis_connection_rather_than_failing(
    pages, settings, monkeypatch
):
    """More hits at once than the pool's connections: each waits for one (redis-py's
    default pool refused them, "Too many connections", and Django answered them all)."""
    from pace.daphne_patches import fastpath
    from pace.lib.testing import asgi_fetch_all

    if not settings.REDIS_URL:
        pytest.skip("the embedded default's cache is the process's memory: no connections")
    monkeypatch.setattr(fastpath, "REDIS_CONNECTIONS", 3)
    django, fast = _apps()
    _fetch(django, pages["event"])  # a miss: rendered and stored
    started: list[object] = []
    answers = asgi_fetch_all(fast, [pages["event"]] * 60, started=started, host=HOST.encode())
    assert [a.status for a in answers] == [200] * 60
    assert started == []  # every one a hit of the fast path


def test_it_reads_the_cache_only_for_pages_that_can_be_in_it(pages, race_with_entry_token):
    """The tracker page, a login form or a 404 cannot be in the page cache: the fast path
    hands them to Django without a cache read (a Redis round trip each, under a race's
    load up to 0.6 s before Django saw the tracker page). A cached page still reads it."""
    _, fast = _apps()
    assert fast.store is not None
    reads: list[list[str]] = []
    get_many = fast.store.get_many

    async def counted(names: list[str]) -> list[Any]:
        reads.append(names)
        return await get_many(names)

    fast.store.get_many = counted  # type: ignore[method-assign]
    token = race_with_entry_token
    for url in (f"/track/?token={token}", "/accounts/login/", "/no-such-page/"):
        answer = _fetch(fast, url)
        assert answer.status in (200, 404), (url, answer.status)
    assert reads == []
    assert _fetch(fast, f"/track/?token={token}").status == 200  # the tracker, from Django
    _fetch(fast, pages["event"])
    assert len(reads) == 1  # a cached page's path: its entry looked up


@pytest.fixture
def race_with_entry_token(alpha_event: Any) -> str:
    from tracking.ingest.trackers import tracker_for
    from tracking.tests.helpers import confirmed_entry

    return str(tracker_for(confirmed_entry(alpha_event)).token)
