"""Which socket a client held when the restart scenario killed a process."""

from __future__ import annotations

from bench.live_run import held_at

KILL = 1000.0


def test_the_socket_open_at_the_kill_is_the_one_held() -> None:
    sockets = [
        ["127.0.0.2", 40001, 900.0, 950.0],  # closed long before
        ["127.0.0.2", 40002, 951.0, 1000.05],  # closed by the kill itself
        ["127.0.0.2", 40003, 1003.0, None],  # its reconnect
    ]
    assert held_at(sockets, KILL) == ("127.0.0.2", 40002)


def test_a_socket_still_open_is_held_and_one_opened_after_is_not() -> None:
    assert held_at([["127.0.0.3", 5, 10.0, None]], KILL) == ("127.0.0.3", 5)
    assert held_at([["127.0.0.3", 5, 1001.0, None]], KILL) is None


def test_a_socket_closed_just_before_the_kill_was_still_held_when_proc_was_read() -> None:
    assert held_at([["127.0.0.4", 7, 10.0, KILL - 0.5]], KILL) == ("127.0.0.4", 7)
    assert held_at([["127.0.0.4", 7, 10.0, KILL - 5.0]], KILL) is None


def test_a_client_with_no_socket_held_nothing() -> None:
    assert held_at([], KILL) is None


def test_the_loaders_loop_lag_is_read_over_the_window_from_every_loader() -> None:
    from bench.live_run import loop_lag

    results = [
        {"loop_lags": [(5.0, 900.0), (10.0, 1.0), (11.0, 3.0)]},
        {"loop_lags": [(12.0, 2.0), (30.0, 800.0)]},
        {},  # an older loader's report
    ]
    assert loop_lag(results, 10.0, 20.0) == {"p50": 2.0, "p99": 3.0, "max": 3.0, "samples": 3}
    assert loop_lag([], 0.0, 1.0)["samples"] == 0


def test_the_loaders_gc_pauses_are_counted_over_the_window_from_every_loader() -> None:
    from bench.live_run import gc_pauses

    results = [
        {"gc_pauses": [(5.0, 2, 400.0), (10.0, 0, 6.0), (11.0, 2, 120.5)]},
        {"gc_pauses": [(12.0, 1, 9.0), (30.0, 2, 700.0)]},
        {},  # a loader from before the pauses were recorded
    ]
    assert gc_pauses(results, 10.0, 20.0) == {
        "count": 3, "full": 1, "max_ms": 120.5, "total_ms": 135.5
    }  # fmt: skip
    assert gc_pauses([], 0.0, 1.0) == {"count": 0, "full": 0, "max_ms": None, "total_ms": 0}


def test_a_loader_records_its_long_collections_with_their_generation() -> None:
    import gc

    from bench.live_client import GcPauses

    pauses = GcPauses()
    pauses.THRESHOLD_MS = 0.0  # every collection, however short
    try:
        gc.collect(2)
        gc.collect(0)
    finally:
        gc.callbacks.remove(pauses._callback)
    generations = [gen for _, gen, _ in pauses.pauses]
    assert generations[-2:] == [2, 0]
    assert all(ms >= 0 for _, _, ms in pauses.pauses)
