"""What an answer can take from the conversation: the ids, places, dates, numbers and words the
user (and the system) wrote, the values written as a function's arguments (`magic_function(3)`),
the results of the tools the answer called, the documents, a schema pasted into the prompt.

Pure and bounded: each text is read up to READ characters, the facts of a request are found once,
and a schema in the prompt is looked for among at most SCHEMA_CANDIDATES braces of at most
SCHEMA_SIZE characters each. Nothing is evaluated: a Python-dict schema is read by
`ast.literal_eval`, which parses literals only.
"""

from __future__ import annotations

import ast
import datetime
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..chat.request import ChatRequest, ToolResult

READ = 64 * 1024
"""Characters of each message read for facts."""
SCHEMA_CANDIDATES, SCHEMA_SIZE = 16, 16 * 1024
WRITTEN_DATES = 32
"""Dates written out in words read from each text (each costs a few microseconds of Python)."""

_ID = re.compile(r"\b[A-Za-z]+[_-]?\d[\w-]*\b|(?<![\w-])\d{5,}(?![\w-])")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w-])")
_PLACE_AFTER = re.compile(r"\b(?:in|at|near|for|from|to|around)\s+((?:[A-Z][a-z]+)(?:[ -][A-Z][a-z]+)*)")
PROPER_NOUN = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)*)")
_NUMBER = re.compile(r"(?<![\w.:-])-?\d{1,18}(?:\.\d{1,18})?(?![\w.:-])")
_WORD = re.compile(r"[a-z0-9]+")
_QUOTED = re.compile(r"[\"'\u2018\u201c]([^\"'\u2019\u201d\n]{1,100})[\"'\u2019\u201d]")
_CALL = re.compile(r"\b([A-Za-z_][\w.]{0,63})\s*\(([^()]{0,200})\)")
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_MONTH = r"(?P<{}>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?)"
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_MONTH_HINT = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
"""A cheap look before the written-date pattern runs (most texts name no month)."""
_WRITTEN_DATE = re.compile(  # "December 5, 2024", "Dec. 5th 2024", "5 December 2024"
    rf"\b(?:{_MONTH.format('month')}\s+{_DAY.format('day')},?|{_DAY.format('day2')}\s+(?:of\s+)?"
    rf"{_MONTH.format('month2')},?)\s+(?P<year>\d{{4}})\b",
    re.IGNORECASE | re.ASCII,
)
_NOT_PLACES = frozenset(
    {
        "I", "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
        "Saturday", "Sunday", "Today", "Tomorrow", "Please", "Thanks",
    }
)  # fmt: skip
# Property and parameter names whose value is a place, a text of the prompt (grounding and
# structured.py's tool arguments read the same lists).
PLACE_NAMES = frozenset({"city", "location", "place", "town", "region", "country", "destination", "where"})
NAME_WORDS = frozenset({"name", "title", "label", "subject"})
TEXT_NAMES = frozenset({"query", "q", "question", "text", "prompt", "input", "message"})
COUNTRY_NAMES = frozenset({"country", "nation", "nationality"})
DATE_WORDS = frozenset({"date", "day", "when", "birthday", "deadline", "dob"})
DATE_TIME_WORDS = frozenset({"datetime", "timestamp"})
_VERBS = frozenset({"get", "fetch", "lookup", "look", "find", "search", "check", "query", "retrieve", "read"})


@dataclass(frozen=True, slots=True)
class Facts:
    """What the conversation says, the latest user message first, then the system's, then earlier
    user messages."""

    ids: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    numbers: tuple[int | float, ...] = ()
    quoted: tuple[str, ...] = ()
    """Text the user wrote in quotes ('你好啊集团', "Acme"): a name, a title."""
    words: frozenset[str] = frozenset()
    """Every word, lower case (enum values and tools are matched against them)."""
    calls: Mapping[str, tuple[Any, ...]] | None = None
    """Function-call syntax the user wrote: name -> its arguments (`magic_function(3)`)."""
    said: str = ""
    """The latest user message, as read."""
    countries: tuple[str, ...] = ()
    """The places that are countries (of those facts_of was told of)."""

    def value(self, name: str, schema: Mapping[str, Any]) -> tuple[bool, Any]:
        """(True, a value the conversation gives for a property `name` of `schema`), or
        (False, None) when it gives none."""
        options = schema.get("enum")
        if isinstance(options, list) and options:
            for option in options:
                if isinstance(option, str) and option.lower() in self.words:
                    return True, option
            return False, None
        kind = _kind(schema)
        lowered = name.lower()
        if kind in ("integer", "number"):
            for number in self.numbers:
                if (kind == "number" or isinstance(number, int)) and _within(number, schema):
                    return True, number
            return False, None
        if kind != "string":
            return False, None
        return self._text(name, lowered, schema)

    def _text(self, name: str, lowered: str, schema: Mapping[str, Any]) -> tuple[bool, Any]:
        words = set(name_words(name))
        if form := date_form(name, schema):
            return (True, as_form(self.dates[0], form)) if self.dates else (False, None)
        if lowered == "id" or lowered.endswith("_id") or words & {"id", "reference", "tracking"}:
            return (True, self.ids[0]) if self.ids else (False, None)
        if lowered in COUNTRY_NAMES:
            return (True, self.countries[0]) if self.countries else (False, None)
        if lowered in PLACE_NAMES:
            return (True, self.places[0]) if self.places else (False, None)
        if words & NAME_WORDS and self.quoted:
            return True, self.quoted[0]
        if lowered in TEXT_NAMES and self.said:
            return True, self.said[:200]
        return False, None

    def arguments_written(self, tool: str) -> tuple[Any, ...]:
        return (self.calls or {}).get(tool.lower(), ())


