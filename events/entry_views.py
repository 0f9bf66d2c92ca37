"""Entering a race, the entry's own page (transfer, cancel), the waitlist, My races."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from events import entry_panels, payment_providers, selectors
from events.entry_changes import registration_cancel, registration_transfer
from events.entry_forms import EntryForm, TransferForm, WaitlistForm, teammate_formset
from events.models import Race, Registration
from events.pricing import quote
from events.registration import (
    RaceFullError,
    RegistrationError,
    TooManyHeldError,
    closed_reason,
    entrant_is_verified,
    places_left,
    registration_confirm_email,
    registration_create,
)
from events.waitlist import waitlist_join
from pace.lib.auth import AuthenticatedHttpRequest
from pace.lib.ratelimits import Limited, first_limited, ip_digest, request_ip

# Entries are counted by site for IPv6: anyone renting a server gets a /48, 65,536 /64s.
_ENTRY_IPV6_PREFIX = 48

# What a refused entry is told, by the limit that refused it.
_LIMITED = {
    "entry.ip": "Too many entries were sent from your connection",
    "entry.account": "Too many entries were sent from your account",
    "entry.email": "Too many entries were sent for this e-mail address",
}


def _race(request: HttpRequest, slug: str, race_slug: str) -> Race:
    event = selectors.event_for_page(slug=slug, user=request.user)
    races = Race.objects.select_related("event__organizer").prefetch_related("questions")
    return get_object_or_404(races, event=event, slug=race_slug)


def _next_step(registration: Registration) -> HttpResponse:
    if registration.status == Registration.Status.PENDING:
        return redirect(payment_providers.get().pay_url(registration=registration))
    return redirect("events:entry", token=registration.manage_token)


def _entry_limited(request: HttpRequest, email: str, *, held: bool) -> Limited | None:
    """Count an entry against the IP, the account, and the address a held entry's link goes to.

    That address is a guest's, or an unverified account's own.
    """
    attempts = [("entry.ip", request_ip(request, ipv6_prefix=_ENTRY_IPV6_PREFIX))]
    if request.user.is_authenticated:
        attempts.append(("entry.account", str(request.user.pk)))
        email = request.user.email or email
    if held:
        attempts.append(("entry.email", email.strip().lower()))
    return first_limited(attempts=attempts)


@dataclass(frozen=True)
class _Outcome:
    registration: Registration | None = None
    full: bool = False
    limited: Limited | None = None


def _submit(request: HttpRequest, race: Race, form: EntryForm, mates: Any, offer: str) -> _Outcome:
    """Take the entry of a valid form; errors land on the form."""
    if not (form.is_valid() and (race.team_size == 1 or mates.is_valid())):
        return _Outcome()
    held = not entrant_is_verified(request.user)
    limited = _entry_limited(request, form.cleaned_data["email"], held=held)
    if limited is not None:
        form.add_error(None, f"{_LIMITED[limited.name]}: please try again in {_wait(limited)}.")
        return _Outcome(limited=limited)
    try:
        registration = registration_create(
            race=race, user=request.user, entry=form.cleaned_data, answers=form.answers(),
            code=form.cleaned_data["code"], offer_token=offer,
            team_name=form.cleaned_data.get("team_name", ""),
            teammates=[m.cleaned_data for m in mates] if race.team_size > 1 else [],
            hold_for_email=held,
            entered_from=ip_digest(request_ip(request, ipv6_prefix=_ENTRY_IPV6_PREFIX)),
        )  # fmt: skip
    except TooManyHeldError as exc:
        limited = Limited(name="entry.held", retry_after=exc.retry_after)
        form.add_error(None, f"{exc} A place frees in {_wait(limited)}.")
        return _Outcome(limited=limited)
    except RaceFullError as exc:
        form.add_error(None, str(exc))
        return _Outcome(full=True)
    except RegistrationError as exc:
        form.add_error(None, str(exc))
        return _Outcome()
    return _Outcome(registration=registration)


def _wait(limited: Limited) -> str:
    minutes = -(-limited.retry_after // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


@never_cache
def race_entry(request: HttpRequest, slug: str, race_slug: str) -> HttpResponse:
    race = _race(request, slug, race_slug)
    offer = request.GET.get("offer", "")
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = EntryForm(request.POST or None, race=race, initial=initial)
    mates = teammate_formset(race, request.POST or None)
    outcome = _Outcome()
    if request.method == "POST":
        outcome = _submit(request, race, form, mates, offer)
        if outcome.registration is not None:
            return _next_step(outcome.registration)
    left = places_left(race=race)
    context = {
        "event": race.event, "race": race, "form": form, "mates": mates, "quote": quote(race=race),
        "offer": offer, "full": outcome.full or (left == 0 and not offer), "places_left": left,
        "waitlist_form": WaitlistForm(), "closed": closed_reason(race=race),
    }  # fmt: skip
    if request.method != "POST":
        return render(request, "events/race_entry.html", context)
    # A POST that reaches this point failed: it is answered 400 with its errors (429 when
    # a limit refused it, with when to try again).
    if outcome.limited is None:
        return render(request, "events/race_entry.html", context, status=400)
    response = render(request, "events/race_entry.html", context, status=429)
    response["Retry-After"] = str(outcome.limited.retry_after)
    return response


@require_POST
def waitlist(request: HttpRequest, slug: str, race_slug: str) -> HttpResponse:
    race = _race(request, slug, race_slug)
    form = WaitlistForm(request.POST)
    if form.is_valid():
        try:
            waitlist_join(race=race, user=request.user, **form.cleaned_data)
        except RegistrationError as exc:
            messages.error(request, str(exc))
            return redirect("events:enter", slug=slug, race_slug=race_slug)
        messages.success(request, "You are on the waitlist; we will e-mail you if a place frees.")
        return redirect(race.event.get_absolute_url())
    return render(request, "events/waitlist_error.html", {"race": race, "form": form}, status=400)


def _registration(token: str) -> Registration:
    return get_object_or_404(
        Registration.objects.select_related("race__event", "category", "team"),
        manage_token=token,
    )


@never_cache
def entry_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The entry's page; its secret link is also how a guest manages the entry."""
    registration = _registration(token)
    provider = payment_providers.get()
    context = {
        "r": registration,
        "members": registration.team.members.all() if registration.team is not None else [],
        "pay_url": provider.pay_url(registration=registration),
        "payments": provider.payment_lines(registrations=[registration])[registration.pk],
        "panels": entry_panels.entry_panels(request=request, registration=registration),
    }
    return render(request, "events/entry_detail.html", context)


