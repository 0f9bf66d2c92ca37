"""HTML gzipped for browsers that take it; public pages compressed once per process."""

from __future__ import annotations

import gzip

from django.http import HttpResponse
from django.test import RequestFactory

from pace.lib.compression import PublicGZipMiddleware, mark_public

BODY = b"<!doctype html><title>x</title>" + b"<p>Athlete 1234 #1234</p>" * 200


def _answer(*, public: bool, accept: str = "gzip, deflate, br") -> HttpResponse:
    def view(request: object) -> HttpResponse:
        response = HttpResponse(BODY)
        if public:
            mark_public(response)
        return response

    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=accept)
    response = PublicGZipMiddleware(view)(request)
    assert isinstance(response, HttpResponse)
    return response


def test_a_public_page_is_gzipped_once_the_same_bytes_for_everyone():
    first, second = _answer(public=True), _answer(public=True)
    assert first["Content-Encoding"] == "gzip" and "Accept-Encoding" in first["Vary"]
    assert gzip.decompress(first.content) == BODY
    assert first.content == second.content
    assert int(first["Content-Length"]) == len(first.content) < len(BODY) / 10


def test_any_other_response_is_gzipped_as_django_does_padded_anew_each_time():
    """Django's BREACH padding (random bytes in each gzip header) stays on what is not
    public: 5 compressions of a page that may hold a secret are not all the same."""
    answers = [_answer(public=False) for _ in range(5)]
    assert all(gzip.decompress(a.content) == BODY for a in answers)
    assert all(a["Content-Encoding"] == "gzip" for a in answers)
    assert len({a.content for a in answers}) > 1


def test_nothing_is_gzipped_for_a_client_that_does_not_take_it():
    for public in (True, False):
        answer = _answer(public=public, accept="identity")
        assert answer.content == BODY and not answer.has_header("Content-Encoding")
        assert "Accept-Encoding" in answer["Vary"]
