"""The rules of a service's questions (R1), as pure functions of the questions and the data.

Two rules live here and nowhere else:
- `question_problems`: whether a question's definition makes sense (choices for the choice
  kinds, the smallest number not above the largest, a condition on an earlier question of the
  same service that can take the value it tests);
- `answers_clean`: submitted answers (from the request form or the JSON API) checked against
  the service's current questions, giving the answers to keep with the request. Conditions are
  evaluated in order; answers to questions that are hidden are ignored; answers to questions
  the service doesn't ask, of the wrong kind, or missing where required are refused, all of
  them at once.

Neither reads the database: the caller passes the questions (read once) and, for colleague
questions, the colleagues the requester may name (resolved by the caller's scope).
"""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from .models import (
    CHOICE_KINDS,
    CONDITION_KINDS,
    ConditionOperator,
    Question,
    QuestionKind,
)

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 4_000
CHOICES_MAX = 50
CHOICE_MAX = 100
YES, NO = "yes", "no"
YES_NO_CHOICES = [YES, NO]
# What a yes/no answer may arrive as: the form's radios, or the JSON API's booleans.
TRUTHY = {"yes", "true", "on", "1"}
FALSY = {"no", "false", "off", "0"}
DATE_MIN = datetime.date(1900, 1, 1)
DATE_MAX = datetime.date(2200, 12, 31)


def number_text(number: Decimal) -> str:
    """A number as people write it: 3, 2.5 (never 3.00 or 3E+1)."""
    return f"{number.normalize():f}"


def answer_field(question_id: int) -> str:
    """The name of a question's answer on the request form and in error messages."""
    return f"q_{question_id}"


@dataclass(frozen=True)
class Answer:
    """One answer as it was asked: the question's label and kind then, the value, and the text
    a person reads (a colleague's name, "Yes", the chosen options joined)."""

    question_id: int
    position: int
    label: str
    kind: str
    value: object
    display: str

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Definitions
# ---------------------------------------------------------------------------------------------


