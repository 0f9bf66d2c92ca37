"""E-mails to athletes.

Subjects hold names organizers typed (events, races): ``one_line`` keeps a line
break in a name from failing the send (``BadHeaderError``) or adding a header.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from events import payment_providers
from events.models import Registration
from pace.lib.mail import one_line


def registration_manage_url(registration: Registration) -> str:
    return settings.SITE_URL + reverse("events:entry", args=[registration.manage_token])


def entry_confirm_email_path(registration: Registration) -> str:
    """The link that takes a guest's held entry (it proves the e-mail address is theirs)."""
    from events.registration import email_confirmation_key

    key = email_confirmation_key(registration=registration)
    return reverse("events:entry_confirm", args=[registration.manage_token, key])


def registration_confirmation_send(*, registration_id: int) -> None:
    """The entry's details and the link to manage it; sending twice is harmless."""
    registration = (
        Registration.objects.select_related("race__event", "category")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        return
    context = {"r": registration, "manage_url": registration_manage_url(registration)}
    send_mail(
        subject=one_line(f"Your entry: {registration.race.event.name}, {registration.race.name}"),
        message=render_to_string("events/email/confirmation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[registration.email],
    )


def entry_email_check_send(*, registration_id: int) -> None:
    """The link a guest follows to take the entry held for them; none once it is decided."""
    registration = (
        Registration.objects.select_related("race__event", "user")
        .filter(pk=registration_id, status=Registration.Status.UNVERIFIED)
        .first()
    )
    if registration is None:
        return
    # An account not yet verified proves its own address (any address may be typed in
    # the form): following the link is what makes its entry count.
    user = registration.user
    recipient = (user.email if user is not None else "") or registration.email
    context = {
        "r": registration,
        "confirm_url": settings.SITE_URL + entry_confirm_email_path(registration),
    }
    send_mail(
        subject=one_line(
            f"Confirm your entry: {registration.race.event.name}, {registration.race.name}"
        ),
        message=render_to_string("events/email/confirm_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[recipient],
    )


def waitlist_offer_send(*, entry_id: int) -> None:
    from events.models import WaitlistEntry

    entry = WaitlistEntry.objects.select_related("race__event").filter(pk=entry_id).first()
    if entry is None or entry.status != WaitlistEntry.Status.OFFERED:
        return
    race = entry.race
    url = settings.SITE_URL + reverse("events:enter", args=[race.event.slug, race.slug])
    send_mail(
        subject=one_line(f"A place is free: {race.event.name}, {race.name}"),
        message=render_to_string(
            "events/email/waitlist_offer.txt",
            {"entry": entry, "url": f"{url}?offer={entry.offer_token}"},
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[entry.email],
    )


def registration_cancelled_send(*, registration_id: int, by_organizer: bool) -> None:
    """Tell the athlete (and each team-mate with an address of their own) the entry is off."""
    registration = (
        Registration.objects.select_related("race__event__organizer")
        .filter(pk=registration_id, status=Registration.Status.CANCELLED)
        .first()
    )
    if registration is None:  # confirmed again meanwhile (a late payment found its place)
        return
    paid = payment_providers.get().paid(registration=registration)
    members = registration.team.members.all() if registration.team is not None else [registration]
    # The entry cancelled first: its address gets the copy of an address team-mates share.
    members = sorted(members, key=lambda member: member.pk != registration.pk)
    race = registration.race
    subject = one_line(f"Entry cancelled: {race.event.name}, {race.name}")
    seen: set[str] = set()
    for member in members:
        if member.email.lower() in seen or member.status != Registration.Status.CANCELLED:
            continue
        seen.add(member.email.lower())
        context = {"r": member, "by_organizer": by_organizer, "paid": paid}
        send_mail(
            subject=subject,
            message=render_to_string("events/email/cancelled.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[member.email],
        )
