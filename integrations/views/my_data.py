"""The athlete's data: a zip of all of it, and deleting the account."""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from integrations import account
from integrations.forms import DeleteAccountForm
from pace.lib import ratelimits


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
