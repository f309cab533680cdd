"""Walks run ahead in threads: same items in the same order, bounded, errors and early stops."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from pipelines.prefetch import in_order


def counting_walk(name: str, items: int, produced: list[str]) -> Callable[[], Iterator[str]]:
    def walk() -> Iterator[str]:
        for i in range(items):
            produced.append(f"{name}{i}")
            yield f"{name}{i}"

    return walk


@pytest.mark.parametrize("workers", [1, 2, 4, 9])
def test_items_come_walk_after_walk_in_their_own_order(workers: int) -> None:
    produced: list[str] = []
    sizes = dict(zip("abcdefg", [3, 0, 5, 1, 7, 2, 4], strict=True))
    walks = [counting_walk(name, items, produced) for name, items in sizes.items()]
    expected = [f"{name}{i}" for name, items in sizes.items() for i in range(items)]
    assert list(in_order(walks, workers=workers, depth=2)) == expected
    assert sorted(produced) == sorted(expected)  # each walk ran once


def test_a_walk_runs_at_most_depth_items_ahead_of_its_consumer() -> None:
    produced: list[str] = []
    depth = 2
    ahead = []
    pages = in_order([counting_walk("a", 200, produced)], workers=1, depth=depth)
    for consumed, _ in enumerate(pages, start=1):
        if consumed == 1:
            threading.Event().wait(0.3)  # room for an unbounded walk to race far ahead
        ahead.append(len(produced) - consumed)
    # `depth` items queued, one made and waiting for room: never the whole walk
    assert max(ahead) <= depth + 1
    assert len(produced) == 200


def test_an_error_comes_out_where_its_item_would_have_and_stops_the_other_walks() -> None:
    produced: list[str] = []
    stopped = threading.Event()

    def failing() -> Iterator[str]:
        yield "b0"
        raise ValueError("dsmr m001 api/v2/datalogger/dsmrreading: answer has no `results` list")

    def endless() -> Iterator[str]:
        try:
            i = 0
            while True:
                produced.append(f"c{i}")
                yield f"c{i}"
                i += 1
        finally:
            stopped.set()  # closed in its own thread once told to stop

    seen = []
    with pytest.raises(ValueError, match="dsmr m001 api/v2/datalogger/dsmrreading"):
        for item in in_order([counting_walk("a", 3, []), failing, endless], workers=3, depth=1):
            seen.append(item)
    assert seen == ["a0", "a1", "a2", "b0"]
    assert stopped.wait(5), "the walk still running was not stopped"
    assert len(produced) <= 3  # it never ran beyond its queue


def test_a_consumer_that_stops_early_stops_every_walk() -> None:
    closed = []

    def walk(name: str) -> Callable[[], Iterator[str]]:
        def items() -> Iterator[str]:
            try:
                for i in range(1000):
                    yield f"{name}{i}"
            finally:
                closed.append(name)

        return items

    pages = in_order([walk("a"), walk("b")], workers=2, depth=1)
    assert next(pages) == "a0"
    pages.close()
    for _ in range(50):
        if len(closed) == 2:
            break
        threading.Event().wait(0.1)
    assert sorted(closed) == ["a", "b"]


def test_workers_and_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="workers and depth must be at least 1"):
        list(in_order([], workers=0))
