"""``python -m bench.pages`` still runs end to end (not timed): a race of 2 simulated
athletes on the embedded default, its live page opened in Chromium, a report written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pace.lib.chromium import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.browser
def test_the_page_benchmark_runs_on_a_tiny_race(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    if os.environ.get("DATABASE_URL"):
        # It runs on the embedded default whatever the pass: the SQLite pass has run it.
        pytest.skip("runs in make test's SQLite pass only")
    out = tmp_path / "pages.json"
    drop = ("DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    cmd = [sys.executable, "-m", "bench.pages", "--services", "no", "--sizes", "2", "--pages",
           "live", "--live-seconds", "8", "--settle", "4", "--output", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert run["athletes"] == 2 and run["athletes_connected"] == 2
    for when in ("cold", "warm"):
        visit = run["live"][when]
        assert visit["status"] == 200 and not visit["errors"], visit["errors"]
        assert visit["first_paint_ms"] > 0 and visit["live_ms"] > 0
        assert visit["ws"]["first_frame_bytes"] > 0
    # Watched 8 s: ticks arrive even when a loaded machine is slow to start the phones.
    cold = run["live"]["cold"]
    assert cold["bytes_by_type"]["Script"] > 0 and cold["ws"]["bytes"] > 0
    assert cold["encodings"]["/"] == "gzip"  # the HTML, as a browser gets it
    assert "| live 2 cold |" in proc.stdout
