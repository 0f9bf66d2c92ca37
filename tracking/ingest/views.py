"""The ingest's HTTP door: ``/osmand/``, one location per request from OsmAnd or Traccar Client."""

from __future__ import annotations

import logging
import time

from asgiref.sync import sync_to_async
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pace.lib.ratelimits import Limited, ahit, hit, request_ip, too_many_requests
from tracking.ingest import athletes, commit, devices, fixes, osmand

logger = logging.getLogger(__name__)


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def _form(request: HttpRequest) -> QueryDict | None:
    """The form body Django parsed (multipart too), or None for other content types."""
    if request.content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return None
    try:
        return request.POST
    except (MultiPartParserError, SuspiciousOperation, ValueError) as exc:
        raise fixes.PointError("the form body cannot be read") from exc


def _count(*, device_id: str, ip: str) -> tuple[Limited | None, Limited | None]:
    """One request against the device's and the address's limits (a device over its own
    does not count against its address: one phone's flood refuses no other phone behind
    the same NAT), and whether the address is over its unknown-device answers (not
    counted: only an unknown device counts). One trip off the event loop for all three."""
    limited = hit(name="osmand.device", key=device_id) or hit(name="osmand.ip", key=ip)
    return limited, hit(name="osmand.unknown.ip", key=ip, increment=False)


def _quiet(response: HttpResponse, device_id: str) -> HttpResponse:
    """Logged at INFO, not as Django's WARNING for a 4xx: a flood must not flood the log."""
    logger.info("/osmand/ %s for device %r", response.status_code, device_id[:40])
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's log_response
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def osmand_point(request: HttpRequest) -> HttpResponse:
    """One location from OsmAnd or Traccar Client (PROTOCOL.md §2).

    The request is read and checked before anything else (no database), so a malformed
    one gets the same 400 whether its device exists or not; then the device's and the
    address's limits (the cache only), and only then the device's lookup: an unknown
    device gets one answer whatever it sent. An address past its unknown-device answers
    gets 429 for any device this process does not know already, without a query.
    """
    now = time.time()
    try:
        body: bytes | None = request.body
    except RequestDataTooBig:  # past Django's own limit (2.5 MB)
        body = None
    if body is None or len(body) > osmand.MAX_BODY_BYTES:
        return _text(f"bad location: the body is over {osmand.MAX_BODY_BYTES} bytes\n", 413)
    try:
        parsed = osmand.parse_request(
            query=request.GET, body=body, form=_form(request),
            content_type=request.content_type or "", now=now,
        )  # fmt: skip
    except fixes.PointError as exc:
        limited = await ahit(name="osmand.ip", key=request_ip(request))
        return too_many_requests(limited) if limited else _text(f"bad location: {exc}\n", 400)
    device_id, ip = parsed.device_id, request_ip(request)
    limited, unknown_limited = await sync_to_async(_count, thread_sensitive=False)(
        device_id=device_id, ip=ip
    )
    if limited:
        return _quiet(too_many_requests(limited), device_id)
    known, athlete = devices.remembered_device(device_id)
    if not known:
        if unknown_limited:
            return _quiet(too_many_requests(unknown_limited), device_id)
        if isinstance(request, ASGIRequest):
            # From the ASGI server: its loop lives as long as the process and hears device
            # changes from now on. A request on a loop of its own (a WSGI server's or the
            # test client's ``async_to_sync``) would leave a listener its loop cancels as
            # it ends, and channels_redis's receive does not always end when cancelled: it
            # held the loop's close, and the request, for good (twice in CI). There
            # remembered ids hold their 30 s, as when the channel layer fails.
            await devices.devices_listen()
        athlete = await sync_to_async(devices.athlete_for_device_cached)(device_id)
    if athlete is None:
        limited = await ahit(name="osmand.unknown.ip", key=ip)
        return _quiet(
            too_many_requests(limited) if limited else _text("unknown device\n", 404), device_id
        )
    # A fix before the race's tracking opens is no error of the app's: refused, Traccar
    # Client would resend it every 30 s and hold back every later fix behind it.
    points = [p for p in parsed.points if p["t"] >= athlete.opens]
    if points:
        device = athletes.device_key(device_id)
        await commit.group_commit().submit(
            fixes.as_rows(points, athlete=athlete, seq=0, device=device)
        )
    if len(points) < len(parsed.points):
        return _text("OK: not stored, before the race's tracking opens\n")
    return _text("OK\n")
