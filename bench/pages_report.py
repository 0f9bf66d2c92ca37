"""The page benchmark's targets, verdicts and printed table."""

from __future__ import annotations

from typing import Any

# Issue 18, "Fast on a slow phone".
TARGETS = {"first_paint_ms": 1000.0, "live_ms": 2500.0, "ws_bytes_per_s": 5000.0}


def _live_ms(visit: dict[str, Any]) -> float | None:
    """Time to live: the frame painted after the page's ``pace:live`` mark."""
    value = visit.get("live_painted_ms") or visit.get("live_ms")
    return float(value) if value is not None else None


def verdicts(report: dict[str, Any]) -> dict[str, bool | None]:
    """PASS/FAIL per target and race size (cold cache: the harder visit); None if unmeasured."""
    out: dict[str, bool | None] = {}
    for run in report["runs"]:
        n = run["athletes"]
        cold = run["live"]["cold"]
        fp = cold.get("first_paint_ms")
        live = _live_ms(cold)
        ws = cold.get("ws") or {}
        # Live traffic: the socket's frames and the page's fetches (field.json) together.
        bps = ws.get("total_bytes_per_s", ws.get("bytes_per_s"))
        out[f"{n}: first paint"] = None if fp is None else fp < TARGETS["first_paint_ms"]
        out[f"{n}: live"] = None if live is None else live < TARGETS["live_ms"]
        out[f"{n}: live traffic"] = None if bps is None else bps <= TARGETS["ws_bytes_per_s"]
        for page in ("track", "embed"):
            if run.get(page):
                fp = run[page]["cold"].get("first_paint_ms")
                out[f"{page}: first paint"] = None if fp is None else fp < TARGETS["first_paint_ms"]
    return out


def _f(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = round(value)
    return f"{value:,}{unit}"


def _kb(n: Any) -> str:
    return "-" if n is None else f"{n / 1000:.1f}"


def row(label: str, v: dict[str, Any]) -> str:
    ws = v.get("ws") or {}
    by = v.get("bytes_by_type", {})
    cols = [
        label,
        _f(v.get("first_paint_ms")),
        _f(v.get("first_contentful_paint_ms")),
        _f(_live_ms(v)),
        _kb(v.get("bytes_total")),
        _kb(by.get("Document")),
        _kb(by.get("Stylesheet")),
        _kb(by.get("Script")),
        f"{v.get('requests', 0)}/{v.get('from_cache', 0)}",
        _kb(ws.get("first_frame_bytes")),
        _f(ws.get("first_frame_ms")),
        _f(v.get("field_ms")),
        _f(v.get("map_ms")),
        _f(ws.get("bytes_per_s")),
        _f(ws.get("total_bytes_per_s")),
    ]
    return "| " + " | ".join(cols) + " |"


HEAD = (
    "| page | FP ms | FCP ms | live ms | KB | HTML KB | CSS KB | JS KB | req/cached "
    "| snapshot KB | snapshot ms | field ms | map ms | WS B/s | live B/s |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def table(report: dict[str, Any]) -> str:
    lines = [HEAD]
    for run in report["runs"]:
        n = run["athletes"]
        for when in ("cold", "warm"):
            lines.append(row(f"live {n:,} {when}", run["live"][when]))
        for page in ("track", "embed"):
            if run.get(page):
                for when in ("cold", "warm"):
                    lines.append(row(f"{page} {when}", run[page][when]))
    return "\n".join(lines)


def print_table(report: dict[str, Any]) -> None:
    prof = report["profile"]
    if prof.get("throttled"):
        what = (
            f"{prof['down_up_kbps']:g} kbps, {prof['latency_ms']:g} ms latency, "
            f"CPU {prof['cpu_slowdown']:g}x slower, {prof['viewport']}"
        )
    else:
        what = "not throttled"
    print(
        f"\nRace-day pages on a phone ({what}); KB transferred; WS B/s over the window, "
        "live B/s with the page's fetches (field.json)\n"
    )
    print(table(report))
    errors = [
        f"{run['athletes']} {page} {when}: {e}"
        for run in report["runs"]
        for page in ("live", "track", "embed")
        if run.get(page)
        for when in ("cold", "warm")
        for e in run[page][when].get("errors", [])
    ]
    for e in errors:
        print("  error:", e)
    for run in report["runs"]:
        for page in ("track", "embed"):
            if (run.get(page) or {}).get("server_ms"):
                s = run[page]["server_ms"]
                print(
                    f"  {page}: the server's time to first byte (unthrottled, n={s['n']}): "
                    f"p50 {s['p50']:g} ms, p90 {s['p90']:g} ms, max {s['max']:g} ms"
                )
    print(
        "\ntargets: first paint < {:g} ms, live < {:g} ms, live traffic <= {:g} B/s".format(
            TARGETS["first_paint_ms"], TARGETS["live_ms"], TARGETS["ws_bytes_per_s"]
        )
    )
    for name, ok in report["verdicts"].items():
        print(f"  {name}: {'-' if ok is None else 'PASS' if ok else 'FAIL'}")
