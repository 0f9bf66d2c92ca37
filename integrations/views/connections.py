"""The connections page: Strava, Spotify and Last.fm, connected and disconnected."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from integrations import music, selectors
from integrations.forms import LastfmForm
from integrations.lastfm.client import LastfmError
from integrations.models import Connection, Provider
from integrations.strava.connect import disconnect_strava


@login_required
def connections(request: HttpRequest) -> HttpResponse:
    return render(
        request, "integrations/connections.html", selectors.connections_page(user=request.user)
    )


@login_required
@require_POST
def lastfm_connect(request: HttpRequest) -> HttpResponse:
    form = LastfmForm(request.POST)
    if form.is_valid():
        try:
            music.connect_lastfm(user=request.user, username=form.cleaned_data["username"])
        except music.LastfmUserUnknownError:
            form.add_error("username", "Last.fm knows no user of that name.")
        except LastfmError as exc:
            form.add_error(None, f"Last.fm could not be asked ({exc}); try again later.")
        else:
            messages.success(request, "Last.fm connected: your scrobbles arrive every 30 minutes.")
            return redirect("integrations:connections")
    context = {**selectors.connections_page(user=request.user), "lastfm_form": form}
    return render(request, "integrations/connections.html", context, status=400)


@login_required
@require_POST
def disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    """Strava, Spotify or Last.fm (the URL admits only those)."""
    user_id = int(request.user.pk or 0)  # login_required: never None here
    connection = Connection.objects.filter(user_id=user_id, provider=provider).first()
    if connection is not None:
        messages.success(request, _disconnected(connection))
    return redirect("integrations:connections")


def _disconnected(connection: Connection) -> str:
    """Disconnect; the message says what Pace deleted and what is left to the athlete."""
    if connection.provider == Provider.STRAVA:
        revoked = disconnect_strava(connection)
        return (
            "Strava disconnected; Pace deleted the activities it imported."
            + ("" if revoked else " Strava could not be reached to revoke access: remove Pace"
               " under Settings → My Apps on Strava.")
        )  # fmt: skip
    name = connection.get_provider_display()
    music.disconnect_music(connection)
    note = (
        " Remove Pace under Apps on your Spotify account page to revoke its access."
        if connection.provider == Provider.SPOTIFY
        else ""
    )
    return f"{name} disconnected; Pace deleted the plays it stored.{note}"
