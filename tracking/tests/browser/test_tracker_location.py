"""The tracker tells the athlete what a location error means (browsers' messages are
often empty), on a line of its own that the connection's news does not take, and the
next good fix clears it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tracking.sim.testrace import load_test_race_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The phone's GPS, played by the test: window.paceGps.fail(code) / .fix(lat, lon).
FAKE_GPS = """
window.paceGps = { ok: null, bad: null };
navigator.geolocation.watchPosition = (ok, bad) => {
  paceGps.ok = ok; paceGps.bad = bad; return 1;
};
navigator.geolocation.clearWatch = () => {};
paceGps.fail = (code) => paceGps.bad({ code, message: "" });
paceGps.fix = (lat, lon) => paceGps.ok({ timestamp: Date.now(),
  coords: { latitude: lat, longitude: lon, accuracy: 5, altitude: null, speed: null } });
"""


def start_tracking(page: Any, url: str, socket: Any) -> Any:
    data = load_test_race_create(athletes=1)
    page.add_init_script(FAKE_GPS)
    page.route_web_socket("**/ws/track/**", socket)
    page.set_default_timeout(20_000)
    page.goto(f"{url}/track/?token={data['athletes'][0]['token']}")
    card = page.locator(".track-card")
    card.locator(".start-tracking").click()
    page.wait_for_function("() => !!window.paceGps.bad")
    return card


def test_it_explains_location_errors_and_clears_them_on_a_fix(page: Any, live_server: Any) -> None:
    # The socket, played by the test, stays open and says nothing.
    card = start_tracking(page, live_server.url, lambda ws: None)
    line = card.locator(".t-location")
    expect(line).to_be_hidden()
    for code, says in ((1, "blocked"), (2, "No GPS position"), (3, "waiting")):
        page.evaluate("code => paceGps.fail(code)", code)
        expect(line).to_be_visible()
        expect(line).to_contain_text(says)
    page.evaluate("() => paceGps.fix(45.9, 6.1)")
    expect(line).to_be_hidden()
    expect(line).to_have_text("")
    page.evaluate("() => paceGps.fail(2)")
    card.locator(".start-tracking").click()  # stop: the GPS is no longer asked
    expect(line).to_be_hidden()


def test_no_connection_and_no_gps_are_both_in_view(page: Any, live_server: Any) -> None:
    # In a valley both are true: the server cannot be reached (its socket closes at once)
    # and there is no GPS position. Neither line takes the other's place.
    sockets: list[Any] = []

    def refuse(ws: Any) -> None:
        sockets.append(ws)
        ws.close()

    card = start_tracking(page, live_server.url, refuse)
    page.evaluate("() => paceGps.fail(2)")
    expect(card.locator(".tracker-log")).to_contain_text("Retrying in")
    expect(card.locator(".t-location")).to_contain_text("No GPS position")
    for _ in range(100):  # until the tracker has retried (Playwright runs the route meanwhile)
        if len(sockets) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(sockets) >= 2
    expect(card.locator(".t-location")).to_contain_text("No GPS position")
    expect(card.locator(".tracker-log")).to_contain_text("No connection")
