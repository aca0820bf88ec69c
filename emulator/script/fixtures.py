"""Reading fixture files (schemas/fixtures.schema.json) into rules: the files a --fixtures path
names, each checked against the schema (its errors worded with the schema's own `x-message`s).

Bounded: a fixture document (a file, or a body sent to the admin API) is at most MAX_DOCUMENT
bytes, read only from a regular file (a FIFO, a device or a symlink to one is refused), holds
at most rules.MAX_RULES rules of at most MAX_RULE_SIZE bytes each. It is checked by jsonschema-rs
(linear time, a small constant); only the first MAX_PROBLEMS rules that fail are then worded by
`jsonschema`, one rule at a time, and the rest are counted.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from ..chat.budget import MAX_ERRORS
from ..chat.readable import readable
from ..errors import FixtureError, PatternError
from .faults import Fault
from .fixture_schema import fixture_schema
from .match import Match, TextMatch, ToolResultMatch
from .patterns import MEMORY, Pattern
from .replies import ErrorReply, Pacing, Reply, ScriptedCall
from .rules import MAX_RULES, MAX_WEIGHT, Rule
from .templates import compile_template

MAX_DOCUMENT = 4 << 20
"""Bytes a fixture file, or a fixture document sent to the admin API, may hold."""
MAX_RULE_SIZE = 64 * 1024
"""Bytes one rule may take, as compact JSON."""
MAX_PROBLEMS = 20
"""Rules whose problems are listed, one line per problem; others that fail are counted."""
_MESSAGE = 300
"""Characters of one problem's message shown (a message can quote the value it is about)."""


def fixture_files(paths: Sequence[str]) -> list[Path]:
    """The files named, with each folder replaced by the *.json files in it (sorted)."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise FixtureError(f"{text}: no such file or folder (--fixtures takes a .json file or a folder)")
    return files


def load_file(path: Path) -> list[Rule]:
    try:
        document = json.loads(read_document(path))
    except UnicodeDecodeError as error:
        raise FixtureError(f"{path}: cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise FixtureError(
            f"{path}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise FixtureError(f"{path}: nested too deeply to be a fixture document") from None
    return rules_from(document, str(path))


def read_document(path: Path) -> str:
    """A fixture file's text: a regular file of at most MAX_DOCUMENT bytes (opened without
    waiting, so a FIFO cannot block the reader; a device is never read), else FixtureError."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise FixtureError(f"{path}: cannot be read: {error.strerror or error}") from None
    with open(descriptor, "rb", closefd=True) as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise FixtureError(
                f"{path}: not a regular file (a FIFO, a device or a socket); fixtures are files"
            )
        if status.st_size > MAX_DOCUMENT:
            raise FixtureError(f"{path}: {status.st_size:,} bytes; a fixture file holds at most {_limit()}")
        data = file.read(MAX_DOCUMENT + 1)
    if len(data) > MAX_DOCUMENT:
        raise FixtureError(
            f"{path}: grew past {_limit()} while being read; a fixture file holds at most that"
        )
    return data.decode("utf-8")


def _limit() -> str:
    return f"{MAX_DOCUMENT >> 20} MiB ({MAX_DOCUMENT:,} bytes)"


def rules_from(document: Any, source: str, max_errors: int = MAX_ERRORS) -> list[Rule]:
    """Rules from a fixture document (a file's contents, or a body sent to the admin API); a
    FixtureError listing at most `max_errors` problems if it is not one."""
    try:
        if not fixture_schema().document.is_valid(readable(document)):
            _refuse(document, source, max_errors)  # (jsonschema-rs reads no lone surrogate)
        _check_size(document["rules"], source)
        return [_rule(entry, source, index) for index, entry in enumerate(document["rules"])]
    except RecursionError:
        raise FixtureError(f"{source}: nested too deeply to be a fixture document") from None


def _refuse(document: Any, source: str, listed: int) -> None:
    """FixtureError listing what is wrong with `document`, `listed` problems at most: its own
    fields, then each rule's (a rule past MAX_RULE_SIZE is not checked further)."""
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list):
        problems = [_describe(source, error) for error in fixture_schema().worded.iter_errors(document)]
        raise FixtureError("\n".join(sorted(set(problems))[:listed]))
    _check_size(rules, source)
    problems = [_describe(source, e) for e in fixture_schema().worded.iter_errors({**document, "rules": []})]
    failed = 0
    rule_schema = fixture_schema().rule
    for index, entry in enumerate(rules):
        too_large = _too_large(entry, source, index)
        if too_large is None and rule_schema.is_valid(readable(entry)):
            continue
        failed += 1
        if failed <= MAX_PROBLEMS and len(problems) < listed:
            errors = fixture_schema().worded.iter_errors({"rules": [entry]}) if too_large is None else ()
            problems += (
                [too_large] if too_large else sorted({_describe(source, e, entry, index) for e in errors})
            )
    if failed > MAX_PROBLEMS:
        problems.append(f"{source}: and {failed - MAX_PROBLEMS:,} more rules that are not valid rules")
    if len(problems) > listed:
        problems[listed:] = [f"{source}: and {len(problems) - listed:,} more problems not listed"]
    raise FixtureError("\n".join(problems))


def _too_large(entry: Any, source: str, index: int) -> str | None:
    """Why a rule is too large to take (None: it is not)."""
    size = _size(entry)
    if size <= MAX_RULE_SIZE:
        return None
    limit = MAX_RULE_SIZE // 1024
    return f"{_where(source, index, entry)}: {size:,} bytes as JSON; a rule takes at most {limit} KiB"


