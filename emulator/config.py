"""The emulator's settings: one frozen dataclass, from CLI flags and `JAMBA_EMULATOR_*` variables.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .script.faults import DEFAULT_GLOBAL_FAULTS, parse_choice
from .script.journal import ENTRY_SIZE, MAX_ENTRIES

DEFAULT_SEED = 2104
DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_PREFIX = "JAMBA_EMULATOR_"
LOOPBACK_HOSTS = ("localhost", "::1")
UNMATCHED_MODES = ("generate", "error")
RELOAD_INTERVAL = 0.5
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
    faults: tuple[str, ...] = DEFAULT_GLOBAL_FAULTS
    """Error statuses and fault kinds (faults.FAULT_KINDS) that --fault-rate draws from."""
    workers: int = 1
    """Processes serving the port (SO_REUSEPORT); each keeps its own journal and rules."""
    rate_limit: tuple[tuple[int, float], ...] = ()
    """Emulated rate limit per API key: (requests, per seconds) windows; none by default."""
    models: tuple[str, ...] = ()
    """The catalog's models the server accepts (others get the unsupported-model 422); empty: all."""
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
    strict_allow: tuple[str, ...] = ()
    """Fields strict mode accepts although the real service ignored them (e.g. stop_sequences)."""

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
            name = ENV_PREFIX + field.name.upper()
            if environ.get(name, "").strip():
                changes[field.name] = PARSERS[field.name](environ[name], name)
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
                value = PARSERS[name](given, f"{source}: {name}")
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
    size = _parse_int(text, source)
    if not 0 <= size <= MAX_ENTRIES:
        raise ConfigError(
            f"{source} must be between 0 (keep nothing) and {MAX_ENTRIES:,} entries (each up to "
            f"{ENTRY_SIZE // 1024} KiB), got {text!r}"
        )
    return size


def parse_models(text: str, source: str = "JAMBA_EMULATOR_MODELS") -> tuple[str, ...]:
    """Comma-separated model names, each one of the catalog's (schemas/catalog.json)."""
    from .contract.catalog import Catalog, load_catalog_document  # noqa: PLC0415  (config stays import-light)

    catalog = Catalog.from_document(load_catalog_document())
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise ConfigError(f"{source}: no model named; the catalog has: {', '.join(catalog.names)}")
    try:
        catalog.only(names)  # the one check of the names (Contract makes it too, for Config(models=...))
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
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


def parse_seconds(text: str, source: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 86_400:
        raise ConfigError(f"{source} must be a number of seconds above 0 (e.g. 15 or 0.5), got {text!r}")
    return seconds


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
    """Comma-separated error statuses and fault kinds: `429,500,503,drop_mid_stream`."""
    choices = tuple(part.strip() for part in text.split(",") if part.strip())
    if not choices:
        raise ConfigError(f"{source} needs at least one error status or fault kind, got {text!r}")
    for choice in choices:
        try:
            parse_choice(choice)
        except ValueError as error:
            raise ConfigError(f"{source}: {error}") from None
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


PARSERS = {
    "host": lambda text, source: text.strip(),
    "port": parse_port,
    "seed": parse_seed,
    "max_body_size": parse_size,
    "api_keys": parse_keys,
    "strict": parse_bool,
    "strict_allow": parse_fields,
    "log_level": parse_log_level,
    "journal_size": parse_journal_size,
    "fixtures": parse_paths,
    "admin_token": parse_token,
    "reload": parse_bool,
    "unmatched": parse_unmatched,
    "fault_rate": parse_rate,
    "faults": parse_faults,
    "rate_limit": parse_rate_limit,
    "workers": parse_workers,
    "models": parse_models,
    "max_errors": parse_max_errors,
    "keepalive_timeout": parse_seconds,
    "request_timeout": parse_seconds,
    "max_connections": parse_max_connections,
    "shutdown_timeout": parse_seconds,
}
