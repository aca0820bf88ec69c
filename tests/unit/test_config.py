"""Config from the environment: every option has a JAMBA_EMULATOR_* variable with clear errors."""

from __future__ import annotations

from dataclasses import fields

import pytest
from jamba_emulator.cli import HELP_FACTS, build_parser, config_from
from jamba_emulator.config import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_SEED,
    SETTINGS,
    Config,
    ConfigError,
    flag_of,
    parse_fields,
    parse_rate_limit,
    parse_size,
    settings_table,
)
from jamba_emulator.core import Core
from jamba_emulator.resources import SCHEMA_DIR


def test_defaults() -> None:
    config = Config.from_environ({})
    assert (config.host, config.port, config.seed) == ("127.0.0.1", 8021, None)
    assert config.max_body_size == DEFAULT_MAX_BODY_SIZE == 8 * 1024 * 1024
    assert (config.api_keys, config.strict, config.log_level) == ((), False, "info")


def test_every_option_from_the_environment() -> None:
    config = Config.from_environ(
        {
            "JAMBA_EMULATOR_HOST": "0.0.0.0",
            "JAMBA_EMULATOR_PORT": "9000",
            "JAMBA_EMULATOR_SEED": "7",
            "JAMBA_EMULATOR_MAX_BODY_SIZE": "1M",
            "JAMBA_EMULATOR_API_KEYS": "key1, key2",
            "JAMBA_EMULATOR_STRICT": "true",
            "JAMBA_EMULATOR_LOG_LEVEL": "DEBUG",
            "JAMBA_EMULATOR_JOURNAL_SIZE": "50",
            "JAMBA_EMULATOR_ADMIN_TOKEN": " tok ",
            "JAMBA_EMULATOR_RELOAD": "no",
            "JAMBA_EMULATOR_UNMATCHED": "Error",
            "JAMBA_EMULATOR_FAULT_RATE": "0.25",
            "JAMBA_EMULATOR_FAULTS": "408, stall",
            "JAMBA_EMULATOR_RATE_LIMIT": "2/s,60/min",
            "JAMBA_EMULATOR_MODELS": "jamba-mini, jamba-large,jamba-mini",
            "JAMBA_EMULATOR_MAX_ERRORS": "10",
            "JAMBA_EMULATOR_KEEPALIVE_TIMEOUT": "5",
            "JAMBA_EMULATOR_REQUEST_TIMEOUT": "2.5",
            "JAMBA_EMULATOR_MAX_CONNECTIONS": "64",
            "JAMBA_EMULATOR_SHUTDOWN_TIMEOUT": "1",
            "JAMBA_EMULATOR_STRICT_ALLOW": "seed",
            "JAMBA_EMULATOR_BEDROCK_TOKEN_MS": "0",
        }
    )
    assert config == Config(
        "0.0.0.0",
        9000,
        7,
        1024 * 1024,
        ("key1", "key2"),
        True,
        "debug",
        journal_size=50,
        admin_token="tok",
        reload=False,
        unmatched="error",
        fault_rate=0.25,
        faults=("408", "stall"),
        rate_limit=((2, 1.0), (60, 60.0)),
        models=("jamba-mini", "jamba-large"),
        max_errors=10,
        keepalive_timeout=5.0,
        request_timeout=2.5,
        max_connections=64,
        shutdown_timeout=1.0,
        strict_allow=("seed",),
        bedrock_token_ms=0,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JAMBA_EMULATOR_PORT", "http", "JAMBA_EMULATOR_PORT must be an integer, got 'http'"),
        ("JAMBA_EMULATOR_PORT", "70000", "between 0 and 65535"),
        ("JAMBA_EMULATOR_MAX_BODY_SIZE", "big", "such as 8388608, 512K or 8M, got 'big'"),
        ("JAMBA_EMULATOR_STRICT", "maybe", "true or false"),
        ("JAMBA_EMULATOR_LOG_LEVEL", "loud", "one of debug, info, warning, error"),
        ("JAMBA_EMULATOR_JOURNAL_SIZE", "-1", "must be 0 \\(keep nothing\\) or more entries, got '-1'"),
        ("JAMBA_EMULATOR_UNMATCHED", "ignore", "one of generate, error"),
        ("JAMBA_EMULATOR_FAULT_RATE", "1.5", "between 0 and 1"),
        ("JAMBA_EMULATOR_FAULT_RATE", "often", "between 0 and 1"),
        ("JAMBA_EMULATOR_FAULTS", " , ", "needs at least one error status or fault kind"),
        ("JAMBA_EMULATOR_RATE_LIMIT", "2 per second", "windows such as 2/s,60/min"),
        ("JAMBA_EMULATOR_RATE_LIMIT", "0/s", "windows such as"),
        ("JAMBA_EMULATOR_BEDROCK_TOKEN_MS", "-1", "must be 0 \\(unpaced\\) to 1000 milliseconds"),
        ("JAMBA_EMULATOR_BEDROCK_TOKEN_MS", "1001", "must be 0 \\(unpaced\\) to 1000 milliseconds"),
        ("JAMBA_EMULATOR_BEDROCK_TOKEN_MS", "0.5", "must be an integer"),
        (
            "JAMBA_EMULATOR_MODELS",
            " , ",
            "JAMBA_EMULATOR_MODELS: no model named; see the README's model table",
        ),
    ],
)
def test_bad_values_name_the_variable_and_the_value(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_environ({variable: value})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "JAMBA_EMULATOR_FAULTS",
            "200",
            "--faults: '200' is neither an error status \\(400-599\\) nor one of drop_before",
        ),
        ("JAMBA_EMULATOR_FAULTS", "explode", "--faults: .* nor one of drop_before_response, drop_mid_stream"),
        (
            "JAMBA_EMULATOR_MODELS",
            "jamba-mini,jamba-huge",
            "--model: unknown model 'jamba-huge'; the catalog has: jamba-instruct-preview, ",
        ),
        (
            "JAMBA_EMULATOR_JOURNAL_SIZE",
            "100001",
            "--journal-size: must be between 0 \\(keep nothing\\) and 100,000 entries",
        ),
    ],
)
def test_values_a_wing_checks_are_refused_at_start_naming_the_flag(
    variable: str, value: str, message: str
) -> None:
    """Config checks syntax; the fault kinds, the catalog's models and the journal's bound are
    checked where they are used, when the server is built, with the flag named."""
    config = Config.from_environ({variable: value})
    with pytest.raises(ConfigError, match=message):
        Core.build(config)


