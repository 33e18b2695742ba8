"""A background thread that iterates a batch source a few items ahead (:class:`Prefetcher`).

Shared by the workloads whose host-side batches cost real time (CIFAR-10's
augmentation, the language model's token windows): one thread, no worker
processes, since a 2-core machine has no core to spare for them.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

PREFETCH_BATCHES = 2


_DONE = object()


def _put(out: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Puts ``item`` unless ``stop`` is set first; whether it was put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _produce(
    source: Iterator[Any],
    transform: Callable[[Any], Any] | None,
    out: queue.Queue,
    stop: threading.Event,
) -> None:
    """The prefetch thread: fills ``out`` until ``stop`` is set or ``source`` ends."""
    try:
        for item in source:
            if transform is not None:
                item = transform(item)
            if not _put(out, item, stop):
                return
        _put(out, _DONE, stop)
    except BaseException as e:  # handed to the consumer, raised by its next()
        _put(out, e, stop)


class Prefetcher:
    """Iterates ``source`` on a background thread, ``depth`` items ahead.

    The thread holds no reference to this object: when the consumer drops it
    (a trial ends), a finaliser stops the thread within 0.1 s. An exception in
    the thread is raised by the next ``next()``.
    """

    def __init__(
        self,
        source: Iterator[Any],
        depth: int = PREFETCH_BATCHES,
        transform: Callable[[Any], Any] | None = None,
        name: str = 'input-prefetch',
    ) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=_produce,
            args=(source, transform, self._queue, self._stop),
            name=name,
            daemon=True,
        )
        weakref.finalize(self, self._stop.set)
        self._thread.start()

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        return item

    def close(self, timeout: float = 5.0) -> None:
        """Stops the thread and waits for it."""
        self._stop.set()
        self._finished = True
        self._thread.join(timeout)
