"""Run Django's middleware chain in one thread under ASGI.

It relies on Django 5.2.19's adapting of middleware modes, whose source the same
test pins.
Written against daphne 4.2.3 / Twisted 26.10.0 / autobahn 26.11.1; checked by
pace/tests/test_daphne_patches_upstream.py.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SyncChainMiddleware:
    """Last in ``MIDDLEWARE``: a sync-only middleware, so the whole chain runs sync.

    Under ASGI Django adapts each middleware to the mode of the one inside it. The
    innermost being sync-only, every middleware outside it runs in the request's thread
    one after the other, instead of hopping between the event loop and a thread around
    each ``process_request``/``process_response`` (WhiteNoise, sync-only, already forces
    one such switch). Measured under daphne: about a third less CPU per request.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)