def choices_parse(text: str) -> list[str]:
    """Choices typed one per line: trimmed, blank lines and repeats dropped, order kept."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        line = " ".join(line.split())
        if line and line.casefold() not in {c.casefold() for c in seen}:
            seen[line] = None
    return list(seen)


def condition_values(question: Question) -> list[str]:
    """The values a condition on this question may test."""
    if question.kind == QuestionKind.YES_NO:
        return YES_NO_CHOICES
    if question.kind in CHOICE_KINDS:
        return list(question.choices or [])
    return []


def question_problems(question: Question, earlier: Iterable[Question]) -> dict[str, str]:
    """What is wrong with a question's definition, by field; empty when it makes sense.

    earlier are the questions of the same service before this one (a condition may only refer
    to one of them, so the form reads top to bottom).
    """
    problems: dict[str, str] = {}
    if not question.label.strip():
        problems["label"] = "Write the question as the requester will read it."
    if question.kind not in QuestionKind.values:
        problems["kind"] = "Choose what kind of answer the question takes."
    choices = question.choices or []
    if question.kind in CHOICE_KINDS:
        if len(choices) < 2:
            problems["choices"] = "Give at least two choices, one per line, for a choice question."
        elif len(choices) > CHOICES_MAX:
            problems["choices"] = (
                f"Give at most {CHOICES_MAX} choices; this one has {len(choices)}."
            )
        elif any(len(c) > CHOICE_MAX for c in choices):
            problems["choices"] = f"Keep each choice to at most {CHOICE_MAX} characters."
    elif choices:
        problems["choices"] = (
            "Only single and multiple choice questions have choices: clear them, or change the "
            "kind of question."
        )
    low, high = question.min_value, question.max_value
    if question.kind != QuestionKind.NUMBER and (low is not None or high is not None):
        problems["min_value"] = (
            "Only number questions have a smallest and largest value: clear them, or change the "
            "kind of question."
        )
    elif low is not None and high is not None and low > high:
        problems["max_value"] = (
            f"The largest number ({number_text(high)}) is below the smallest "
            f"({number_text(low)}): raise the largest "
            "or lower the smallest."
        )
    if question.condition_question_id is not None:
        problems.update(_condition_problems(question, list(earlier)))
    elif question.condition_operator or question.condition_value:
        problems["condition_question"] = (
            "Choose the question the condition depends on, or clear the condition."
        )
    return problems


def _condition_problems(question: Question, earlier: list[Question]) -> dict[str, str]:
    by_id = {q.pk: q for q in earlier}
    other = by_id.get(question.condition_question_id)
    if other is None:
        return {
            "condition_question": "A condition can only depend on a question that comes before "
            "this one in the same service: choose one of those, or move this question down."
        }
    if other.kind not in CONDITION_KINDS:
        return {
            "condition_question": f"“{other.label}” is a {other.get_kind_display().lower()} "
            "question: a condition can only depend on a choice or yes/no question."
        }
    if question.condition_operator not in ConditionOperator.values:
        return {"condition_operator": "Choose “is” or “is not”."}
    values = condition_values(other)
    if question.condition_value not in values:
        return {
            "condition_value": f"“{other.label}” can't be “{question.condition_value}”: choose "
            f"one of {', '.join(f'“{v}”' for v in values)}."
        }
    return {}


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


class _Unanswered(Exception):
    pass


def _empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == [] or raw == ()


def _one(raw: object, question: Question) -> object:
    if isinstance(raw, list | tuple):
        if len(raw) != 1:
            raise ValueError(f"Give one answer to “{question.label}”.")
        raw = raw[0]
    return raw


def _text(raw: object, question: Question, limit: int) -> tuple[str, str]:
    raw = _one(raw, question)
    if not isinstance(raw, str):
        raise ValueError(f"Answer “{question.label}” with text.")
    text = raw.strip() if question.kind == QuestionKind.LONG_TEXT else " ".join(raw.split())
    if "\x00" in text:
        raise ValueError(f"Answer “{question.label}” with plain text (no NUL characters).")
    if len(text) > limit:
        raise ValueError(
            f"Keep the answer to “{question.label}” to at most {limit:,} characters; this one "
            f"has {len(text):,}."
        )
    return text, text


def _number(raw: object, question: Question) -> tuple[object, str]:
    raw = _one(raw, question)
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise ValueError(f"Answer “{question.label}” with a number, such as 3 or 2.5.")
    try:
        number = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"Answer “{question.label}” with a number, such as 3 or 2.5.") from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ValueError(f"Answer “{question.label}” with a number below a trillion.")
    if number.as_tuple().exponent < -2:
        raise ValueError(f"Answer “{question.label}” with at most 2 decimal places.")
    low, high = question.min_value, question.max_value
    if low is not None and number < low:
        raise ValueError(f"Answer “{question.label}” with {number_text(low)} or more.")
    if high is not None and number > high:
        raise ValueError(f"Answer “{question.label}” with {number_text(high)} or less.")
    value = int(number) if number == number.to_integral_value() else float(number)
    return value, number_text(number)


def _date(raw: object, question: Question) -> tuple[str, str]:
    raw = _one(raw, question)
    if isinstance(raw, datetime.date):
        day = raw
    else:
        try:
            day = datetime.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(
                f"Answer “{question.label}” with a date, such as 2026-03-31."
            ) from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise ValueError(
            f"Answer “{question.label}” with a date between {DATE_MIN.year} and {DATE_MAX.year}."
        )
    return day.isoformat(), day.strftime("%-d %b %Y")


def _choice(raw: object, question: Question) -> tuple[str, str]:
    raw = _one(raw, question)
    if not isinstance(raw, str) or raw not in (question.choices or []):
        raise ValueError(f"Choose one of the answers offered for “{question.label}”.")
    return raw, raw


def _choices(raw: object, question: Question) -> tuple[list[str], str]:
    picked = [raw] if isinstance(raw, str) else raw
    if not isinstance(picked, list | tuple) or not all(isinstance(p, str) for p in picked):
        raise ValueError(f"Choose among the answers offered for “{question.label}”.")
    offered = list(question.choices or [])
    unknown = [p for p in picked if p not in offered]
    if unknown:
        raise ValueError(f"Choose among the answers offered for “{question.label}”.")
    value = [c for c in offered if c in picked]
    return value, ", ".join(value)


def _yes_no(raw: object, question: Question) -> tuple[bool, str]:
    raw = _one(raw, question)
    word = str(raw).strip().casefold() if not isinstance(raw, bool) else str(raw).casefold()
    if word in TRUTHY:
        return True, "Yes"
    if word in FALSY:
        return False, "No"
    raise ValueError(f"Answer “{question.label}” with yes or no.")


def _colleague(raw: object, question: Question, colleagues: Mapping[int, str]) -> tuple[int, str]:
    raw = _one(raw, question)
    try:
        user_id = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        user_id = None
    if user_id is None or user_id not in colleagues:
        raise ValueError(
            f"For “{question.label}”, pick a colleague of your own company from the search."
        )
    return user_id, colleagues[user_id]


def _parse(raw: object, question: Question, colleagues: Mapping[int, str]) -> tuple[object, str]:
    kind = question.kind
    if _empty(raw) or (kind == QuestionKind.MULTIPLE_CHOICE and raw in ([""], ("",))):
        raise _Unanswered
    if kind == QuestionKind.SHORT_TEXT:
        return _text(raw, question, SHORT_TEXT_MAX)
    if kind == QuestionKind.LONG_TEXT:
        return _text(raw, question, LONG_TEXT_MAX)
    if kind == QuestionKind.NUMBER:
        return _number(raw, question)
    if kind == QuestionKind.DATE:
        return _date(raw, question)
    if kind == QuestionKind.SINGLE_CHOICE:
        return _choice(raw, question)
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return _choices(raw, question)
    if kind == QuestionKind.YES_NO:
        return _yes_no(raw, question)
    if kind == QuestionKind.COLLEAGUE:
        return _colleague(raw, question, colleagues)
    raise ValueError(f"“{question.label}” can't be answered here; tell your catalog administrator.")


def _meets(question: Question, value: object) -> bool:
    """Whether an earlier answer (None: unanswered) meets question's condition."""
    wanted = question.condition_value
    if isinstance(value, bool):
        holds = (YES if value else NO) == wanted
    elif isinstance(value, list):
        holds = wanted in value
    else:
        holds = value == wanted
    return holds if question.condition_operator == ConditionOperator.IS else not holds


