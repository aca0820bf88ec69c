"""The emulator's settings: one frozen dataclass, from CLI flags and `JAMBA_EMULATOR_*` variables.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError

DEFAULT_SEED = 2104
DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_PREFIX = "JAMBA_EMULATOR_"
LOOPBACK_HOSTS = ("localhost", "::1")
UNMATCHED_MODES = ("generate", "error")
TOOL_CALL_PARSERS = ("jamba", "hermes")
"""The vLLM tool-call parsers of Jamba's templates: jamba (1.5 to 1.7, Jamba2), hermes (Reasoning 3B)."""
REASONING_PARSERS = ("deepseek_r1", "qwen3")
RELOAD_INTERVAL = 0.5
MAX_TOKEN_MS = 1000
"""The slowest pace a Bedrock stream may be set to (a 4,096-token answer then takes 68 minutes)."""
_RATE = re.compile(
    r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour)s?\s*$", re.IGNORECASE | re.ASCII
)
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE | re.ASCII)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8021
    seed: int | None = None
    """None: the fixed default text seed, and random ids. Given: both derive from it."""
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    api_keys: tuple[str, ...] = ()
    """Accepted keys; empty means any non-empty key."""
    strict: bool = False
    log_level: str = "info"
    journal_size: int = 1000
    """How many requests the journal keeps (the oldest go first); 0 keeps none."""
    fixtures: tuple[str, ...] = ()
    """Fixture files or folders of scripted replies, loaded at start; none by default."""
    admin_token: str | None = None
    """Required by the admin API (X-Emulator-Admin-Token) when set, and when not on loopback."""
    reload: bool = True
    """Reload the fixture files when they change (checked every RELOAD_INTERVAL seconds)."""
    unmatched: str = "generate"
    """What a request no rule answers gets: "generate" (the generated answer) or "error" (a 404
    naming the closest rules and why each did not match)."""
    fault_rate: float = 0.0
    """Share of the valid requests no rule answers that meet a fault drawn from `faults` (seeded)."""
    faults: tuple[str, ...] = ()
    """Error statuses and fault kinds (script/faults.FAULT_KINDS) that --fault-rate draws from;
    empty: the fault plan's default (faults.DEFAULT_GLOBAL_FAULTS). Checked by Core.build."""
    workers: int = 1
    """Processes serving the port (SO_REUSEPORT); each keeps its own journal and rules."""
    rate_limit: tuple[tuple[int, float], ...] = ()
    """Emulated rate limit per API key: (requests, per seconds) windows; none by default."""
    models: tuple[str, ...] = ()
    """The catalog's models the server accepts (others get the unsupported-model 422); empty: all.
    Checked against the catalog by Core.build."""
    max_errors: int = 1000
    """The most validation errors a 422 lists; one more item counts the rest."""
    keepalive_timeout: float = 75.0
    """Seconds an idle keep-alive connection stays open."""
    request_timeout: float = 15.0
    """Seconds a request's head may take to arrive once begun, and its body once the head is in."""
    max_connections: int = 1000
    """Open connections at most; at the cap, the one waiting longest for a request head is closed."""
    shutdown_timeout: float = 3.0
    """Seconds the server waits for answers in progress (streams included) when it stops."""
    bedrock_token_ms: int = 1
    """Milliseconds at least between a Bedrock stream's events, as the model's pace keeps them on
    Bedrock (the ai21 SDK's Bedrock decoder needs each event in a read of its own); 0: unpaced."""
    strict_allow: tuple[str, ...] = ()
    """Fields strict mode accepts although the real service ignored them (e.g. stop_sequences)."""
    vllm_version: str | None = None
    """The vLLM release the vllm surface answers as (its line's behaviour); None: the one AI21
    recommends for --vllm-model, else 0.11.0. Checked by Core.build (contract/vllm.py)."""
    vllm_model: str | None = None
    """The one open-weights checkpoint the vllm surface serves (vLLM's --model); None: all."""
    served_model_name: tuple[str, ...] = ()
    """The names it is served by (vLLM's --served-model-name); empty: its id."""
    max_model_len: int | None = None
    """The context window the vllm surface checks and reports; None: the checkpoint's."""
    enable_auto_tool_choice: bool = False
    """vLLM's flag: without it (and a parser), tool_choice "auto" gets vLLM's 400."""
    tool_call_parser: str | None = None
    reasoning_parser: str | None = None

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @property
    def text_seed(self) -> int:
        return DEFAULT_SEED if self.seed is None else self.seed

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Defaults overridden by any `JAMBA_EMULATOR_<FIELD>` variables that are set."""
        environ = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for field in fields(cls):
            name = variable_of(field.name)
            if environ.get(name, "").strip():
                changes[field.name] = SETTINGS[field.name].parse(environ[name], name)
        return cls(**changes)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], source: str = "settings") -> Config:
        """Defaults overridden by `settings` (field names; a string value is read as the CLI and
        the environment read it, e.g. rate_limit="2/s,60/min"; a list becomes a tuple)."""
        names = {field.name for field in fields(cls)}
        changes: dict[str, Any] = {}
        for name, given in settings.items():
            if name not in names:
                known = ", ".join(sorted(names))
                raise ConfigError(f"{source}: no setting {name!r}; the settings are {known}")
            value = given
            if isinstance(given, str) and name not in ("host", "admin_token"):
                value = SETTINGS[name].parse(given, f"{source}: {name}")
            changes[name] = tuple(value) if isinstance(value, list) else value
        return cls(**changes)


def parse_port(text: str, source: str = "--port") -> int:
    port = _parse_int(text, source)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source} must be between 0 and 65535 (0 picks a free port), got {text!r}")
    return port


def parse_seed(text: str, source: str = "--seed") -> int:
    return _parse_int(text, source)


def parse_size(text: str, source: str = "--max-body-size") -> int:
    """Bytes, optionally with a unit: 1048576, 512K, 8M, 8MiB, 1G."""
    match = _SIZE.match(text)
    if not match:
        raise ConfigError(f"{source} must be a size such as 8388608, 512K or 8M, got {text!r}")
    unit = (match.group(2) or "").lower()[:1]
    size = int(match.group(1)) * _UNITS[unit]
    if size < 1024:
        raise ConfigError(f"{source} must be at least 1024 bytes, got {text!r}")
    return size


def parse_keys(text: str, source: str = "JAMBA_EMULATOR_API_KEYS") -> tuple[str, ...]:
    return tuple(key.strip() for key in text.split(",") if key.strip())


def parse_fields(text: str, source: str = "--strict-allow") -> tuple[str, ...]:
    """Comma-separated field names: `stop_sequences,seed`."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise ConfigError(f"{source} needs at least one field name, e.g. stop_sequences,seed; got {text!r}")
    return names


