"""A share link (``/live/E/R/?athlete=BIB``) is the live page every visitor gets: served
from the page cache (live.js focuses the athlete from the address), never a render each."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone

from events.tests.factories import make_course, make_event, make_race
from pace.lib.pagecache import cached_public_page, page_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_path(alpha) -> str:
    event = make_event(alpha, "Lake Run", days_ahead=0)
    race = make_race(event, "10K", course=make_course(alpha))
    race.start_time = timezone.now() + dt.timedelta(hours=1)
    race.save()
    return f"/live/{event.slug}/{race.slug}/"


def test_a_share_link_is_served_from_the_cached_live_page(
    client, live_path, django_assert_max_num_queries
) -> None:
    page = client.get(live_path)
    assert page.status_code == 200
    with django_assert_max_num_queries(0):  # a hit: no view, no query
        shared = client.get(live_path, {"athlete": "17"})
        other = client.get(live_path, {"athlete": "not-a-bib"})
    assert shared.status_code == other.status_code == 200
    assert shared.content == other.content == page.content
    assert "public" in shared["Cache-Control"]
    # Any other parameter still misses (nobody fills the cache with ?x=1, ?x=2...).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(live_path, {"athlete": "17", "x": "1"}).status_code == 200
    assert len(queries) > 0


def test_the_fast_path_reads_a_share_link_under_the_pages_key(live_path) -> None:
    """The fast path keys a request by every parameter it has (it does not know the page):
    a share link's key is still the page's."""
    factory = RequestFactory()
    shared = factory.get(live_path, {"athlete": "17"})
    plain = factory.get(live_path)
    assert page_key(shared, frozenset(shared.GET)) == page_key(plain, frozenset())
    with_other = factory.get(live_path, {"athlete": "17", "x": "1"})
    assert page_key(with_other, frozenset()) is None


def test_a_live_page_may_not_vary_by_a_script_only_parameter(rf, live_path) -> None:
    """Under ``/live/`` ``athlete`` is live.js's alone; elsewhere (the embed widget) a
    page's own parameter, keyed like any other."""
    from django.core.exceptions import ImproperlyConfigured
    from django.http import HttpResponse

    view = cached_public_page(lambda request: HttpResponse("x"), params=frozenset({"athlete"}))
    with pytest.raises(ImproperlyConfigured, match="athlete"):
        view(rf.get(live_path, {"athlete": "17"}))
    embed = live_path.replace("/live/", "/embed/")
    keys = {page_key(rf.get(embed, {"athlete": bib}), frozenset({"athlete"})) for bib in "12"}
    assert len(keys) == 2 and page_key(rf.get(embed), frozenset()) not in keys
