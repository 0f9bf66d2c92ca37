"""Entering a race, the entry's page and the athlete's list of entries."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from events import selectors
from events.entry_forms import EntryForm
from events.models import Race, Registration
from events.registration import RegistrationError, registration_create, registration_price


@never_cache
def race_entry(request: HttpRequest, slug: str, race_slug: str) -> HttpResponse:
    event = selectors.event_for_page(slug=slug, user=request.user)
    race = get_object_or_404(
        Race.objects.prefetch_related("questions"), event=event, slug=race_slug
    )
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = EntryForm(request.POST or None, race=race, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                registration = registration_create(
                    race=race, user=request.user, entry=form.cleaned_data, answers=form.answers()
                )
            except RegistrationError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("events:entry", token=registration.manage_token)
        status = 400
    context = {"event": event, "race": race, "form": form, "price": registration_price(race=race)}
    return render(request, "events/race_entry.html", context, status=status)


@never_cache
def entry_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation page; its secret link is also how a guest manages the entry."""
    registration = get_object_or_404(
        Registration.objects.select_related("race__event", "category").prefetch_related("payments"),
        manage_token=token,
    )
    return render(request, "events/entry_detail.html", {"r": registration})


@login_required
def my_races(request: HttpRequest) -> HttpResponse:
    entries = (
        Registration.objects.filter(user=request.user)
        .select_related("race__event")
        .order_by("-race__start_time")
    )
    return render(request, "events/my_races.html", {"entries": entries})
