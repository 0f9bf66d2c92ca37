"""The page benchmark's phone: real Chromium driven by Playwright, throttled over CDP.

One browser context is one phone with an empty cache. ``visit`` opens a page in it
under the throttled profile and reads, from the page and from the DevTools protocol:

- ``first_paint_ms``, ``first_contentful_paint_ms`` (``paint`` performance entries) and
  ``largest_contentful_paint_ms``, from the start of the navigation;
- ``live_ms``: the ``pace:live`` mark ``static/tracking/live.js`` sets when it has rendered
  its first snapshot on the board (the leaders and those followed, from the snapshot's
  state objects; a phone opens on the board, the map is a tab away); ``live_painted_ms``:
  the frame after it; ``field_ms``: the ``pace:field`` mark, the whole field (field.json)
  rendered too; ``map_ms``: ``pace:map``, the first athlete on the map (Leaflet loaded);
- the bytes the load transferred (``Network.loadingFinished``'s ``encodedDataLength``:
  compressed body and headers) by resource type, and each resource's timing;
- the WebSocket: when its first frame (the snapshot) arrived and how big it was, and the
  bytes of every frame received afterwards (``Network.webSocketFrameReceived``); over the
  same window, the bytes of the page's fetches (field.json refreshes, the athlete panel):
  live traffic is both.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

# Collected in the page from its first script on: paint entries, LCP and the live mark.
PROBE = """
(() => {
  const t = { paints: {}, lcp: null, live: null, livePainted: null, field: null, map: null };
  window.__paceBench = t;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { t.paints[e.name] = e.startTime; }
  }).observe({ type: "paint", buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { t.lcp = e.startTime; }
  }).observe({ type: "largest-contentful-paint", buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.name === "pace:live" && t.live === null) {
        t.live = e.startTime;
        requestAnimationFrame(() => setTimeout(() => { t.livePainted = performance.now(); }, 0));
      }
      if (e.name === "pace:field" && t.field === null) { t.field = e.startTime; }
      if (e.name === "pace:map" && t.map === null) { t.map = e.startTime; }
    }
  }).observe({ type: "mark", buffered: true });
})();
"""

RESOURCES = """
() => performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))
  .map((e) => ({
    name: e.name.replace(location.origin, ""), type: e.initiatorType,
    start: Math.round(e.startTime), response_start: Math.round(e.responseStart),
    end: Math.round(e.responseEnd), transfer: e.transferSize, body: e.decodedBodySize,
    blocking: e.renderBlockingStatus || null,
  }))
"""


@dataclass(frozen=True)
class Profile:
    """The network and CPU of the phone (issue 18: 400 kbps, 400 ms RTT, 4x CPU)."""

    latency_ms: float = 400.0
    kbps: float = 400.0
    cpu_rate: float = 4.0
    throttle: bool = True

    @property
    def bytes_per_s(self) -> float:
        return self.kbps * 1000 / 8

    def describe(self) -> dict[str, Any]:
        if not self.throttle:
            return {"throttled": False}
        return {
            "throttled": True,
            "latency_ms": self.latency_ms,
            "down_up_kbps": self.kbps,
            "bytes_per_s": self.bytes_per_s,
            "cpu_slowdown": self.cpu_rate,
        }


def ws_frame_bytes(payload_len: int) -> int:
    """A server frame's size on the wire (RFC 6455: unmasked, 2, 4 or 10 header bytes)."""
    return payload_len + (2 if payload_len < 126 else 4 if payload_len < 65536 else 10)


