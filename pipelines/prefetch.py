"""Walks of pages run ahead in background threads and are consumed in order, memory bounded.

An extraction alternates between waiting for a page (network, the server's work) and working
on it (decode, transform, validate, write Parquet). Run one after the other, each page's wait
leaves the second core idle. Here each walk (one meter's pages, one batch of devices' pages)
runs in a thread of its own, a few at a time, each holding at most `depth` finished pages:
the waits overlap the work, and memory stays at about `workers * depth` pages whatever the day.

Pages come out in the order of the walks and of their pages, as a single walk gives them, so
a run lands the same rows in the same order as a run without threads. An error in a walk is
raised in the consumer at the place its page would have come, unchanged (it names vendor,
endpoint and partition); the walks still running are told to stop at their next page.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

T = TypeVar("T")

# How often a walk blocked on a full queue looks whether the consumer has gone.
_STOP_POLL_S = 0.1


@dataclass(frozen=True)
class _Handoff(Generic[T]):
    """What a walk's thread hands the consumer: an item, the walk's error, or its end."""

    item: T | None = None
    error: BaseException | None = None
    end: bool = False


class _Walk(Generic[T]):
    """One walk in a thread of its own, its items handed over through a bounded queue."""

    def __init__(self, walk: Callable[[], Iterator[T]], depth: int, name: str) -> None:
        self._handoffs: queue.Queue[_Handoff[T]] = queue.Queue(maxsize=depth)
        self._stopped = threading.Event()
        # A daemon: a walk still retrying for a consumer that has gone must not keep the process alive.
        self._thread = threading.Thread(target=self._run, args=(walk,), name=name, daemon=True)
        self._thread.start()

    def _run(self, walk: Callable[[], Iterator[T]]) -> None:
        items: Iterator[T] | None = None
        try:
            items = walk()
            for item in items:
                if not self._put(_Handoff(item=item)):
                    return
            self._put(_Handoff(end=True))
        except BaseException as exc:  # raised in the consumer, where the page would have come
            self._put(_Handoff(error=exc))
        finally:
            close = getattr(items, "close", None)  # a generator's cleanup runs in its own thread
            if close is not None:
                close()

    def _put(self, handoff: _Handoff[T]) -> bool:
        """Queue `handoff`, waiting for room; False once the consumer has stopped listening."""
        while not self._stopped.is_set():
            try:
                self._handoffs.put(handoff, timeout=_STOP_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            handoff = self._handoffs.get()
            if handoff.error is not None:
                raise handoff.error
            if handoff.end:
                return
            yield cast("T", handoff.item)

    def stop(self) -> None:
        """Stop at the walk's next page. Its thread is not waited for: a request in flight
        completes or fails first, and the thread holds nothing the consumer needs."""
        self._stopped.set()


def in_order(
    walks: Iterable[Callable[[], Iterator[T]]], *, workers: int = 4, depth: int = 2
) -> Generator[T, None, None]:
    """Every item of every walk, walk after walk, while up to `workers` walks run ahead in threads.

    Each walk is a function returning the iterator of its items, called in its thread. With
    `workers=1` one walk at a time runs ahead of the consumer by `depth` items (prefetching).
    """
    if workers < 1 or depth < 1:
        raise ValueError(f"workers and depth must be at least 1, got workers={workers}, depth={depth}")
    pending = iter(walks)
    running: deque[_Walk[T]] = deque()
    started = 0
    try:
        while True:
            while len(running) < workers and (walk := next(pending, None)) is not None:
                started += 1
                running.append(_Walk(walk, depth, f"walk-{started}"))
            if not running:
                return
            yield from running[0]
            running.popleft()
    finally:
        for unfinished in running:  # the consumer stopped early or a walk failed
            unfinished.stop()