def date_form(name: str, schema: Mapping[str, Any]) -> str | None:
    """"date" or "date-time" when a string property is one: by its schema's `format`, else by
    its name (`date`, `start_date`, `birthday`; `timestamp`); None: it is not a date."""
    form = schema.get("format")
    if form in ("date", "date-time"):
        return str(form)
    if _kind(schema) not in (None, "string") or form is not None:
        return None
    words = set(name_words(name))
    if words & DATE_TIME_WORDS:
        return "date-time"
    return "date" if words & DATE_WORDS else None


def as_form(date: str, form: str) -> str:
    """An ISO date or date-time the conversation gave, as `form` asks: a date's first ten
    characters, or a date-time (midnight UTC when only the day was given)."""
    if form == "date":
        return date[:10]
    return date if len(date) > 10 else f"{date}T00:00:00Z"


def written_dates(text: str) -> list[tuple[int, str]]:
    """The dates written out in `text` ("December 5, 2024", "5 Dec 2024"), with where each
    starts, as ISO dates (the first WRITTEN_DATES); a day the month does not have is no date."""
    found: list[tuple[int, str]] = []
    for match in itertools.islice(_WRITTEN_DATE.finditer(text), WRITTEN_DATES):
        month_name = (match.group("month") or match.group("month2")).lower().rstrip(".")
        month = next((n for n, full in enumerate(_MONTHS, 1) if full.startswith(month_name[:3])), 0)
        if month_name not in _MONTHS[month - 1] and month_name != "sept":
            continue  # "Marching 5 2024" is no month
        try:
            day_of_month = int(match.group("day") or match.group("day2"))
            day = datetime.date(int(match.group("year")), month, day_of_month)
        except ValueError:
            continue
        found.append((match.start(), day.isoformat()))
    return found


def facts_of(request: ChatRequest, countries: frozenset[str] = frozenset()) -> Facts:
    """The facts of a request's conversation (read once per request: the generator keeps them);
    `countries`, the names that are countries."""
    users = [m.content[:READ] for m in request.messages if m.role == "user"]
    systems = [m.content[:READ] for m in request.messages if m.role == "system"]
    texts = [*users[-1:], *systems, *reversed(users[:-1])]
    ids: list[str] = []
    dates: list[str] = []
    places: list[str] = []
    numbers: list[int | float] = []
    calls: dict[str, tuple[Any, ...]] = {}
    quoted: list[str] = []
    for text in texts:
        quoted += _QUOTED.findall(text)
        found_dates = _DATE.findall(text)
        written = written_dates(text) if _MONTH_HINT.search(text) else []
        iso = [(match.start(), match.group()) for match in _DATE.finditer(text)]
        dates += [date for _, date in sorted(iso + written)]
        ids += [token for token in _ID.findall(text) if not any(token in date for date in found_dates)]
        places += [p for p in _PLACE_AFTER.findall(text) if p not in _NOT_PLACES]
        places += [p for p in PROPER_NOUN.findall(text) if p not in _NOT_PLACES]
        without_dates = _DATE.sub(" ", text)
        if written:
            without_dates = _WRITTEN_DATE.sub(" ", without_dates)
        numbers += [_number(token) for token in _NUMBER.findall(without_dates)]
        for name, written in _CALL.findall(text):
            calls.setdefault(name.lower(), tuple(_literal(part) for part in _split_arguments(written)))
    return Facts(
        ids=tuple(dict.fromkeys(ids)),
        dates=tuple(dict.fromkeys(dates)),
        places=tuple(dict.fromkeys(places)),
        numbers=tuple(dict.fromkeys(numbers)),
        quoted=tuple(dict.fromkeys(quoted)),
        words=frozenset(word for text in texts for word in _WORD.findall(text.lower())),
        calls=calls,
        said=users[-1] if users else "",
        countries=tuple(place for place in dict.fromkeys(places) if place in countries),
    )


