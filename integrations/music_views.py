"""The athlete's own pages: activities (upload, map with music), fastest tracks, the
Spotify and Last.fm connections, and their data (export, delete). Owner only."""

from __future__ import annotations

import tempfile
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from integrations import account, music, music_selectors, selectors, uploads
from integrations.lastfm.client import LastfmError
from integrations.models import Activity, Connection, Provider
from integrations.music_forms import DeleteAccountForm, LastfmForm, UploadForm
from pace.lib import ratelimits


def _me(request: HttpRequest) -> Any:
    """The logged-in user (login_required let the request in)."""
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def activities(request: HttpRequest) -> HttpResponse:
    form = UploadForm()
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        limited = ratelimits.hit(name="activity.upload.account", key=str(request.user.pk))
        if limited:
            form.add_error(None, limited.reason)
            status = 429
        elif form.is_valid():
            result = uploads.upload_activity(
                user=request.user,
                raw=form.raw,
                filename=form.cleaned_data["file"].name,
                parsed=form.parsed,
            )
            if not result.created:
                messages.info(request, "You had uploaded this workout already: here it is.")
            return redirect("music:activity", activity_id=result.activity.pk)
        else:
            status = 400
    recent = Activity.objects.filter(user=_me(request)).order_by("-start")[:50]
    return render(
        request, "integrations/activities.html", {"form": form, "activities": recent}, status=status
    )


@login_required
def activity(request: HttpRequest, activity_id: int) -> HttpResponse:
    context = music_selectors.activity_page(user=request.user, activity_id=activity_id)
    return render(request, "integrations/activity.html", context)


@login_required
def fastest_tracks(request: HttpRequest) -> HttpResponse:
    return render(
        request, "integrations/fastest.html", music_selectors.fastest_tracks_page(user=request.user)
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
def music_disconnect(request: HttpRequest, provider: str) -> HttpResponse:
    if provider in (Provider.SPOTIFY, Provider.LASTFM):
        connection = Connection.objects.filter(user=_me(request), provider=provider).first()
        if connection is not None:
            music.disconnect_music(connection)
            note = (
                " Remove Pace under Apps on your Spotify account page to revoke its access."
                if provider == Provider.SPOTIFY
                else ""
            )
            messages.success(
                request,
                f"{connection.get_provider_display()} disconnected; Pace deleted"
                f" the plays it stored.{note}",
            )
    return redirect("integrations:connections")


@login_required
@require_http_methods(["GET", "POST"])
def my_data(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(user=request.user)
    blockers = account.owned_alone(user=request.user)
    status = 200
    if request.method == "POST":
        form = DeleteAccountForm(request.POST, user=request.user)
        if blockers:
            form.add_error(None, "Hand your organizers to another owner first.")
        if form.is_valid():
            user = request.user
            logout(request)
            account.delete_account(user=user)
            messages.success(request, "Your account and your data are deleted.")
            return redirect("events:home")
        status = 400
    return render(
        request, "integrations/my_data.html", {"form": form, "blockers": blockers}, status=status
    )


@login_required
def my_data_export(request: HttpRequest) -> HttpResponseBase:
    limited = ratelimits.hit(name="account.export.account", key=str(request.user.pk))
    if limited:
        return HttpResponse(limited.reason, status=429, content_type="text/plain")
    archive = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    account.export_zip(user=request.user, into=archive)
    archive.seek(0)
    # FileResponse streams the file and closes it when sent.
    return FileResponse(
        archive, as_attachment=True, filename="pace-my-data.zip", content_type="application/zip"
    )
