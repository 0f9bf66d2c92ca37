"""The order a test run takes its collected tests in (``pace.lib.testing.in_run_order``)."""

from __future__ import annotations

import pytest

from pace.lib.testing import in_run_order


class _Item:
    def __init__(self, nodeid: str, *, browser: bool = False) -> None:
        self.nodeid = nodeid
        self.browser = browser

    def get_closest_marker(self, name: str) -> object:
        return pytest.mark.browser if name == "browser" and self.browser else None


def test_browser_tests_run_after_every_other_test_slow_files_first_within_each_kind() -> None:
    items = [
        _Item("a/browser/test_slow_b.py::t1", browser=True),
        _Item("a/test_x.py::t1"),
        _Item("a/browser/test_b.py::t1", browser=True),
        _Item("a/test_slow.py::t1"),
        _Item("a/test_x.py::t2"),
        _Item("a/browser/test_b.py::t2", browser=True),
        _Item("a/test_slow.py::t2"),
    ]
    in_run_order(items, ("a/browser/test_slow_b.py", "a/test_slow.py"))
    assert [i.nodeid for i in items] == [
        "a/test_slow.py::t1",
        "a/test_slow.py::t2",
        "a/test_x.py::t1",
        "a/test_x.py::t2",
        "a/browser/test_slow_b.py::t1",
        "a/browser/test_b.py::t1",
        "a/browser/test_b.py::t2",
    ]
