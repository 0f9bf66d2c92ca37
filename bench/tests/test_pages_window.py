"""The pages bench counts live traffic over whole field intervals: a viewer's field frame
comes once an interval, so a window of any other length holds one more or one fewer by
chance. The CDP events are the ones Chromium sends (``Network.webSocketFrameReceived``)."""

from __future__ import annotations

import json
from typing import Any

from bench.pages_browser import NetLog, _ws_figures


def _frame(net: NetLog, ts: float, payload: str) -> None:
    net._frame({"timestamp": ts, "response": {"opcode": 1, "payloadData": payload}})


class _Clock:
    """The page's ``wait_for_timeout``: records the window asked for; a tick a second
    arrives meanwhile."""

    def __init__(self, net: NetLog) -> None:
        self.net, self.waited_ms = net, 0.0

    def wait_for_timeout(self, ms: float) -> None:
        self.waited_ms = ms
        for second in range(int(ms / 1000)):
            _frame(self.net, 100 + second, '{"type":"tick","seq":1,"athletes":[]}')


def test_the_window_is_rounded_up_to_whole_field_intervals() -> None:
    net = NetLog()
    snapshot = {"type": "snapshot", "seq": 1, "race": {"field_interval": 26}, "athletes": []}
    _frame(net, 99.0, json.dumps(snapshot, separators=(",", ":")))
    assert net.field_interval == 26
    page = _Clock(net)
    out: dict[str, Any] = _ws_figures(net, page, 60.0)
    assert page.waited_ms == 78_000  # three intervals of 26 s
    assert out["field_interval_s"] == 26 and out["frames"] == 78


def test_without_an_interval_the_window_is_as_asked() -> None:
    net = NetLog()
    _frame(net, 99.0, '{"type":"error","code":"not_found"}')
    assert net.field_interval is None
    page = _Clock(net)
    _ws_figures(net, page, 60.0)
    assert page.waited_ms == 60_000