def test_the_readme_configuration_table_is_the_settings_table() -> None:
    readme = (SCHEMA_DIR.parent / "README.md").read_text(encoding="utf-8")
    assert settings_table(HELP_FACTS) in readme, "README's table differs from config.SETTINGS: regenerate it"


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1048576), ("512K", 524288), ("8MiB", 8388608), ("1g", 1073741824)],
)
def test_sizes_accept_units(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_text_seed_is_fixed_by_default_and_follows_an_explicit_seed() -> None:
    assert Config().text_seed == DEFAULT_SEED
    assert Config(seed=7).text_seed == 7


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("0.0.0.0", False)],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert Config(host=host).loopback is loopback


@pytest.mark.parametrize(
    ("text", "limits"),
    [
        ("2/s,60/min", ((2, 1.0), (60, 60.0))),
        ("100/10s", ((100, 10.0),)),
        ("1000 / hour", ((1000, 3600.0),)),
        ("5/2min", ((5, 120.0),)),
        ("off", ()),
    ],
)
def test_rate_limits_are_windows(text: str, limits: tuple[tuple[int, float], ...]) -> None:
    assert parse_rate_limit(text) == limits


def test_strict_allow_reads_names_from_the_environment_and_settings() -> None:
    assert Config.from_environ({"JAMBA_EMULATOR_STRICT_ALLOW": "seed, stop_sequences,seed"}).strict_allow == (
        "seed",
        "stop_sequences",
    )
    assert Config.from_settings({"strict_allow": "tool_choice"}).strict_allow == ("tool_choice",)
    with pytest.raises(ConfigError, match="--strict-allow needs at least one field name"):
        parse_fields(" , ")


def test_every_setting_has_one_flag_and_a_parser_and_nothing_else_does() -> None:
    """Config's fields are the settings; the CLI's table and the parsers must name the same ones,
    so a new field without a flag (or a flag for a field that is gone) fails here."""
    names = [field.name for field in fields(Config)]
    assert list(SETTINGS) and sorted(SETTINGS) == sorted(names)


def test_the_parser_built_from_the_table_gives_config_each_flag() -> None:
    defaults = Config.from_environ({})
    parsed = build_parser(defaults).parse_args(
        ["--port", "0", "--api-key", "a,b", "--api-key", "c", "--model", "jamba-mini", "--model",
         "jamba-large,jamba-mini", "--no-reload", "--strict", "--fault-rate", "0.5", "--log-level", "WARNING"]
    )  # fmt: skip
    config = config_from(parsed, defaults)
    assert (config.port, config.api_keys, config.models) == (0, ("a,b", "c"), ("jamba-mini", "jamba-large"))
    assert (config.reload, config.strict, config.fault_rate, config.log_level) == (
        False,
        True,
        0.5,
        "warning",
    )
    assert config_from(build_parser(defaults).parse_args([]), defaults) == defaults
    assert [flag_of(name) for name in ("api_keys", "max_body_size")] == ["--api-key", "--max-body-size"]
