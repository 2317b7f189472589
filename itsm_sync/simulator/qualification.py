"""A tokenizer and recursive-descent parser compiling AR qualifications to Python predicates.

Grammar (keywords case-insensitive; `&&`, `||` and `!` are accepted as in AR)::

    expr       := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT not_expr | primary
    primary    := "(" expr ")" | operand OP operand
    operand    := 'Field Name' | "string" | number | $NULL$
    OP         := = | != | < | <= | > | >= | LIKE

Date fields compare as instants; `LIKE` takes `%` (any run) and `_` (one character). A date
literal is epoch seconds (a number, which every AR version reads) or, unless the server is told
to behave like one older than AR 19.08 (`iso_dates=False`), an ISO-8601 string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from .data import date_key, format_ar_datetime

Record = dict[str, object]
Predicate = Callable[[Record], bool]

FIELD_DOES_NOT_EXIST = 314
QUALIFICATION_ERROR = 1587


class QualificationError(ValueError):
    """A qualification that cannot be parsed or refers to an unknown field."""

    def __init__(self, text: str, appended: str, number: int = QUALIFICATION_ERROR) -> None:
        super().__init__(f"{text}: {appended}")
        self.text = text
        self.appended = appended
        self.number = number


@dataclass(frozen=True)
class Token:
    """One lexical token with its position in the qualification text."""

    kind: str
    value: str
    position: int
    end: int = 0


_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<field>'(?:[^']|'')*')
  | (?P<string>"(?:[^"]|"")*")
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<null>\$NULL\$)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<and>&&)
  | (?P<or>\|\|)
  | (?P<not>!)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<word>[A-Za-z]+)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND": "and", "OR": "or", "NOT": "not", "LIKE": "op"}


def tokenize(text: str) -> list[Token]:
    """Split a qualification into tokens, rejecting anything unrecognised."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise QualificationError(
                "Qualification line error",
                f"unexpected character {text[position]!r} at position {position + 1}",
            )
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "word":
            upper = value.upper()
            if upper not in _KEYWORDS:
                raise QualificationError(
                    "Qualification line error",
                    f"unknown word {value!r} at position {position + 1}; field names go in "
                    "single quotes and text values in double quotes",
                )
            kind, value = _KEYWORDS[upper], upper
        elif kind == "field":
            value = value[1:-1].replace("''", "'")
        elif kind == "string":
            value = value[1:-1].replace('""', '"')
        elif kind == "op" and value == "<>":
            value = "!="
        if kind != "space":
            tokens.append(Token(kind, value, position + 1, match.end()))
        position = match.end()
    return tokens


@dataclass(frozen=True)
class _Operand:
    kind: str  # field, string, number, null
    value: str


class _Parser:
    def __init__(
        self,
        tokens: list[Token],
        fields: Collection[str],
        date_fields: Collection[str],
        iso_dates: bool = True,
    ) -> None:
        self.tokens = tokens
        self.index = 0
        self.fields = fields
        self.date_fields = date_fields
        self.iso_dates = iso_dates

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QualificationError("Qualification line error", "unexpected end of qualification")
        self.index += 1
        return token

    def parse(self) -> Predicate:
        if not self.tokens:
            raise QualificationError("Qualification line error", "the qualification is empty")
        predicate = self.expr()
        token = self.peek()
        if token is not None:
            raise QualificationError(
                "Qualification line error",
                f"unexpected {token.value!r} at position {token.position}",
            )
        return predicate

    def expr(self) -> Predicate:
        parts = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda record: any(part(record) for part in parts)

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while (token := self.peek()) is not None and token.kind == "and":
            self.take()
            parts.append(self.not_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda record: all(part(record) for part in parts)

    def not_expr(self) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "not":
            self.take()
            inner = self.not_expr()
            return lambda record: not inner(record)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "lparen":
            self.take()
            inner = self.expr()
            closing = self.take()
            if closing.kind != "rparen":
                raise QualificationError(
                    "Qualification line error",
                    f"expected ')' at position {closing.position}, found {closing.value!r}",
                )
            return inner
        left = self.operand()
        op = self.take()
        if op.kind != "op":
            raise QualificationError(
                "Qualification line error",
                f"expected an operator (=, !=, <, <=, >, >=, LIKE) at position {op.position}, "
                f"found {op.value!r}",
            )
        right = self.operand()
        return _comparison(left, op.value, right, self.date_fields, self.iso_dates)

    def operand(self) -> _Operand:
        token = self.take()
        if token.kind == "field":
            if token.value not in self.fields:
                raise QualificationError(
                    "Field does not exist", token.value, number=FIELD_DOES_NOT_EXIST
                )
            return _Operand("field", token.value)
        if token.kind in ("string", "number", "null"):
            return _Operand(token.kind, token.value)
        raise QualificationError(
            "Qualification line error",
            f"expected a 'Field', a \"value\" or a number at position {token.position}, "
            f"found {token.value!r}",
        )


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}


