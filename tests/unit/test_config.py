"""Config from the environment: every option has a JAMBA_EMULATOR_* variable with clear errors."""

from __future__ import annotations

import pytest

from emulator.config import DEFAULT_MAX_BODY_SIZE, DEFAULT_SEED, Config, ConfigError, parse_size


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
        }
    )
    assert config == Config(
        "0.0.0.0", 9000, 7, 1024 * 1024, ("key1", "key2"), True, "debug", journal_size=50, admin_token="tok"
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JAMBA_EMULATOR_PORT", "http", "JAMBA_EMULATOR_PORT must be an integer, got 'http'"),
        ("JAMBA_EMULATOR_PORT", "70000", "between 0 and 65535"),
        ("JAMBA_EMULATOR_MAX_BODY_SIZE", "big", "such as 8388608, 512K or 8M, got 'big'"),
        ("JAMBA_EMULATOR_STRICT", "maybe", "true or false"),
        ("JAMBA_EMULATOR_LOG_LEVEL", "loud", "one of debug, info, warning, error"),
        ("JAMBA_EMULATOR_JOURNAL_SIZE", "-1", "0 \\(keep nothing\\) or more, got '-1'"),
    ],
)
def test_bad_values_name_the_variable_and_the_value(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_environ({variable: value})


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
