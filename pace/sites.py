"""The sites framework's one ``Site`` follows the settings (``SITE_URL``, ``SITE_NAME``).

allauth names the site and its address in account e-mails (sign-up confirmation,
password reset) after ``Site(id=SITE_ID)``, which Django creates as example.com.
Every ``migrate`` (each deploy runs one) sets it from the settings again, so a
changed ``SITE_URL`` reaches the e-mails without anyone editing the record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


def site_sync(*, using: str = "default", **_: Any) -> None:
    """Make the current Site Pace's name and the host of ``SITE_URL`` (a post_migrate receiver)."""
    from django.contrib.sites.models import Site

    domain = urlsplit(settings.SITE_URL).netloc or settings.SITE_URL
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SITE_NAME}
    )
    Site.objects.clear_cache()