def grounded(parameters: Mapping[str, Any], facts: Facts, tool: str) -> bool:
    """Whether the conversation gives every required argument of a tool (at least one): then a
    model would call it without asking."""
    required = parameters.get("required") or []
    properties = parameters.get("properties") or {}
    if not isinstance(required, list) or not required or not isinstance(properties, Mapping):
        return False
    written = facts.arguments_written(tool)
    return all(
        isinstance(name, str)
        and (
            _written_position(properties, name) < len(written)
            or facts.value(name, properties.get(name) or {})[0]
        )
        for name in required
    )


def _written_position(properties: Mapping[str, Any], name: str) -> int:
    return list(properties).index(name) if name in properties else 1 << 30


def results_answer(results: Sequence[ToolResult]) -> str:
    """Sentences that give the tools' results back, each with what it was asked about:
    `The weather in Lisbon on 2026-12-24 is 32 celsius.`"""
    return " ".join(_result_sentence(result) for result in results)


def _result_sentence(result: ToolResult) -> str:
    subject = " ".join(word for word in _name_words(result.name) if word not in _VERBS) or "result"
    try:
        arguments = json.loads(result.arguments)
    except ValueError:
        arguments = {}
    about = []
    for name, value in arguments.items() if isinstance(arguments, dict) else ():
        if isinstance(value, (dict, list)) or value in (None, ""):
            continue
        lowered = name.lower()
        if lowered in PLACE_NAMES:
            about.append(f"in {value}")
        elif "date" in lowered or "day" in lowered or _DATE.fullmatch(str(value)):
            about.append(f"on {value}")
        else:
            about.append(f"for {value}")
    told = _told(result.content)
    sentence = " ".join(["The", subject, *about[:4], "is", told])
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _told(content: str) -> str:
    """A tool result as words: text as it is (up to 300 characters), a JSON object's values."""
    text = content.strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(value, dict):
        return ", ".join(f"{key} {_plain(item)}" for key, item in list(value.items())[:8])[:300]
    return _plain(value)[:300]


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def quote(documents: Sequence[str], said: str) -> str | None:
    """The sentence of the documents that shares the most words with what the user said (the
    first on a tie), as written, up to 300 characters."""
    wanted = set(_WORD.findall(said.lower()[:READ]))
    best, best_score = None, -1
    for document in documents:
        for part in re.split(r"(?<=[.!?])\s+|\n+", document[:READ]):
            sentence = part.strip()
            if not sentence:
                continue
            score = len(wanted & set(_WORD.findall(sentence.lower())))
            if score > best_score:
                best, best_score = sentence, score
    return best[:300] if best else None


def prompt_schema(prompt: str) -> dict[str, Any] | None:
    """A JSON Schema pasted into the prompt (JSON, or a Python dict as `repr` writes one) with
    `properties`, or None. At most SCHEMA_CANDIDATES braces are tried, each up to SCHEMA_SIZE."""
    text = prompt[:READ]
    start, tried = text.find("{"), 0
    while start >= 0 and tried < SCHEMA_CANDIDATES:
        tried += 1
        end = _closing(text, start)
        if end is not None:
            value = _parsed(text[start : end + 1])
            if isinstance(value, dict) and isinstance(value.get("properties"), dict):
                return value
            start = text.find("{", end + 1)
        else:
            start = text.find("{", start + 1)
    return None


def _closing(text: str, start: int) -> int | None:
    """The brace that closes the one at `start` (quoted text skipped), within SCHEMA_SIZE."""
    depth, quote_mark, escaped = 0, "", False
    for index in range(start, min(len(text), start + SCHEMA_SIZE)):
        char = text[index]
        if quote_mark:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote_mark:
                quote_mark = ""
        elif char in "\"'":
            quote_mark = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _parsed(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    try:
        return ast.literal_eval(candidate)  # literals only: no name is looked up, nothing runs
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _kind(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _within(number: float, schema: Mapping[str, Any]) -> bool:
    low, high = schema.get("minimum"), schema.get("maximum")
    return (not isinstance(low, (int, float)) or number >= low) and (
        not isinstance(high, (int, float)) or number <= high
    )


def _number(token: str) -> int | float:
    return float(token) if "." in token else int(token)


def _split_arguments(written: str) -> list[str]:
    return [part.strip() for part in written.split(",") if part.strip()]


def _literal(part: str) -> Any:
    """One argument as written: `3`, `2.5`, `"Paris"`, `true`; `name=value` gives the value."""
    _, equals, value = part.partition("=")
    text = (value if equals else part).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text.strip("\"'")


def name_words(name: str) -> list[str]:
    """A property's or tool's name as lower-case words: `startDate`, `start_date`: start, date."""
    return _name_words(name)


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [word for word in spaced.lower().split() if word]


def tool_words(name: str, description: str) -> set[str]:
    """A tool's words (its name split, its description), those of more than two letters."""
    return {
        word for word in _WORD.findall(" ".join([*_name_words(name), description.lower()])) if len(word) > 2
    }
