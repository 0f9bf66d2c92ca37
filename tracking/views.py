"""Live tracking's HTTP side: the OsmAnd endpoint and the spectator and tracker pages."""

from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tracking import ingest, osmand


@csrf_exempt
@require_http_methods(["GET", "POST"])
async def osmand_point(request: HttpRequest) -> HttpResponse:
    """One location from OsmAnd or Traccar Client: 200 stored, 400 malformed, 404 unknown."""
    body = request.body  # first: reading the form consumes the stream
    try:
        device_id, point = osmand.parse_request(
            query=request.GET, form=request.POST, body=body,
            content_type=request.content_type or "",
        )  # fmt: skip
    except ingest.PointError as exc:
        return HttpResponse(f"bad location: {exc}\n", status=400, content_type="text/plain")
    if not device_id:
        return HttpResponse("bad location: id is missing\n", status=400, content_type="text/plain")
    athlete = await sync_to_async(ingest.athlete_for_device_cached)(device_id)
    if athlete is None:
        return HttpResponse("unknown device\n", status=404, content_type="text/plain")
    try:
        valid = ingest.parse_point(point, athlete=athlete, now=time.time())
    except ingest.PointError as exc:
        return HttpResponse(f"bad location: {exc}\n", status=400, content_type="text/plain")
    rows = ingest.as_rows([valid], athlete=athlete, seq=0, device=ingest.device_key(device_id))
    await ingest.group_commit().submit(rows)
    return HttpResponse("OK\n", content_type="text/plain")
