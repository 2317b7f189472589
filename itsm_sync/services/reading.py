"""Reading ahead: the next page travels (and is prepared) while this one is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Pages:
    """The pages read ahead, in order; `overlap()` lets the next one be prepared now.

    Preparing a page is Python work that holds the GIL for milliseconds. Done at any moment, it
    stalls the writing thread each time one of its short statements returns and needs the GIL
    back; so the reader prepares page k+1 only once the writer says, with `overlap()`, that it
    is about to wait on the database for a while (the statement that applies page k). A
    consumer that never calls it still gets every page: asking for the next page allows it too.
    """

    def __init__(self, slot: queue.Queue[Any], allowed: threading.Condition) -> None:
        self._slot = slot
        self._allowed = allowed
        self._served = 0  # pages handed to the consumer
        self.permits = 1  # pages the reader may prepare: the first one at once

    def overlap(self) -> None:
        self._permit(self._served + 1)

    def _permit(self, count: int) -> None:
        with self._allowed:
            if count > self.permits:
                self.permits = count
                self._allowed.notify()

    def __iter__(self) -> Iterator[Any]:
        while True:
            self._permit(self._served + 1)
            item = self._slot.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            self._served += 1
            yield item


@contextmanager
def read_ahead(
    pages: Iterator[list[Any]], prepare: Callable[[list[Any]], Any] | None = None
) -> Iterator[_Pages]:
    """Iterate pages in a helper thread, one page ahead, so fetching overlaps writing.

    `prepare` (validation that needs no database) runs on each page in that thread too, while
    the consumer waits on the database for the page before it (see _Pages).

    Memory stays bounded: at most the page being written, one waiting and one being read.
    The source's errors are raised here, in the caller's thread, where the run records them.
    """
    slot: queue.Queue[Any] = queue.Queue(maxsize=1)
    allowed = threading.Condition()
    stop = threading.Event()
    served = _Pages(slot, allowed)

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def wait_for_permit(number: int) -> bool:
        with allowed:
            while served.permits < number:
                if stop.is_set():
                    return False
                allowed.wait(timeout=0.1)
        return True

    def pump() -> None:
        try:
            for number, page in enumerate(pages, start=1):
                if prepare is not None:
                    if not wait_for_permit(number):
                        break
                    page = prepare(page)
                if not offer(page):
                    break
            else:
                offer(_END)
        except BaseException as exc:  # handed over to the caller's thread, raised there
            offer(_Raised(exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=pump, name="itsm-sync-read-ahead", daemon=True)
    reader.start()
    try:
        yield served
    finally:
        stop.set()
        # A request in flight finishes (or times out) on its own; don't wait forever for it.
        reader.join(timeout=60)