@dataclass
class NetLog:
    """What CDP said about one page's network: requests and WebSocket frames."""

    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    doc_ts: float | None = None  # CDP monotonic time of the document's request
    frames: list[tuple[float, int]] = field(default_factory=list)  # (ts, wire bytes)
    fetches: list[tuple[float, int]] = field(default_factory=list)  # (ts, bytes) of fetches
    ws_extensions: str | None = None
    ws_opened_ts: float | None = None
    # Every socket the page opened, and how those that failed failed (a refusal, a
    # timeout): a late snapshot is a slow server or a retry, and these tell which.
    ws_created: int = 0
    ws_requested_ts: float | None = None  # the last socket's upgrade request sent
    ws_failures: list[tuple[float, str]] = field(default_factory=list)
    field_interval: float | None = None  # the snapshot's race.field_interval (s)

    def attach(self, cdp: Any) -> None:
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.webSocketHandshakeResponseReceived", self._ws_open)
        cdp.on("Network.webSocketFrameReceived", self._frame)
        cdp.on("Network.webSocketCreated", self._ws_created)
        cdp.on("Network.webSocketWillSendHandshakeRequest", self._ws_requested)
        cdp.on("Network.webSocketFrameError", self._ws_failed)
        cdp.on("Network.webSocketClosed", lambda ev: self._ws_failed(ev, "closed"))

    def _sent(self, ev: dict[str, Any]) -> None:
        kind = ev.get("type") or "Other"
        self.requests[ev["requestId"]] = {"url": ev["request"]["url"], "type": kind, "bytes": 0}
        if kind == "Document" and self.doc_ts is None:
            self.doc_ts = ev["timestamp"]

    def _response(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            resp = ev["response"]
            headers = {k.lower(): v for k, v in resp.get("headers", {}).items()}
            req.update(
                status=resp.get("status"),
                encoding=headers.get("content-encoding"),
                cache_control=headers.get("cache-control"),
                from_cache=bool(resp.get("fromDiskCache") or resp.get("fromPrefetchCache")),
            )

    def _from_cache(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req["from_cache"] = True

    def _finished(self, ev: dict[str, Any]) -> None:
        req = self.requests.get(ev["requestId"])
        if req is not None:
            req["bytes"] = int(ev.get("encodedDataLength") or 0)
            if req["type"] in ("Fetch", "XHR"):
                self.fetches.append((ev["timestamp"], req["bytes"]))

    def _ws_open(self, ev: dict[str, Any]) -> None:
        headers = {k.lower(): v for k, v in ev["response"].get("headers", {}).items()}
        self.ws_extensions = headers.get("sec-websocket-extensions")
        self.ws_opened_ts = ev["timestamp"]

    def _ws_created(self, ev: dict[str, Any]) -> None:
        self.ws_created += 1

    def _ws_requested(self, ev: dict[str, Any]) -> None:
        self.ws_requested_ts = ev["timestamp"]

    def _ws_failed(self, ev: dict[str, Any], why: str = "") -> None:
        self.ws_failures.append((ev["timestamp"], why or ev.get("errorMessage", "error")))

    def _frame(self, ev: dict[str, Any]) -> None:
        data = ev["response"].get("payloadData", "")
        text = ev["response"].get("opcode") != 2
        n = len(data.encode()) if text else len(data) * 3 // 4
        if text and not self.frames and data.startswith('{"type":"snapshot"'):
            race = json.loads(data).get("race") or {}
            self.field_interval = race.get("field_interval")
        self.frames.append((ev["timestamp"], ws_frame_bytes(n)))

    def since_doc_ms(self, ts: float | None) -> float | None:
        if ts is None or self.doc_ts is None:
            return None
        return round((ts - self.doc_ts) * 1000, 1)

    def bytes_by_type(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for req in self.requests.values():
            if req["type"] != "WebSocket":
                out[req["type"]] = out.get(req["type"], 0) + req["bytes"]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def open_phone(browser: Any, profile: Profile) -> Any:
    """A new phone (browser context: empty cache, no cookies), 390 x 844."""
    return browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )


def throttled_page(context: Any, profile: Profile) -> tuple[Any, Any, NetLog]:
    page = context.new_page()
    page.add_init_script(PROBE)
    cdp = context.new_cdp_session(page)
    net = NetLog()
    net.attach(cdp)
    cdp.send("Network.enable")
    if profile.throttle:
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": profile.latency_ms,
                "downloadThroughput": profile.bytes_per_s,
                "uploadThroughput": profile.bytes_per_s,
                "connectionType": "cellular3g",
            },
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": profile.cpu_rate})
    return page, cdp, net


def visit(
    context: Any,
    url: str,
    profile: Profile,
    *,
    live: bool,
    live_timeout_s: float = 60.0,
    ws_seconds: float = 0.0,
) -> dict[str, Any]:
    """Open ``url`` in a new tab of ``context``; the figures of the module docstring.

    ``live``: wait for the page's ``pace:live`` mark (up to ``live_timeout_s``); then, for
    ``ws_seconds``, count the WebSocket's bytes received."""
    page, cdp, net = throttled_page(context, profile)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)[:300]))
    out: dict[str, Any] = {"url": url}
    try:
        response = page.goto(url, wait_until="load", timeout=120_000)
        out["status"] = response.status if response else None
        if live:
            try:
                page.wait_for_function(
                    "() => window.__paceBench && window.__paceBench.livePainted !== null",
                    timeout=live_timeout_s * 1000,
                    polling=100,
                )
            except Exception as exc:  # reported, not fatal: the other figures still count
                errors.append(f"not live within {live_timeout_s:g} s: {str(exc)[:200]}")
        else:
            page.wait_for_timeout(2000)  # paint entries of the last frames, its first frames
        probe = page.evaluate("() => window.__paceBench")
        nav = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
            " html_bytes: n.transferSize, html_body: n.decodedBodySize} : null; }"
        )
        out["resources"] = page.evaluate(RESOURCES)
        out.update(_timings(probe, nav))
        out["ws"] = _ws_figures(net, page, ws_seconds if live else 0.0) if net.frames else None
    finally:
        out["bytes_by_type"] = net.bytes_by_type()
        out["bytes_total"] = sum(out["bytes_by_type"].values())
        out["requests"] = sum(1 for r in net.requests.values() if r["type"] != "WebSocket")
        out["from_cache"] = sum(1 for r in net.requests.values() if r.get("from_cache"))
        out["encodings"] = {
            r["url"].split("/")[-1] or "/": r.get("encoding")
            for r in net.requests.values()
            if r["type"] in ("Document", "Stylesheet", "Script")
        }
        out["errors"] = errors
        cdp.detach()
        page.close()
    return out