def parse_bool(text: str, source: str = "--strict") -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{source} must be true or false (1/0, yes/no), got {text!r}")


def parse_log_level(text: str, source: str = "--log-level") -> str:
    return _parse_one_of(text, source, LOG_LEVELS)


def parse_journal_size(text: str, source: str = "--journal-size") -> int:
    """Entries, 0 or more (the journal's own bound is checked where it is built: Core.build)."""
    size = _parse_int(text, source)
    if size < 0:
        raise ConfigError(f"{source} must be 0 (keep nothing) or more entries, got {text!r}")
    return size


def parse_models(text: str, source: str = "JAMBA_EMULATOR_MODELS") -> tuple[str, ...]:
    """Comma-separated model names (each checked against the catalog by Core.build)."""
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise ConfigError(f"{source}: no model named; see the README's model table (schemas/catalog.json)")
    return names


def parse_paths(text: str, source: str = "JAMBA_EMULATOR_FIXTURES") -> tuple[str, ...]:
    return tuple(path.strip() for path in text.split(os.pathsep) if path.strip())


def parse_token(text: str, source: str = "--admin-token") -> str | None:
    return text.strip() or None


def parse_workers(text: str, source: str = "--workers") -> int:
    workers = _parse_int(text, source)
    if workers < 1:
        raise ConfigError(f"{source} must be 1 or more (processes serving the port), got {text!r}")
    return workers