def _check_size(rules: list[Any], source: str) -> None:
    """FixtureError if the document's rules could never be in force together (rules.MAX_RULES,
    rules.MAX_WEIGHT), before any of their patterns is compiled."""
    if len(rules) > MAX_RULES:
        raise FixtureError(f"{source}: {len(rules):,} rules; a fixture document holds at most {MAX_RULES:,}")
    patterns = sum(
        1
        for rule in rules
        if isinstance(rule, dict) and isinstance(match := rule.get("match"), dict)
        for key in ("last_user", "any_message", "tool_result")
        if isinstance(text := match.get(key), dict) and "regex" in text
    )
    if patterns * MEMORY > MAX_WEIGHT:
        raise FixtureError(
            f"{source}: {patterns:,} regexes; rules in force weigh at most {MAX_WEIGHT >> 20} MiB, "
            f"each regex {MEMORY // 1024} KiB, so at most {MAX_WEIGHT // MEMORY:,} regexes"
        )


def _describe(source: str, error: Any, rule: Any = None, index: int = 0) -> str:
    """One problem: `{source}: rule N ('name'): field.path: message` (`rule`: the rule the error
    was found in, validated alone as rule `index`)."""
    path = list(error.absolute_path)
    where = source
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        where = _where(source, index, rule)
        path = path[2:]
    field_path = ".".join(str(part) for part in path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    message = schema.get("x-message", error.message)  # the schema's own words, where it has them
    if len(message) > _MESSAGE:
        message = message[: _MESSAGE - 3] + "..."
    return f"{where}: {field_path + ': ' if field_path else ''}{message}"


def _where(source: str, index: int, rule: Any) -> str:
    """`{source}: rule N ('its name')`, the name if it has one."""
    name = rule.get("name") if isinstance(rule, dict) else None
    return f"{source}: rule {index + 1}" + (f" ({_shown(name)})" if isinstance(name, str) else "")


def _shown(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _size(entry: Any) -> int:
    try:
        return len(orjson.dumps(entry))
    except (orjson.JSONEncodeError, TypeError):  # deeper than orjson writes, or an integer past 64 bits
        return len(json.dumps(entry, separators=(",", ":"), ensure_ascii=False))


def _rule(entry: Mapping[str, Any], source: str, index: int) -> Rule:
    name = entry.get("name", f"{source}#{index + 1}")
    too_large = _too_large(entry, source, index)
    if too_large is not None:
        raise FixtureError(too_large)
    spec = entry.get("match", {})
    try:
        match = Match(
            model=spec.get("model"),
            last_user=_text(spec.get("last_user")),
            any_message=_text(spec.get("any_message")),
            turn=spec.get("turn"),
            last_role=spec.get("last_role"),
            tool_result=_tool_result(spec.get("tool_result")),
            tools=tuple(spec.get("tools", ())),
            params=_params(spec.get("params", {})),
            headers={key.lower(): value for key, value in spec.get("headers", {}).items()},
            surface=spec.get("surface"),
        )
    except PatternError as error:
        raise FixtureError(f"{_where(source, index, entry)}: regex: {error}") from None
    sequence = "replies" in entry
    where = _where(source, index, entry)
    replies = tuple(_reply(r, where) for r in (entry["replies"] if sequence else [entry["reply"]]))
    return Rule(
        name=name,
        match=match,
        replies=replies,
        sequence=sequence,
        times=entry.get("times"),
        expect=entry.get("expect"),
        source=source,
        weight=_size(entry) + MEMORY * _patterns(match),
    )


def _patterns(match: Match) -> int:
    texts = [match.last_user, match.any_message, match.tool_result.text if match.tool_result else None]
    return sum(1 for text in texts if text is not None and text.regex is not None)


def _params(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the admitted request holds them: `stop` always a tuple."""
    params = dict(spec)
    if isinstance(params.get("stop"), str):
        params["stop"] = (params["stop"],)
    elif isinstance(params.get("stop"), list):
        params["stop"] = tuple(params["stop"])
    return params


def _text(spec: Mapping[str, Any] | None) -> TextMatch | None:
    if spec is None:
        return None
    regex = spec.get("regex")
    return TextMatch(
        equals=spec.get("equals"),
        contains=spec.get("contains"),
        regex=Pattern(regex) if regex is not None else None,
        role=spec.get("role"),
    )


def _tool_result(spec: Mapping[str, Any] | None) -> ToolResultMatch | None:
    if spec is None:
        return None
    texts = {key: value for key, value in spec.items() if key != "tool_call_id"}
    return ToolResultMatch(text=_text(texts) if texts else None, tool_call_id=spec.get("tool_call_id"))


def _reply(spec: Mapping[str, Any], where: str) -> Reply:
    pacing = Pacing(**spec.get("timing", {}))
    error = spec.get("error")
    if error is not None:
        failure = ErrorReply(error["status"], error.get("detail"), dict(error.get("headers", {})))
        return Reply(error=failure, pacing=pacing)
    fault = Fault(**spec["fault"]) if "fault" in spec else None
    calls = tuple(_call(call) for call in spec.get("tool_calls", ()))
    content = spec.get("content")
    return Reply(
        content=content,
        template=compile_template(content, where) if content is not None else None,
        finish_reason=spec.get("finish_reason"),
        tool_calls=calls,
        pacing=pacing,
        fault=fault,
    )


def _call(spec: Mapping[str, Any]) -> ScriptedCall:
    arguments = spec.get("arguments")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments, ensure_ascii=False)  # as generated ones are written
    return ScriptedCall(spec["name"], arguments)
