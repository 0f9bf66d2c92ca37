"""A spectator's id: who is cheering, for a browser without an account or a session.

The live page gives each browser a random id, signed with ``SECRET_KEY``, in the
``pace_spectator`` cookie; the live socket reads it back and counts the browser's kudos
under it (``kudos.spectator``) across all its sockets. Nothing is stored: the signature
is the proof that our page gave it. A socket without a valid one is not a browser on our
page (a script), and is counted by its IP, under a lower limit than a browser's IP
(``kudos.cookieless.ip``), so leaving the cookie out never gives more kudos.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

COOKIE = "pace_spectator"
MAX_AGE = 365 * 24 * 3600
_SIGNER = signing.Signer(salt="pace.spectator")


def spectator_id_mint() -> str:
    """A new id, signed: the cookie's value."""
    return _SIGNER.sign(secrets.token_urlsafe(12))


def spectator_id_verified(value: str | None) -> str | None:
    """The id a cookie's ``value`` carries, or None when our page did not sign it."""
    if not value or len(value) > 200:
        return None
    try:
        return _SIGNER.unsign(value)
    except signing.BadSignature:
        return None


def spectator_id_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The verified id of a request's (or a socket's scope's) cookies."""
    return spectator_id_verified(cookies.get(COOKIE))


def spectator_cookie_give(request: HttpRequest, response: HttpResponse) -> None:
    """Give a browser without a valid id a new one (a ``per_visitor`` of the page cache).

    The page itself stays one shared cache entry: this runs on every response of the
    live page after the cache answered, whichever served it (``pace.lib.pagecache``,
    ``pace.daphne_patches.fastpath``). A response that sets the cookie is ``private``: a shared
    cache (a CDN) must not hand one browser's id to the next; the browser's next visit,
    with its cookie, gets the page as everyone else does.
    """
    if spectator_id_from_cookies(request.COOKIES) is not None or response.status_code != 200:
        return
    response.set_cookie(
        COOKIE,
        spectator_id_mint(),
        max_age=MAX_AGE,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    patch_cache_control(response, private=True)