def parse_max_errors(text: str, source: str = "--max-errors") -> int:
    count = _parse_int(text, source)
    if count < 1:
        raise ConfigError(f"{source} must be 1 or more (validation errors a 422 lists), got {text!r}")
    return count


def parse_max_connections(text: str, source: str = "--max-connections") -> int:
    count = _parse_int(text, source)
    if count < 1:
        raise ConfigError(f"{source} must be 1 or more (open connections at most), got {text!r}")
    return count


def parse_token_ms(text: str, source: str = "--bedrock-token-ms") -> int:
    milliseconds = _parse_int(text, source)
    if not 0 <= milliseconds <= MAX_TOKEN_MS:
        raise ConfigError(
            f"{source} must be 0 (unpaced) to {MAX_TOKEN_MS} milliseconds between events, got {text!r}"
        )
    return milliseconds


def parse_seconds(text: str, source: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise ConfigError(f"{source} must be a number of seconds above 0 (e.g. 15 or 0.5), got {text!r}")
    return seconds


def parse_vllm_version(text: str, source: str = "--vllm-version") -> str | None:
    """A vLLM release such as 0.8.5.post1 or 0.11.0 (which ones are modelled: Core.build)."""
    version = text.strip().removeprefix("v")
    if not version:
        return None
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+(\.post[0-9]+)?", version):
        raise ConfigError(f"{source} must be a vLLM release such as 0.8.5.post1 or 0.11.0, got {text!r}")
    return version


def parse_name(text: str, source: str) -> str | None:
    return text.strip() or None


def parse_names(text: str, source: str = "JAMBA_EMULATOR_SERVED_MODEL_NAME") -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def parse_model_len(text: str, source: str = "--max-model-len") -> int | None:
    """Tokens, or with k/K (1024s, as vLLM reads them: 32k is 32768); empty for the checkpoint's."""
    value = text.strip().lower()
    if not value:
        return None
    multiplier = 1024 if value.endswith("k") else 1
    try:
        tokens = int(value.removesuffix("k")) * multiplier
    except ValueError:
        tokens = 0
    if tokens < 1:
        raise ConfigError(f"{source} must be a number of tokens such as 32768 or 32k, got {text!r}")
    return tokens


def parse_tool_parser(text: str, source: str = "--tool-call-parser") -> str | None:
    return _parse_one_of(text, source, TOOL_CALL_PARSERS) if text.strip() else None


def parse_reasoning_parser(text: str, source: str = "--reasoning-parser") -> str | None:
    return _parse_one_of(text, source, REASONING_PARSERS) if text.strip() else None


def parse_unmatched(text: str, source: str = "--unmatched") -> str:
    return _parse_one_of(text, source, UNMATCHED_MODES)


def parse_rate(text: str, source: str = "--fault-rate") -> float:
    try:
        rate = float(text.strip())
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{source} must be between 0 and 1 (0.1: one request in ten), got {text!r}")
    return rate


def parse_faults(text: str, source: str = "--faults") -> tuple[str, ...]:
    """Comma-separated error statuses and fault kinds: `429,500,503,drop_mid_stream` (each checked
    by Core.build, where the fault plan is made)."""
    choices = tuple(part.strip() for part in text.split(",") if part.strip())
    if not choices:
        raise ConfigError(f"{source} needs at least one error status or fault kind, got {text!r}")
    return choices


def parse_rate_limit(text: str, source: str = "--rate-limit") -> tuple[tuple[int, float], ...]:
    """Comma-separated windows `COUNT/PERIOD`: `2/s,60/min`, `100/10s`, `1000/h`; "off" for none."""
    if text.strip().lower() in ("", "off", "none", "0"):
        return ()
    limits = []
    for part in text.split(","):
        match = _RATE.match(part)
        if not match or int(match.group(1)) < 1 or match.group(2) == "0":
            raise ConfigError(
                f"{source} must be windows such as 2/s,60/min (COUNT/PERIOD, PERIOD s, min or h, "
                f"optionally with a number: 100/10s), got {text!r}"
            )
        count, periods, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)[0].lower()
        limits.append((count, periods * _PERIODS[unit]))
    return tuple(limits)


