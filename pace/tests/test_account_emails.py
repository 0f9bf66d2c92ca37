"""Account e-mails (allauth) carry Pace's name and SITE_URL's address, never example.com."""

from __future__ import annotations

import pytest
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from pace.lib.testing import PASSWORD


def _text(message) -> str:
    return f"{message.subject}\n{message.body}"


@pytest.mark.django_db
def test_it_names_pace_and_its_address_in_a_password_reset_email(client, dave, settings):
    response = client.post(reverse("account_reset_password"), {"email": dave.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject.startswith("[Pace] ")
    assert "example.com" not in _text(message)
    assert settings.SITE_URL.split("://")[1] in message.body


@pytest.mark.django_db
def test_it_names_pace_in_the_signup_confirmation(client):
    data = {"email": "newbie@example.org", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post(reverse("account_signup"), data).status_code == 302
    (message,) = mail.outbox
    assert message.subject.startswith("[Pace] ")
    assert "example.com" not in _text(message)
    assert "Pace" in message.body


@pytest.mark.django_db
def test_it_keeps_the_site_in_step_with_the_settings_at_each_migrate(client, dave, settings):
    settings.SITE_URL = "https://pace.example.org"
    call_command("migrate", verbosity=0)
    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("pace.example.org", "Pace")
    client.post(reverse("account_reset_password"), {"email": dave.email})
    assert "pace.example.org" in mail.outbox[0].body
