"""Reading ahead: pages arrive in order, prepared in the helper thread, only when allowed."""

from __future__ import annotations

import threading
import time

import pytest

from itsm_sync.services.reading import read_ahead


class _Recorder:
    """A `prepare` that notes which pages it has started on."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.threads: set[str] = set()
        self.changed = threading.Condition()

    def __call__(self, page: list[int]) -> list[int]:
        with self.changed:
            self.started.append(page[0])
            self.threads.add(threading.current_thread().name)
            self.changed.notify_all()
        return [value * 10 for value in page]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.started) >= count, timeout=timeout)


def _pages(count: int) -> list[list[int]]:
    return [[number, number] for number in range(1, count + 1)]


def test_every_page_arrives_in_order_prepared_in_the_helper_thread():
    prepare = _Recorder()
    with read_ahead(iter(_pages(5)), prepare) as pages:
        got = list(pages)
    assert got == [[10, 10], [20, 20], [30, 30], [40, 40], [50, 50]]
    assert prepare.threads == {"itsm-sync-read-ahead"}


def test_the_next_page_is_prepared_only_once_the_writer_allows_it():
    prepare = _Recorder()
    with read_ahead(iter(_pages(3)), prepare) as pages:
        served = iter(pages)
        assert next(served) == [10, 10]
        # While page 1 is being written, page 2 waits: preparing it now would compete with
        # the writer's short statements for the GIL.
        time.sleep(0.3)
        assert prepare.started == [1]
        pages.overlap()  # the writer is about to wait on the database
        assert prepare.wait_for(2), "page 2 was not prepared after overlap()"
        assert next(served) == [20, 20]
        # A consumer that never calls overlap() still gets the rest.
        assert list(served) == [[30, 30]]
    assert prepare.started == [1, 2, 3]


def test_an_error_while_preparing_is_raised_in_the_callers_thread():
    def prepare(page: list[int]) -> list[int]:
        if page[0] == 2:
            raise ValueError("page 2 is malformed")
        return page

    with (
        pytest.raises(ValueError, match="page 2 is malformed"),
        read_ahead(iter(_pages(3)), prepare) as pages,
    ):
        list(pages)


def test_leaving_early_stops_the_reader_waiting_for_a_permit():
    closed = threading.Event()

    def source():
        try:
            yield from _pages(100)
        finally:
            closed.set()

    with read_ahead(source(), _Recorder()) as pages:
        for _page in pages:
            break
    assert closed.wait(5), "the source was not closed when the consumer left"
