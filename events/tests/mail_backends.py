"""Mail servers as tests need them, at the mail seam (Django's e-mail backend).

Each keeps what it accepts in ``django.core.mail.outbox`` like the test backend,
and refuses the way an SMTP server does (``smtplib`` errors are ``OSError``).
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.mail.backends.locmem import EmailBackend


class RefusingBackend(EmailBackend):
    """Refuses addresses at ``bounce.example`` for good (550) and those at
    ``busy.example`` for the first ``busy_times`` attempts (451, try again later)."""

    busy_times: ClassVar[int] = 2
    attempts: ClassVar[dict[str, int]] = {}

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        for message in email_messages:
            for to in message.recipients():
                tries = RefusingBackend.attempts[to] = RefusingBackend.attempts.get(to, 0) + 1
                if to.endswith("@bounce.example"):
                    raise smtplib.SMTPRecipientsRefused({to: (550, b"5.1.1 No such user")})
                if to.endswith("@busy.example") and tries <= self.busy_times:
                    raise smtplib.SMTPRecipientsRefused({to: (451, b"4.3.0 Try again later")})
        return super().send_messages(email_messages)
