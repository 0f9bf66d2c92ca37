"""A page for an answer Django gives without one: 405 Method Not Allowed.

``require_POST`` and class-based views answer a GET of a form's address (a bookmarked
or shared link to ``…/waitlist/…``, a reload after the form was sent) with a bare 405:
the browser shows its own blank error page, and the visitor learns nothing. Here such an
empty 405 gets a page of the site's, with the same status and ``Allow`` header; an answer
that has a body (an API's JSON reason) is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render


class MethodNotAllowedPage:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            request.method not in ("GET", "HEAD")  # a script's PUT or POST: left bare
            or response.status_code != 405
            or response.streaming
            or not isinstance(response, HttpResponse)
            or response.content
        ):
            return response
        allowed = response.get("Allow", "")
        page = render(request, "405.html", {"allowed": allowed}, status=405)
        page["Allow"] = allowed
        return page