def shown_questions(questions: list[Question], values: Mapping[int, object]) -> set[int]:
    """The ids of the questions shown for these answers (question id -> parsed value), in order:
    a question is shown when it has no condition, or when the question it depends on is shown
    and its answer meets the condition."""
    shown: set[int] = set()
    for question in questions:
        if question.condition_question_id is None or (
            question.condition_question_id in shown
            and _meets(question, values.get(question.condition_question_id))
        ):
            shown.add(question.pk)
    return shown


def _question_id(key: object) -> int | None:
    text = str(key).removeprefix("q_")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else None


def answers_read(
    questions: list[Question], data: Mapping, colleagues: Mapping[int, str] | None = None
) -> tuple[dict[int, object], dict[int, str]]:
    """Each question's parsed answer (absent when unanswered) and each answer's display text,
    ignoring answers that can't be read (answers_clean says why)."""
    values, displays = {}, {}
    by_id = {_question_id(k): v for k, v in data.items()}
    for question in questions:
        try:
            values[question.pk], displays[question.pk] = _parse(
                by_id.get(question.pk), question, colleagues or {}
            )
        except (_Unanswered, ValueError):
            continue
    return values, displays


def answers_clean(
    *, questions: list[Question], data: Mapping | None, colleagues: Mapping[int, str] | None = None
) -> list[Answer]:
    """The answers to keep with a request, in the questions' order; ValidationError otherwise.

    data maps a question's id (an int, "12" or "q_12") to its answer: text, a number, an ISO
    date, a choice, a list of choices, yes/no (or a boolean), or a colleague's account id.
    colleagues maps the account ids the requester may name to the name shown for each.
    Errors are keyed by answer_field(question id); answers to questions the service doesn't
    ask are refused as a whole.
    """
    data = data or {}
    if not isinstance(data, Mapping):
        raise ValidationError({NON_FIELD_ERRORS: ["Send the answers as question id → answer."]})
    errors: dict[str, list[str]] = {}
    known = {q.pk for q in questions}
    unknown = sorted(str(k)[:20] for k in data if _question_id(k) not in known)
    if unknown:
        errors[NON_FIELD_ERRORS] = [
            "This service doesn't ask question"
            + ("s " if len(unknown) > 1 else " ")
            + ", ".join(unknown[:5])
            + ": reload the page to see its current questions, and answer those."
        ]
    by_id = {_question_id(k): v for k, v in data.items()}
    values: dict[int, object] = {}
    displays: dict[int, str] = {}
    problems: dict[int, str] = {}
    for question in questions:
        try:
            values[question.pk], displays[question.pk] = _parse(
                by_id.get(question.pk), question, colleagues or {}
            )
        except _Unanswered:
            continue
        except ValueError as error:
            problems[question.pk] = str(error)
    shown = shown_questions(questions, values)
    answers = []
    for question in questions:
        if question.pk not in shown:
            continue  # hidden: whatever was sent for it is ignored
        if question.pk in problems:
            errors[answer_field(question.pk)] = [problems[question.pk]]
        elif question.pk in values:
            answers.append(
                Answer(
                    question_id=question.pk,
                    position=len(answers) + 1,
                    label=question.label,
                    kind=question.kind,
                    value=values[question.pk],
                    display=displays[question.pk],
                )
            )
        elif question.required:
            errors[answer_field(question.pk)] = [
                f"Answer “{question.label}”: this service needs it to go ahead."
            ]
    if errors:
        raise ValidationError(errors)
    return answers