def _ms(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def _timings(probe: dict[str, Any] | None, nav: dict[str, Any] | None) -> dict[str, Any]:
    probe = probe or {"paints": {}}
    nav = nav or {}
    return {
        "first_paint_ms": _ms(probe["paints"].get("first-paint")),
        "first_contentful_paint_ms": _ms(probe["paints"].get("first-contentful-paint")),
        "largest_contentful_paint_ms": _ms(probe.get("lcp")),
        "live_ms": _ms(probe.get("live")),
        "live_painted_ms": _ms(probe.get("livePainted")),
        "field_ms": _ms(probe.get("field")),
        "map_ms": _ms(probe.get("map")),
        "dom_content_loaded_ms": _ms(nav.get("dcl")),
        "load_ms": _ms(nav.get("load")),
        "html_bytes": nav.get("html_bytes"),
        "html_body_bytes": nav.get("html_body"),
    }


def _ws_figures(net: NetLog, page: Any, seconds: float) -> dict[str, Any]:
    """The snapshot (first frame) and the bytes received over ``seconds`` after it, rounded
    up to whole field intervals: a viewer's field frame (the whole field, 54 KB at 1,000
    athletes) comes once an interval (26 s there), so a 60 s window held two or three of
    them by chance, and the rate it gave moved by a fifth between runs of the same code."""
    first = net.frames[0] if net.frames else None
    out: dict[str, Any] = {
        "extensions": net.ws_extensions,
        "requested_ms": net.since_doc_ms(net.ws_requested_ts),
        "opened_ms": net.since_doc_ms(net.ws_opened_ts),
        "sockets_opened": net.ws_created,
        "socket_failures": [
            [net.since_doc_ms(ts), why] for ts, why in net.ws_failures if ts <= (first or [ts])[0]
        ],
        "first_frame_ms": net.since_doc_ms(first[0]) if first else None,
        "first_frame_bytes": first[1] if first else None,
    }
    if seconds <= 0:
        return out
    if net.field_interval:
        seconds = math.ceil(seconds / net.field_interval) * net.field_interval
    out["field_interval_s"] = net.field_interval
    start_index, fetch_index = len(net.frames), len(net.fetches)
    t0 = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    elapsed = time.monotonic() - t0
    window = net.frames[start_index:]
    received = sum(n for _, n in window)
    fetched = sum(n for _, n in net.fetches[fetch_index:])
    out.update(
        window_s=round(elapsed, 1),
        frames=len(window),
        bytes=received,
        bytes_per_s=round(received / elapsed, 1) if elapsed else None,
        bytes_per_min=round(received / elapsed * 60) if elapsed else None,
        largest_frame=max((n for _, n in window), default=0),
        http_fetches=len(net.fetches) - fetch_index,
        http_bytes=fetched,
        total_bytes_per_s=round((received + fetched) / elapsed, 1) if elapsed else None,
    )
    return out


def launch(playwright: Any, executable: str, args: list[str]) -> Any:
    return playwright.chromium.launch(executable_path=executable, args=args)