def _getter(
    operand: _Operand, as_date: bool, numeric: bool, iso_dates: bool
) -> Callable[[Record], object]:
    if operand.kind == "null":
        return lambda record: None
    if operand.kind == "field":
        name = operand.value
        if as_date:
            return lambda record: date_key(record.get(name))
        if numeric:
            return lambda record: _to_number(record.get(name))
        return lambda record: _to_text(record.get(name))
    if as_date:
        constant = _literal_date(operand, iso_dates)
    elif numeric:
        constant = float(operand.value)
    else:
        constant = operand.value
    return lambda record: constant


def _literal_date(operand: _Operand, iso_dates: bool = True) -> str:
    if operand.kind == "number":
        return format_ar_datetime(datetime.fromtimestamp(float(operand.value), UTC))[:23]
    if not iso_dates:
        raise QualificationError(
            "Invalid date/time value in qualification",
            f'"{operand.value}": this server reads dates as epoch seconds (ISO-8601 date '
            "literals are read from AR System 19.08 on)",
        )
    key = date_key(operand.value)
    if key is None:
        raise QualificationError(
            "Qualification line error",
            f'"{operand.value}" is not a date; use e.g. "2024-03-01T10:20:30.000+0000"',
        )
    return key


def _to_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _to_number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _comparison(
    left: _Operand, op: str, right: _Operand, date_fields: Collection[str], iso_dates: bool
) -> Predicate:
    operands = (left, right)
    as_date = any(o.kind == "field" and o.value in date_fields for o in operands)
    numeric = not as_date and any(o.kind == "number" for o in operands)
    get_left = _getter(left, as_date, numeric, iso_dates)
    get_right = _getter(right, as_date, numeric, iso_dates)
    if op == "LIKE":
        if right.kind != "string":
            raise QualificationError(
                "Qualification line error", 'LIKE needs a quoted pattern such as "Acme%"'
            )
        regex = _like_regex(right.value)

        def like(record: Record) -> bool:
            value = get_left(record)
            return value is not None and regex.fullmatch(str(value)) is not None

        return like
    compare = _COMPARE[op]
    null_test = left.kind == "null" or right.kind == "null"

    def predicate(record: Record) -> bool:
        a, b = get_left(record), get_right(record)
        if null_test or a is None or b is None:
            # AR semantics: only = / != are meaningful against an empty value.
            if op == "=":
                return a is None and b is None
            if op == "!=":
                return (a is None) != (b is None)
            return False
        return compare(a, b)

    return predicate


def compile_qualification(
    text: str, fields: Collection[str], date_fields: Collection[str] = (), *, iso_dates: bool = True
) -> Predicate:
    """Compile `text` into a predicate over a values dict, raising QualificationError."""
    return _Parser(tokenize(text), fields, date_fields, iso_dates).parse()


@dataclass(frozen=True)
class DateRange:
    """A qualification split into bounds on one date field and the rest of its conditions.

    `low`/`high` are date keys (see data.date_key) or None; `rest` is qualification text.
    """

    rest: str
    low: str | None = None
    low_inclusive: bool = True
    high: str | None = None
    high_inclusive: bool = False


def split_date_range(text: str, field: str, *, iso_dates: bool = True) -> DateRange | None:
    """Take `'field' >= x`, `>`, `<`, `<=` conditions ANDed at the top level out of `text`.

    A keyset listing ("modified from x on, and …") is then served by bisecting a listing sorted
    on that field instead of testing every entry. None when `text` has no such condition or
    is not a plain conjunction at its top level.
    """
    tokens = tokenize(text)
    conjuncts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "lparen":
            depth += 1
        elif token.kind == "rparen":
            depth -= 1
        elif depth == 0 and token.kind == "or":
            return None
        elif depth == 0 and token.kind == "and":
            conjuncts.append([])
            continue
        conjuncts[-1].append(token)
    bounds = DateRange(rest="")
    rest: list[str] = []
    found = False
    for conjunct in conjuncts:
        if not conjunct:
            return None
        if (
            len(conjunct) == 3
            and conjunct[0].kind == "field"
            and conjunct[0].value == field
            and conjunct[1].kind == "op"
            and conjunct[1].value in ("<", "<=", ">", ">=")
            and conjunct[2].kind in ("string", "number")
        ):
            key = _literal_date(_Operand(conjunct[2].kind, conjunct[2].value), iso_dates)
            op = conjunct[1].value
            if op in (">", ">="):
                if bounds.low is None or key > bounds.low:
                    bounds = DateRange("", key, op == ">=", bounds.high, bounds.high_inclusive)
            elif bounds.high is None or key < bounds.high:
                bounds = DateRange("", bounds.low, bounds.low_inclusive, key, op == "<=")
            found = True
        else:
            rest.append(text[conjunct[0].position - 1 : conjunct[-1].end])
    if not found:
        return None
    return DateRange(
        " AND ".join(f"({part})" for part in rest),
        bounds.low,
        bounds.low_inclusive,
        bounds.high,
        bounds.high_inclusive,
    )
