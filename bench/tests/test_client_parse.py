"""bench.client_parse builds a spectator's first reads with Pace's own code, whole."""

from __future__ import annotations

import orjson

from bench.client_parse import main, race_reads


def test_the_reads_hold_every_athlete_and_parse() -> None:
    reads = race_reads(40)
    snapshot = orjson.loads(reads["protocol snapshot (whole field)"])
    assert snapshot["type"] == "snapshot" and len(snapshot["field"]) == 40
    assert len(snapshot["athletes"]) == 10  # the leaders' full states
    assert [e[0] for e in orjson.loads(reads["field.json"])["field"]] == list(range(1, 41))
    assert len(orjson.loads(reads["roster.json"])["roster"]) == 40
    tick = orjson.loads(reads["tick (the leaders' states)"])
    assert tick["athletes"] == snapshot["athletes"]


def test_it_prints_and_writes_a_row_a_read(tmp_path, capsys) -> None:
    out = tmp_path / "parse.json"
    result = main(["--athletes", "20", "--output", str(out)])
    assert orjson.loads(out.read_bytes()) == result
    assert len(result["reads"]) == 4 and all(r["parse_ms"] > 0 for r in result["reads"].values())
    assert "roster.json" in capsys.readouterr().out
