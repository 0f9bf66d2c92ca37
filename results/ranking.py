"""Ranking lines of a classification or standing where equal keys share a rank."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def ranked(
    items: Iterable[T], key: Callable[[T], object], assign: Callable[[T, int], None]
) -> list[T]:
    """``items`` sorted by ``key`` (stable: pass them in display order), each given its
    rank by ``assign``; items with equal keys share the rank of the first ("1, 1, 3")."""
    ordered = sorted(items, key=key)  # type: ignore[arg-type]
    previous: object = object()
    rank = 0
    for position, item in enumerate(ordered, start=1):
        current = key(item)
        if current != previous:
            rank = position
        previous = current
        assign(item, rank)
    return ordered
