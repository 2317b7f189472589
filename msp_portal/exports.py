"""CSV downloads: one streaming response for every export, each cell defused against formulas.

A spreadsheet opening a CSV runs a cell as a formula (or a DDE call) when it starts with
= + - @ or |, and some fold the full-width forms ＝ ＋ － ＠ into those; a leading tab, carriage
return or line feed, or spaces, can hide the sign. Such a text cell is written with a leading
apostrophe, which spreadsheets show as text (OWASP "CSV injection"). Numbers are written as
numbers, negative ones included.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

FORMULA_STARTS = frozenset("=+-@|＝＋－＠｜")
HIDING_STARTS = frozenset("\t\r\n")


def csv_cell(value: object) -> str:
    """One cell as written: "" for None, a number as it is, any other value as defused text."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text[:1] in HIDING_STARTS or text.lstrip()[:1] in FORMULA_STARTS:
        return "'" + text
    return text


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _lines(header: Sequence[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_response(
    rows: Iterable[Iterable[object]], *, header: Sequence[str], filename: str
) -> StreamingHttpResponse:
    """A CSV download streamed row by row, so its size never loads into memory.

    rows is consumed lazily (pass a queryset's .iterator() or a generator); every cell goes
    through csv_cell. The response is private to the person downloading it.
    """
    response = StreamingHttpResponse(_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response