def _parse_one_of(text: str, source: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ConfigError(f"{source} must be one of {', '.join(choices)}, got {text!r}")
    return value


def _parse_int(text: str, source: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(f"{source} must be an integer, got {text!r}") from None


@dataclass(frozen=True, slots=True)
class Setting:
    """One of Config's fields as people set it: read from text by `parse` (a flag's value, an
    environment variable's, a string in `from_settings`), shown by `help` in --help and by
    `summary` in the README's configuration table (settings_table; a test compares the two).
    Its flag is --NAME (dashed) unless `flag` says otherwise; its variable JAMBA_EMULATOR_NAME.

    `help`, `summary` and `default` may name {fault_kinds} and {default_faults}, which the CLI
    fills in (the fault kinds are script/faults.py's: config imports no wing)."""

    parse: Callable[[str, str], Any]
    help: str
    summary: str
    default: str
    """The default as the README shows it."""
    flag: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    repeat: Callable[[str, str], tuple[str, ...]] | None = None
    """Repeatable on the command line: each use read by this, the uses joined in order
    (duplicates kept once when `unique`); the variable holds them `joined`."""
    unique: bool = False
    joined: str = ""
    """How the variable separates several values ("comma-separated"), when it takes several."""


def _one(text: str, source: str) -> tuple[str, ...]:
    return (text,)


def _host(text: str, source: str) -> str:
    return text.strip()


SETTINGS: dict[str, Setting] = {
    "host": Setting(
        _host,
        "address to listen on (default: %(default)s; only loopback unless you say otherwise)",
        "address to listen on",
        "`127.0.0.1`",
    ),
    "port": Setting(
        parse_port,
        "port to listen on; 0 picks a free one (default: %(default)s)",
        "port; `0` picks a free one",
        "`8021`",
    ),
    "seed": Setting(
        parse_seed,
        "seed for the generated text and, when given, for completion ids "
        f"(default: text seed {DEFAULT_SEED}, random ids)",
        "seed for the text and, when given, the ids",
        "fixed text seed, random ids",
    ),
    "max_body_size": Setting(
        parse_size,
        "largest request body accepted, e.g. 8M or 1048576 (default: %(default)s bytes)",
        "largest body accepted (bytes, or `512K`, `8M`)",
        "`8M`",
        metavar="SIZE",
    ),
    "api_keys": Setting(
        parse_keys,
        "accept only this API key (repeat for several; default: any non-empty key)",
        "the keys accepted",
        "any non-empty key",
        flag="--api-key",
        metavar="KEY",
        repeat=_one,
        joined="comma-separated",
    ),
    "models": Setting(
        parse_models,
        "accept this model (repeat for several, or NAME,NAME; default: every model in the catalog, see the "
        "README's model table); others get the unsupported-model 422",
        "the models accepted; others get the unsupported-model 422",
        "every model in the catalog",
        flag="--model",
        metavar="NAME",
        repeat=parse_models,
        unique=True,
        joined="comma-separated",
    ),
    "strict": Setting(
        parse_bool,
        "reject unknown fields and enforce user/assistant alternation (default: ignore and warn)",
        "reject unknown fields, enforce role alternation",
        "off",
    ),
    "strict_allow": Setting(
        parse_fields,
        "fields --strict accepts although the real service ignored them, e.g. stop_sequences,seed "
        "(repeatable; still named in X-Emulator-Ignored-Fields; default: none)",
        "fields `--strict` accepts although the real service ignored them",
        "none",
        metavar="FIELD,...",
        repeat=parse_fields,
        unique=True,
        joined="comma-separated",
    ),
    "fixtures": Setting(
        parse_paths,
        "scripted replies: a fixture file, or a folder of them (repeatable; default: none, so every answer "
        "is generated). Check files first with: jamba-emulator check PATH",
        "fixture files or folders of scripted replies",
        "none",
        metavar="PATH",
        repeat=_one,
        joined="`:`-separated",
    ),
    "reload": Setting(
        parse_bool,
        "reload the fixture files when they change (default: on)",
        "reload fixture files when they change",
        "on",
    ),
    "unmatched": Setting(
        parse_unmatched,
        "what a request no fixture rule matches gets: the generated answer, or a 404 that names the closest "
        "rules and why each did not match (default: %(default)s)",
        "`error`: a request no rule answers gets a 404 naming the closest rules",
        "`generate`",
        choices=UNMATCHED_MODES,
    ),
    "fault_rate": Setting(
        parse_rate,
        "share of the valid requests no rule answers that meet a fault from --faults, drawn from --seed so "
        "runs repeat; 0.1 is one in ten (default: %(default)s, no faults)",
        "share of unscripted requests that meet a fault from `--faults` (seeded)",
        "`0`",
        metavar="RATE",
    ),
    "faults": Setting(
        parse_faults,
        "what --fault-rate draws from: error statuses and fault kinds, comma-separated, e.g. "
        "429,500,503,drop_mid_stream (kinds: {fault_kinds}; default: {default_faults})",
        "error statuses and fault kinds `--fault-rate` draws from",
        "`{default_faults}`",
        metavar="LIST",
    ),
    "rate_limit": Setting(
        parse_rate_limit,
        "emulated rate limit per API key, e.g. 10/s,200/min (the current models' documented limits; the "
        "Jamba Instruct era's: 2/s,60/min): 429 with Retry-After beyond it (default: off)",
        "per-key windows such as `10/s,200/min`; beyond them 429 with `Retry-After`",
        "off",
        metavar="WINDOWS",
    ),
    "journal_size": Setting(
        parse_journal_size,
        "requests the journal keeps, oldest dropped first; 0 keeps none (default: %(default)s)",
        "requests the journal keeps; `0` keeps none",
        "`1000`",
        metavar="N",
    ),
    "admin_token": Setting(
        parse_token,
        "token the admin API under /_emulator requires (header X-Emulator-Admin-Token); needed to use the "
        "admin API when --host is not loopback (default: none)",
        "token the admin API requires (needed off loopback)",
        "none",
        metavar="TOKEN",
    ),
    "workers": Setting(
        parse_workers,
        "serve from N processes sharing the port, for load tests on several cores; each keeps its own "
        "journal and rules (default: %(default)s)",
        "processes serving the port (for load on several cores; each has its own journal and rules)",
        "`1`",
        metavar="N",
    ),
    "max_errors": Setting(
        parse_max_errors,
        "validation errors a 422 lists at most; a last item counts the rest (default: %(default)s)",
        "validation errors a 422 lists; a last item counts the rest",
        "`1000`",
        metavar="N",
    ),
    "keepalive_timeout": Setting(
        parse_seconds,
        "close a keep-alive connection idle this long (default: %(default)g)",
        "seconds an idle keep-alive connection stays open",
        "`75`",
        metavar="SECONDS",
    ),
    "request_timeout": Setting(
        parse_seconds,
        "time a request's head may take once begun, and its body once the head is in; past it 408 and the "
        "connection closes (default: %(default)g)",
        "seconds a request's head may take once begun, and its body once the head is in; past it 408 and "
        "the connection closes",
        "`15`",
        metavar="SECONDS",
    ),
    "max_connections": Setting(
        parse_max_connections,
        "open connections at most; at the cap the connection that has waited longest for a request head is "
        "closed, so slow clients cannot shut out others (default: %(default)s)",
        "open connections at most; at the cap, the one that has waited longest for a request head is closed",
        "`1000`",
        metavar="N",
    ),
    "shutdown_timeout": Setting(
        parse_seconds,
        "on Ctrl+C or SIGTERM, time given to answers in progress; paced and stalled streams end at once "
        "(default: %(default)g)",
        "seconds answers in progress get on Ctrl+C or SIGTERM; paced and stalled streams end at once",
        "`3`",
        metavar="SECONDS",
    ),
    "bedrock_token_ms": Setting(
        parse_token_ms,
        "milliseconds at least between a Bedrock stream's events, as Bedrock paces them at the model's "
        "speed; the ai21 SDK's Bedrock client needs each event to arrive on its own, so 0 (unpaced) suits "
        "boto3 only (default: %(default)s)",
        "milliseconds at least between a Bedrock stream's events (the model's pace); `0`: unpaced, for "
        "boto3 only",
        "`1`",
        metavar="MS",
    ),
    "vllm_version": Setting(
        parse_vllm_version,
        "the vLLM release the vllm surface (/v1/chat/completions, /v1/models, ...) answers as: 0.8.x or "
        "0.11.x, each with its line's errors and fields (default: the release AI21 recommends for "
        "--vllm-model, else 0.11.0)",
        "vLLM release the vllm surface answers as (`0.8.5.post1`, `0.11.0`)",
        "AI21's for `--vllm-model`, else `0.11.0`",
        metavar="RELEASE",
    ),
    "vllm_model": Setting(
        parse_name,
        "the one open-weights checkpoint the vllm surface serves, by Hugging Face id, as vLLM's --model "
        "(default: every Jamba checkpoint the release runs)",
        "the one checkpoint the vllm surface serves (vLLM's `--model`)",
        "every Jamba checkpoint",
        metavar="HF-ID",
    ),
    "served_model_name": Setting(
        parse_names,
        "the names --vllm-model is served by, as vLLM's flag (repeatable; default: its id)",
        "names `--vllm-model` is served by",
        "its id",
        metavar="NAME",
        repeat=parse_names,
        unique=True,
        joined="comma-separated",
    ),
    "max_model_len": Setting(
        parse_model_len,
        "the context window the vllm surface enforces and reports, as vLLM's flag, e.g. 32768 or 32k "
        "(default: the checkpoint's, 262144)",
        "context window the vllm surface enforces (`32768`, `32k`)",
        "the checkpoint's",
        metavar="TOKENS",
    ),
    "enable_auto_tool_choice": Setting(
        parse_bool,
        "vLLM's flag: answer tool_choice \"auto\" (with --tool-call-parser); without it such a request gets "
        "vLLM's 400, as in production (default: off)",
        "let `tool_choice: \"auto\"` through on the vllm surface (with `--tool-call-parser`)",
        "off",
    ),
    "tool_call_parser": Setting(
        parse_tool_parser,
        "vLLM's flag: how tool calls are read from the model's output (default: none)",
        "`jamba` or `hermes` (Reasoning 3B)",
        "none",
        choices=TOOL_CALL_PARSERS,
    ),
    "reasoning_parser": Setting(
        parse_reasoning_parser,
        "vLLM's flag: reasoning in its own field, for Jamba Reasoning 3B (default: none)",
        "`deepseek_r1` or `qwen3`, for Reasoning 3B",
        "none",
        choices=REASONING_PARSERS,
    ),
    "log_level": Setting(
        parse_log_level,
        "(default: %(default)s)",
        "`debug`, `info`, `warning`, `error`",
        "`info`",
        choices=LOG_LEVELS,
    ),
}
"""Every setting, in --help's and the README's order: one entry per field of Config (a test holds
the two to the same names)."""


def flag_of(name: str) -> str:
    """The command-line flag of setting `name` (`max_body_size`: --max-body-size)."""
    return SETTINGS[name].flag or "--" + name.replace("_", "-")


def variable_of(name: str) -> str:
    """The environment variable of setting `name` (`max_body_size`: JAMBA_EMULATOR_MAX_BODY_SIZE)."""
    return ENV_PREFIX + name.upper()


def settings_table(facts: Mapping[str, str]) -> str:
    """The README's configuration table, from SETTINGS (`facts` fill in their placeholders)."""
    rows = ["| flag | variable | default | meaning |", "|---|---|---|---|"]
    for name, setting in SETTINGS.items():
        flag = f"`{flag_of(name)}{' ' + setting.metavar if setting.repeat and setting.metavar else ''}`"
        if setting.parse is parse_bool:  # argparse's BooleanOptionalAction: --NAME and --no-NAME
            flag += f" / `--no-{flag_of(name)[2:]}`"
        if setting.repeat:
            flag += " (repeatable)"
        variable = f"`{variable_of(name)}`" + (f" ({setting.joined})" if setting.joined else "")
        default, summary = setting.default.format(**facts), setting.summary.format(**facts)
        rows.append(f"| {flag} | {variable} | {default} | {summary} |")
    return "\n".join(rows)
