"""The athlete's activities: uploading a workout file, one activity's map with the music
that played, the tracks they run fastest to. Owner only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from integrations import selectors, uploads
from integrations.forms import UploadForm
from integrations.models import Activity
from pace.lib import ratelimits


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
            return redirect("integrations:activity", activity_id=result.activity.pk)
        else:
            status = 400
    recent = Activity.objects.filter(user_id=int(request.user.pk or 0)).order_by("-start")[:50]
    return render(
        request, "integrations/activities.html", {"form": form, "activities": recent}, status=status
    )


@login_required
def activity(request: HttpRequest, activity_id: int) -> HttpResponse:
    context = selectors.activity_page(user=request.user, activity_id=activity_id)
    return render(request, "integrations/activity.html", context)


@login_required
def fastest_tracks(request: HttpRequest) -> HttpResponse:
    return render(
        request, "integrations/fastest.html", selectors.fastest_tracks_page(user=request.user)
    )
