"""``POST /timing/reads/``: reads pushed by decoders and timing apps (README "Timing")."""

from __future__ import annotations

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pace.lib.ratelimits import hit, request_ip, too_many_requests
from results.push import MAX_BODY_BYTES, BatchError, push_reads
from results.timing_tokens import timing_token_find

logger = logging.getLogger(__name__)


def _error(reason: str, status: int) -> JsonResponse:
    response = JsonResponse({"error": reason}, status=status)
    # A decoder's bad batch is its own business: INFO, not Django's WARNING per 4xx.
    logger.info("/timing/reads/ %s: %s", status, reason[:120])
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's log_response
    return response


def _bearer(request: HttpRequest) -> str:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_POST
def timing_reads(request: HttpRequest) -> HttpResponse:
    """A batch of reads for the race of the request's timing token.

    An address past its failed-token limit gets 429 before any lookup; a token past its
    own limit too. Then the body is read: 413 past its size, 400 when it is not a batch.
    """
    ip = request_ip(request)
    limited = hit(name="timing.push.badtoken.ip", key=ip, increment=False)
    if limited:
        return too_many_requests(limited)
    token = timing_token_find(_bearer(request))
    if token is None:
        limited = hit(name="timing.push.badtoken.ip", key=ip)
        return (
            too_many_requests(limited)
            if limited
            else _error("A live timing token is needed: Authorization: Bearer <token>.", 401)
        )
    limited = hit(name="timing.push.token", key=str(token.pk))
    if limited:
        return too_many_requests(limited)
    try:
        body = request.body
    except RequestDataTooBig:
        body = b"\x00" * (MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(f"The body is over {MAX_BODY_BYTES} bytes: send fewer reads at once.", 413)
    try:
        answer = push_reads(token=token, body=json.loads(body))
    except (ValueError, RecursionError) as exc:  # JSON's errors and BatchError alike
        reason = str(exc) if isinstance(exc, BatchError) else "The body is not JSON."
        return _error(reason, 400)
    return JsonResponse(answer.body, status=answer.status)
