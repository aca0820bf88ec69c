"""Reading fixture files (schemas/fixtures.schema.json) into rules: the files a --fixtures path
names, each checked against the schema (its errors worded with the schema's own `x-message`s).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..contract.schema import Contract
from ..errors import FixtureError, PatternError
from .faults import Fault
from .patterns import Pattern
from .replies import ErrorReply, Pacing, Reply, ScriptedCall
from .rules import Match, Rule, TextMatch, ToolResultMatch
from .templates import compile_template


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


def load_file(path: Path, contract: Contract) -> list[Rule]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError(f"{path}: cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise FixtureError(
            f"{path}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    return rules_from(document, str(path), contract)


def rules_from(document: Any, source: str, contract: Contract) -> list[Rule]:
    """Rules from a fixture document (a file's contents, or a body sent to the admin API)."""
    try:
        problems = [
            _describe(source, document, error)
            for error in contract.validator("fixtures.schema.json").iter_errors(document)
        ]
    except RecursionError:
        raise FixtureError(f"{source}: nested too deeply to be a fixture document") from None
    if problems:
        raise FixtureError("\n".join(sorted(set(problems))))
    return [_rule(entry, source, index) for index, entry in enumerate(document["rules"])]


def _describe(source: str, document: Any, error: Any) -> str:
    path = list(error.absolute_path)
    where = source
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rule = document["rules"][path[1]]
        name = rule.get("name") if isinstance(rule, dict) else None
        where += f": rule {path[1] + 1}" + (f" ({name!r})" if isinstance(name, str) else "")
        path = path[2:]
    field_path = ".".join(str(part) for part in path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    message = schema.get("x-message", error.message)  # the schema's own words, where it has them
    return f"{where}: {field_path + ': ' if field_path else ''}{message}"


def _rule(entry: Mapping[str, Any], source: str, index: int) -> Rule:
    name = entry.get("name", f"{source}#{index + 1}")
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
        raise FixtureError(f"{source}: rule {index + 1} ({name!r}): regex: {error}") from None
    sequence = "replies" in entry
    where = f"{source}: rule {index + 1} ({name!r})"
    replies = tuple(_reply(r, where) for r in (entry["replies"] if sequence else [entry["reply"]]))
    return Rule(
        name=name,
        match=match,
        replies=replies,
        sequence=sequence,
        times=entry.get("times"),
        expect=entry.get("expect"),
        source=source,
    )


def _params(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as the admitted request holds them: `stop` always a list."""
    params = dict(spec)
    if isinstance(params.get("stop"), str):
        params["stop"] = [params["stop"]]
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
