"""The e-mails sent to a race's participants, on the race's history page in the admin."""

from __future__ import annotations

from django import template

from events.mass_email import EmailBatch, race_email_history
from events.models import Race

register = template.Library()


@register.simple_tag
def race_emails(race: Race) -> list[EmailBatch]:
    return race_email_history(race=race)
