from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from pace.lib.pagecache import VERSION_KEY


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_it_serves_the_same_filters_in_any_order_from_one_entry(client, alpha_event):
    assert _queries(client, "/events/?sport=running&country=FR") > 0
    assert _queries(client, "/events/?country=FR&sport=running") == 0


def test_it_does_not_store_pages_for_parameters_the_page_ignores(client, alpha_event):
    for n in range(3):
        assert _queries(client, f"/events/?junk={n}") > 0
    assert _queries(client, "/events/?junk=0") > 0
    assert _queries(client, f"{alpha_event.get_absolute_url()}?utm_source=x") > 0


def test_it_does_not_store_pages_for_a_parameter_given_twice(client, alpha_event):
    """The page reads one value: junk beside a real one made a new entry each time."""
    for other in ("cycling", "trail", "triathlon"):
        assert _queries(client, f"/events/?sport=running&sport={other}") > 0
    assert _queries(client, "/events/?sport=running&sport=cycling") > 0
    assert _queries(client, "/events/?sport=running") > 0
    assert _queries(client, "/events/?sport=running") == 0  # once: cached as before


def test_it_never_serves_old_pages_after_losing_its_version(client, alpha_event):
    url = alpha_event.get_absolute_url()
    _queries(client, url)
    assert _queries(client, url) == 0
    type(alpha_event).objects.filter(pk=alpha_event.pk).update(name="Renamed behind Django")
    cache.delete(VERSION_KEY)
    assert b"Renamed behind Django" in client.get(url).content


def test_it_serves_a_guarded_entry_only_at_its_guards_value(rf):
    from django.http import HttpResponse

    from pace.lib.pagecache import entry_guard, guarded_entry, hit_response

    page = HttpResponse(b"<p>results</p>", content_type="text/html")
    entry = guarded_entry(7, page, max_age=5, guard="stamp-key", guard_value="a1")
    request = rf.get("/results/x/y/")
    assert entry_guard(entry) == "stamp-key"
    assert entry_guard((7, b"", "text/html", None)) is None
    hit = hit_response(7, entry, request, "a1")
    assert hit is not None and hit.content == b"<p>results</p>"
    assert hit["Cache-Control"] == "public, max-age=5"
    assert hit_response(7, entry, request, "b2") is None  # the race's results changed
    assert hit_response(7, entry, request) is None  # the stamp expired: read it afresh
    assert hit_response(8, entry, request, "a1") is None  # the site-wide version moved


def test_it_keeps_a_page_gzipped_and_gives_each_client_what_it_takes(client, alpha_event):
    """The entry holds the body compressed once; a browser gets those bytes, a client
    that does not take gzip the page itself, and both are told it varies by encoding."""
    import gzip

    from pace.lib.pagecache import page_key

    url = alpha_event.get_absolute_url()
    plain = client.get(url)
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding")
    stored = cache.get(page_key(plain.wsgi_request, frozenset()))
    assert stored[7] == "gzip" and gzip.decompress(stored[1]) == plain.content
    gz = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert gz["Content-Encoding"] == "gzip" and gz.content == stored[1]
    again = client.get(url)
    assert again.content == plain.content and not again.has_header("Content-Encoding")
    assert all("Accept-Encoding" in r["Vary"] for r in (plain, gz, again))
    assert int(gz["Content-Length"]) == len(gz.content) < len(plain.content) / 3


def test_an_entry_stored_before_pages_were_kept_gzipped_is_still_served(rf):
    from django.http import HttpResponse

    from pace.lib.pagecache import hit_response

    request = rf.get("/", HTTP_ACCEPT_ENCODING="gzip")
    hit = hit_response(7, (7, b"<p>old</p>" * 50, "text/html", None), request)
    assert hit is not None and hit.content == b"<p>old</p>" * 50
    assert isinstance(hit, HttpResponse) and not hit.has_header("Content-Encoding")


@given(body=st.binary(max_size=5000), accepts=st.sampled_from(["gzip", "br", "", "GZIP;q=1"]))
@settings(max_examples=60, deadline=None)
def test_any_page_comes_back_as_it_was_stored(body, accepts):
    import gzip

    from django.http import HttpResponse
    from django.test import RequestFactory

    from pace.lib.pagecache import hit_response, page_entry

    entry = page_entry(3, HttpResponse(body, content_type="text/html"), max_age=5)
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=accepts)
    hit = hit_response(3, entry, request)
    assert hit is not None
    gzipped = hit.get("Content-Encoding") == "gzip"
    assert (gzip.decompress(hit.content) if gzipped else hit.content) == body
    assert not gzipped or "gzip" in accepts.lower()
