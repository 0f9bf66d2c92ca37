"""The request type of views that only signed-in users reach."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """A ``login_required`` view's request, whose user is signed in: for the type checker
    (``request.user`` is otherwise a User or an AnonymousUser); nothing is built from it."""

    user: User
