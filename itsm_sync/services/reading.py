"""Reading ahead: the next page travels (and is validated) while this one is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# ---------------------------------------------------------------------------------------------
# Reading ahead: the next page travels over HTTP while this one is written.
# ---------------------------------------------------------------------------------------------

_END = object()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


@contextmanager
def _read_ahead(
    pages: Iterator[list[Any]], prepare: Callable[[list[Any]], Any] | None = None
) -> Iterator[Iterator[Any]]:
    """Iterate pages in a helper thread, one page ahead, so fetching overlaps writing.

    `prepare` (validation that needs no database) runs on each page in that thread too.

    Memory stays bounded: at most the page being written, one waiting and one being read.
    The source's errors are raised here, in the caller's thread, where the run records them.
    """
    slot: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for page in pages:
                if not offer(page if prepare is None else prepare(page)):
                    break
            else:
                offer(_END)
        except BaseException as exc:  # handed over to the caller's thread, raised there
            offer(_Raised(exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    def pages_read() -> Iterator[list[Any]]:
        while True:
            item = slot.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item

    reader = threading.Thread(target=pump, name="itsm-sync-read-ahead", daemon=True)
    reader.start()
    try:
        yield pages_read()
    finally:
        stop.set()
        # A request in flight finishes (or times out) on its own; don't wait forever for it.
        reader.join(timeout=60)