@never_cache
def entry_confirm_email(request: HttpRequest, token: str, key: str) -> HttpResponse:
    """The link e-mailed to a guest: its button takes the entry held for them.

    Opening the link changes nothing: mail scanners and link previews open every link in
    a message, and would otherwise take (and start paying for) entries nobody confirmed.
    """
    registration = _registration(token)
    if request.method != "POST":
        if registration.status != Registration.Status.UNVERIFIED:
            return redirect("events:entry", token=token)  # confirmed already, or released
        reason = closed_reason(race=registration.race)
        if reason:  # no button that can only be refused
            messages.error(request, reason)
            return redirect("events:entry", token=token)
        return render(request, "events/entry_confirm.html", {"r": registration})
    try:
        registration = registration_confirm_email(registration=registration, key=key)
    except RegistrationError as exc:
        messages.error(request, str(exc))
        return redirect("events:entry", token=token)
    return _next_step(registration)


@never_cache
def entry_transfer(request: HttpRequest, token: str) -> HttpResponse:
    registration = _registration(token)
    form = TransferForm(request.POST or None, race=registration.race)
    if request.method == "POST" and form.is_valid():
        try:
            moved = registration_transfer(
                registration=registration, entry=form.cleaned_data, actor=request.user
            )
        except RegistrationError as exc:
            form.add_error(None, str(exc))
        else:
            # Never to the entry's page: its new link is the new holder's alone (e-mailed).
            messages.success(
                request,
                f"The entry now belongs to {moved.name}: we e-mailed them the link to manage "
                "it. Your link no longer opens it.",
            )
            if request.user.is_authenticated:
                return redirect("events:my_races")
            return redirect(moved.race.event.get_absolute_url())
    status = 400 if form.errors else 200
    return render(
        request, "events/entry_transfer.html", {"r": registration, "form": form}, status=status
    )


@require_POST
def entry_cancel(request: HttpRequest, token: str) -> HttpResponse:
    registration = _registration(token)
    try:
        registration_cancel(registration=registration, actor=request.user)
    except RegistrationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your entry is cancelled.")
    return redirect("events:entry", token=token)


@login_required
def my_races(request: AuthenticatedHttpRequest) -> HttpResponse:
    entries = list(
        Registration.objects.filter(user=request.user)
        .select_related("race__event")
        .order_by("-race__start_time")
    )
    # Refunds show next to each entry's status.
    payments = payment_providers.get().payment_lines(registrations=entries)
    rows = [(entry, payments[entry.pk]) for entry in entries]
    return render(request, "events/my_races.html", {"entries": rows})
