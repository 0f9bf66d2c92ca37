"""Organizers edit their events in the back office and never see another organizer's."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_it_lets_an_owner_rename_her_event_and_publishes_the_change(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha_event: Any, bravo_event: Any
) -> None:
    page.goto(live_server.url + "/admin/")
    page.wait_for_url("**/accounts/login/?next=%2Fadmin%2F")
    log_in(alice)
    page.click("#content-main tr.model-event th a")
    page.wait_for_url("**/admin/events/event/")
    expect(page.locator("#result_list tbody th a")).to_have_text(["Alpha Marathon"])

    page.click("#result_list a:text-is('Alpha Marathon')")
    page.fill("input[name=name]", "Alpha Marathon Annecy")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/events/event/")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto(live_server.url + alpha_event.get_absolute_url())
    expect(page.locator("h1")).to_have_text("Alpha Marathon Annecy")


def test_it_hides_another_organizers_event_even_by_its_address(
    page: Any, live_server: Any, log_in: Any, alice: Any, alpha_event: Any, bravo_event: Any
) -> None:
    log_in(alice, then="/admin/events/event/")
    expect(page.locator("#content")).not_to_contain_text("Bravo Trail")

    page.goto(f"{live_server.url}/admin/events/event/{bravo_event.pk}/change/")
    # The admin's answer for an object it does not know, so the checks below see that page.
    expect(page.locator(".messagelist")).to_contain_text("Perhaps it was deleted?")
    expect(page.locator("#content")).not_to_contain_text("Bravo Trail")
    expect(page.locator("#content")).not_to_contain_text("Zermatt")
    expect(page.locator("input[name=name]")).to_have_count(0)


def test_it_shows_the_other_owner_only_his_own_events(
    page: Any, log_in: Any, charlie: Any, alpha_event: Any, bravo_event: Any
) -> None:
    log_in(charlie, then="/admin/events/event/")
    expect(page.locator("#result_list tbody th a")).to_have_text(["Bravo Trail"])
    expect(page.locator("#content")).not_to_contain_text("Alpha")


def test_it_does_not_loop_a_signed_in_athlete_between_the_back_office_and_the_login(
    page: Any, live_server: Any, log_in: Any, dave: Any
) -> None:
    log_in(dave, then="/")
    response = page.goto(live_server.url + "/admin/")
    assert response.status == 200
    expect(page).to_have_url(f"{live_server.url}/organizers/new/")
    expect(page.locator("body")).to_contain_text("The back office is for organizers")