# ---------------------------------------------------------------------------------------------
# The form as the requester sees it (the request form, and the editor's preview)
# ---------------------------------------------------------------------------------------------


def answers_from_post(data, questions: list[Question] | None = None) -> dict[str, object]:
    """The answers of a posted form (a QueryDict): every q_… field, a list for multiple choice
    (or wherever several values came), so that answers to questions the service doesn't ask
    reach answers_clean and are refused. questions may be left out (the submission needs no
    read of its own: request_submit reads them)."""
    kinds = {answer_field(q.pk): q.kind for q in questions or ()}
    answers: dict[str, object] = {}
    for key in data:
        if not key.startswith("q_"):
            continue
        values = data.getlist(key)
        # Several values are a multiple choice's ticks (one tick reads as that choice alone).
        if kinds.get(key) == QuestionKind.MULTIPLE_CHOICE or len(values) > 1:
            answers[key] = [v for v in values if v != ""]
        else:
            answers[key] = data.get(key)
    return answers


@dataclass
class AskedQuestion:
    """One question drawn on a form: its field name, what was entered, whether it is shown for
    the answers so far, and the condition in words (shown with it when scripts are off)."""

    question: Question
    name: str
    value: object
    error: str
    shown: bool
    condition: str
    controls: bool
    colleague: tuple[int, str] | None = None

    @property
    def values(self) -> list[str]:
        """What was entered as a list of strings (for ticking choices)."""
        if isinstance(self.value, list | tuple):
            return [str(v) for v in self.value]
        return [] if self.value in (None, "") else [str(self.value)]


def questions_asked(
    questions: list[Question],
    answers: Mapping | None = None,
    errors: Mapping[str, str] | None = None,
    colleagues: Mapping[int, str] | None = None,
) -> list[AskedQuestion]:
    """The questions of a form, drawn for the answers entered so far (none: a new form)."""
    answers = answers or {}
    values, _ = answers_read(questions, answers)
    shown = shown_questions(questions, values)
    label_of = {q.pk: q.label for q in questions}
    controlling = {q.condition_question_id for q in questions if q.condition_question_id}
    asked = []
    for question in questions:
        name = answer_field(question.pk)
        raw = answers.get(name, answers.get(question.pk, answers.get(str(question.pk))))
        colleague = None
        if question.kind == QuestionKind.COLLEAGUE and colleagues:
            try:
                user_id = int(str(_one(raw, question)))
            except (TypeError, ValueError):
                user_id = None
            if user_id in colleagues:
                colleague = (user_id, colleagues[user_id])
        asked.append(
            AskedQuestion(
                question=question,
                name=name,
                value=raw,
                error=(errors or {}).get(name, ""),
                shown=question.pk in shown,
                condition=question.condition_label(label_of),
                controls=question.pk in controlling,
                colleague=colleague,
            )
        )
    return asked
