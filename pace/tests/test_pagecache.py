from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
