"""The `jamba-emulator` command as a user runs it: a real process, flags, signals, environment."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jamba_emulator.cli import main
from jamba_emulator.config import Config

from tests.support import AUTH, chat

COMMAND = [sys.executable, "-m", "jamba_emulator"]


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        yield process, match.group(1)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)


def request(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/studio/v1/chat/completions", data=data, headers=headers or AUTH)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    flags = {"api_keys": "--api-key", "models": "--model"}  # every other setting's flag is its name
    for option in (flags.get(f.name, "--" + f.name.replace("_", "-")) for f in dataclasses.fields(Config)):
        assert option in out
    assert "JAMBA_EMULATOR_" in out and "AI21_API_HOST" in out
    assert "jamba-emulator check PATH" in out


def test_bad_flag_value_says_what_was_expected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--port", "eighty"])
    assert exit_.value.code == 2
    assert "--port must be an integer, got 'eighty'" in capsys.readouterr().err


def test_bad_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAMBA_EMULATOR_MAX_BODY_SIZE", "huge")
    assert main([]) == 2
    assert "JAMBA_EMULATOR_MAX_BODY_SIZE must be a size" in capsys.readouterr().err


def test_serves_logs_and_stops_cleanly_on_sigterm() -> None:
    with running() as (process, url):
        status, body = request(url, chat())
        assert status == 200 and body["choices"]
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=5) as health:
            assert json.loads(health.read()) == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert '"POST /studio/v1/chat/completions HTTP/1.1" 200' in err


def test_stops_cleanly_on_sigint() -> None:
    with running() as (process, _url):
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_two_separate_servers_give_the_same_text_and_different_ids() -> None:
    with running() as (_, first_url), running() as (_, second_url):
        _, first = request(first_url, chat(n=2))
        _, second = request(second_url, chat(n=2))
    assert first["choices"] == second["choices"]
    assert first["usage"] == second["usage"]
    assert first["id"] != second["id"]


def test_explicit_seed_reproduces_ids_across_processes() -> None:
    with running("--seed", "99") as (_, first_url), running("--seed", "99") as (_, second_url):
        first = [request(first_url, chat())[1]["id"] for _ in range(2)]
        second = [request(second_url, chat())[1]["id"] for _ in range(2)]
    assert first == second


def test_environment_configures_the_server() -> None:
    env = {"JAMBA_EMULATOR_API_KEYS": "alpha,beta", "JAMBA_EMULATOR_STRICT": "1"}
    with running(env=env) as (_, url):
        assert request(url, chat(), {"Authorization": "Bearer gamma"})[0] == 401
        status, body = request(url, chat(extra=1), {"Authorization": "Bearer beta"})
    assert status == 422
    assert body["detail"][0]["type"] == "value_error.extra"


def test_flags_configure_the_server_and_win_over_the_environment() -> None:
    env = {"JAMBA_EMULATOR_API_KEYS": "from-env", "JAMBA_EMULATOR_STRICT": "0"}
    with running("--api-key", "alpha", "--api-key", "beta", "--strict", env=env) as (_, url):
        assert request(url, chat(), {"Authorization": "Bearer from-env"})[0] == 401
        assert request(url, chat(), {"Authorization": "Bearer alpha"})[0] == 200
        status, body = request(url, chat(extra=1), {"Authorization": "Bearer beta"})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "extra"]


def test_model_flags_add_up_and_an_unknown_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with running("--model", "jamba-mini", "--model", "jamba-large,jamba-mini") as (_, url):
        accepted = [request(url, {**chat(), "model": model})[0] for model in ("jamba-mini", "jamba-large")]
        status, body = request(url, chat())  # the preview model, left out
    assert accepted == [200, 200]
    assert status == 422 and "not supported" in body["detail"]
    assert main(["--model", "jamba-huge"]) == 2  # checked against the catalog where it is used
    assert (
        "--model: unknown model 'jamba-huge'; the catalog has: jamba-instruct-preview"
        in capsys.readouterr().err
    )


def admin_get(url: str, path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"X-Emulator-Admin-Token": token} if token else {}
    req = urllib.request.Request(f"{url}/_emulator{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_journal_size_and_admin_token_flags_configure_the_admin_api() -> None:
    with running("--journal-size", "1", "--admin-token", "tok", env={"JAMBA_EMULATOR_JOURNAL_SIZE": "9"}) as (
        _,
        url,
    ):
        for _ in range(3):
            request(url, chat())
        assert admin_get(url, "/journal")[0] == 401
        status, seen = admin_get(url, "/journal", token="tok")
    assert status == 200
    assert (seen["limit"], seen["kept"], seen["dropped"]) == (1, 1, 2)


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*COMMAND, "--port", str(port)], check=False, capture_output=True, text=True, timeout=20
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr


SCENARIOS = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios"


def test_check_accepts_good_fixture_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SCENARIOS)]) == 0
    assert "support-bot.json: 3 rules" in capsys.readouterr().out


def test_check_names_the_file_rule_and_field_of_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"name": "greeting", "reply": {"content": "hi", "finish_reason": "done"}}]}')
    assert main(["check", str(SCENARIOS / "support-bot.json"), str(bad)]) == 1
    out = capsys.readouterr()
    assert "ok " in out.out
    assert "bad.json: rule 1 ('greeting'): reply" in out.err


def test_check_reports_a_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "no/such/file.json"]) == 1
    assert "no/such/file.json: no such file or folder" in capsys.readouterr().err


def test_a_bad_fixture_file_stops_the_cli_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = subprocess.run(
        [*COMMAND, "--port", "0", "--fixtures", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--fixtures" in result.stderr and "bad.json: not JSON" in result.stderr


def test_fixtures_flag_serves_scripted_replies() -> None:
    with running("--fixtures", str(SCENARIOS / "support-bot.json")) as (_, url):
        status, body = request(url, chat("Hi, where is my order?"))
    assert status == 200
    assert body["choices"][0]["message"]["content"].startswith("Your order is on its way")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads worker pids from /proc")
def test_workers_share_one_port_and_stop_together() -> None:
    with running("--workers", "2", "--log-level", "warning") as (process, url):
        workers = _children(process.pid)
        assert len(workers) == 2, workers
        answers = [request(url, chat(f"question {i}")) for i in range(20)]
        assert all(status == 200 for status, _ in answers)
        ids = {body["id"] for _, body in answers}
        assert len(ids) == 20, "each worker has its own id sequence: no id repeats"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert process.returncode == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "every worker stopped"


def test_workers_report_a_bad_fixture_file_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"reply": {}, "times": 0}]}')
    result = subprocess.run(
        [*COMMAND, "--port", "0", "--workers", "2", "--fixtures", str(bad)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "bad.json: rule 1: times: 0 is less than the minimum of 1" in result.stderr
