"""Anyone with an account can start an organizer and enter the back office as its owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from events.models import Membership, Organizer

pytestmark = pytest.mark.django_db

SIGNUP = reverse("events:organizer_signup")
VALID = {"name": "Dave's Runs", "country": "BE", "contact_email": "runs@example.com"}


def test_it_asks_visitors_to_log_in_first(client: Client):
    for response in (client.get(SIGNUP), client.post(SIGNUP, VALID)):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={SIGNUP}"
    assert not Organizer.objects.exists()


def test_it_offers_the_users_email_as_the_contact(client: Client, dave):
    client.force_login(dave)
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert response.context["form"]["contact_email"].value() == "dave@example.com"


def test_it_makes_the_user_owner_of_the_new_organizer(client: Client, dave, alpha, bravo):
    client.force_login(dave)
    response = client.post(SIGNUP, {**VALID, "website": "https://runs.example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:events_event_add")
    organizer = Organizer.objects.get(name="Dave's Runs")
    assert (organizer.slug, organizer.country) == ("daves-runs", "BE")  # a Country equals its code
    assert organizer.contact_email == "runs@example.com"
    assert organizer.website == "https://runs.example.com"
    assert list(organizer.memberships.values_list("user__username", "role")) == [("dave", "owner")]


def test_it_lets_the_new_owner_into_the_back_office_with_only_their_organizer(
    client: Client, dave, alpha, bravo
):
    client.force_login(dave)
    assert client.get("/admin/").status_code == 302  # an athlete, not yet an organizer
    add_event = client.post(SIGNUP, VALID, follow=True)
    assert add_event.status_code == 200
    assert "Dave&#x27;s Runs is ready. Add your first event." in add_event.content.decode()
    organizer = Organizer.objects.get(name="Dave's Runs")
    assert add_event.context["adminform"].form["organizer"].value() == organizer.pk
    assert client.get("/admin/").status_code == 200
    listed = client.get(reverse("admin:events_organizer_changelist"))
    assert list(listed.context["cl"].result_list) == [organizer]
    assert "Alpha Races" not in listed.content.decode()
    assert "Bravo Events" not in listed.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "Ensure this value has at most 200 characters (it has 201)."),
        (
            {"country": "ZZ"},
            "country",
            "Select a valid choice. ZZ is not one of the available choices.",
        ),
        ({"contact_email": "not-an-email"}, "contact_email", "Enter a valid email address."),
        ({"website": "not a url"}, "website", "Enter a valid URL."),
    ],
)
def test_it_shows_what_is_wrong_and_creates_nothing(client: Client, dave, change, field, message):
    client.force_login(dave)
    response = client.post(SIGNUP, {**VALID, **change})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not Organizer.objects.exists()
    assert not Membership.objects.exists()


def test_it_gives_a_second_organizer_of_the_same_name_its_own_address(
    client: Client, alpha: Any, dave
):
    client.force_login(dave)
    client.post(SIGNUP, {**VALID, "name": "Alpha Races"})
    client.post(SIGNUP, {**VALID, "name": "Alpha Races"})
    slugs = list(Organizer.objects.filter(name="Alpha Races").values_list("slug", flat=True))
    assert sorted(slugs) == ["alpha-races", "alpha-races-2", "alpha-races-3"]
    assert Organizer.objects.get(slug="alpha-races").memberships.filter(user=dave).count() == 0
    theirs = Organizer.objects.filter(memberships__user=dave).order_by("slug")
    assert [o.slug for o in theirs] == ["alpha-races-2", "alpha-races-3"]
    assert client.get(reverse("events:organizer", args=["alpha-races-2"])).status_code == 200


def test_it_gives_a_name_without_letters_a_usable_address(client: Client, dave):
    client.force_login(dave)
    client.post(SIGNUP, {**VALID, "name": "!!!"})
    assert Organizer.objects.get(name="!!!").slug == "item"
