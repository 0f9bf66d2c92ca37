"""The table ``bench.results`` prints: each figure beside issue 13's target."""

from __future__ import annotations

import os
from typing import Any


def print_table(report: dict[str, Any]) -> None:
    full = report["full_recompute"]
    rows = [
        ("full recompute, no rows yet", f"{min(full['no_rows_yet_s']):.2f} s", "< 2 s"),
        ("full recompute, every row changed", f"{max(full['every_row_changed_s']):.2f} s", "< 2 s"),
        ("full recompute, nothing changed", f"{max(full['nothing_changed_s']):.2f} s", "< 2 s"),
    ]
    for name, key in (("mid race", "live_mid_race"), ("last finishes", "live_last_finishes")):
        live = report[key]
        for part in ("apply", "apply_cpu", "total"):
            value = f"{live[part + '_ms_p50']} / {live[part + '_ms_p95']} ms"
            rows.append((f"live read {part}, {name} (p50 / p95)", value, "< 10 ms"))
        rows.append((f"live read queries, {name}", str(live["apply_queries"]), ""))
    worst = report["live_worst_case_every_rank_moves"]
    rows.append(("live read moving every rank", f"{worst['ms']} ms", "(worst case)"))
    imported = report["decoder_file_import"]
    rows.append(
        (f"decoder file, {imported['lines']:,} lines", f"{imported['total_s']} s", "< 10 s")
    )
    for layout, cpu in imported["parse_cpu_s"].items():
        rows.append((f"parse only, {layout}", f"{cpu} s CPU", ""))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'results, ' + str(report['data']['finishers']) + ' finishers':<{width}}  value")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<18} {target}")
    print(f"live reads equal a full recompute: {report['live_equals_recompute']}")
    cpu = report["full_recompute"]["python_cpu_s"]
    print(f"recompute CPU of this process: {min(cpu):.2f} to {max(cpu):.2f} s")
    env = report.get("environment", {})
    print(f"load average at start / end: {env.get('load_average_at_start')} / "
          f"{env.get('load_average_at_end')} ({os.cpu_count()} cores)\n")  # fmt: skip
