"""The tracker tells the athlete what a location error means (browsers' messages are
often empty), and the next good fix clears it."""

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


def test_it_explains_location_errors_and_clears_them_on_a_fix(page: Any, live_server: Any) -> None:
    data = load_test_race_create(athletes=1)
    page.add_init_script(FAKE_GPS)
    # The socket, played by the test, stays open and says nothing: the tracker's one line
    # of news then holds the location's, not "No connection" (this server has no sockets).
    page.route_web_socket("**/ws/track/**", lambda ws: None)
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/track/?token={data['athletes'][0]['token']}")
    card = page.locator(".track-card")
    card.locator(".start-tracking").click()
    page.wait_for_function("() => !!window.paceGps.bad")
    log = card.locator(".tracker-log")
    for code, says in ((1, "blocked"), (2, "No GPS position"), (3, "waiting")):
        page.evaluate("code => paceGps.fail(code)", code)
        expect(log).to_contain_text(says)
    page.evaluate("() => paceGps.fix(45.9, 6.1)")
    expect(log).to_have_text("")
