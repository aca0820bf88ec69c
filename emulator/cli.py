"""The `jamba-emulator` command: flags and environment in, a running server out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from . import __version__
from .config import SETTINGS, Config, flag_of
from .errors import ConfigError, FixtureError
from .http.surfaces.studio import CHAT_PATH, PREFIX
from .logs import configure as configure_logging
from .script.faults import DEFAULT_GLOBAL_FAULTS, FAULT_KINDS
from .script.fixtures import fixture_files, load_file
from .server import serve

DESCRIPTION = f"""\
Offline emulator of AI21's Jamba chat completions API (POST {CHAT_PATH}).
Point the ai21 SDK at it with AI21_API_HOST=http://HOST:PORT{PREFIX} and any API key.
Every option can also be set with a JAMBA_EMULATOR_<OPTION> environment variable
(e.g. JAMBA_EMULATOR_PORT=9000, JAMBA_EMULATOR_API_KEYS=key1,key2); flags win.

Check fixture files (scripted replies) without starting a server:
  jamba-emulator check PATH [PATH ...]
Report how a client behaved under the faults it met, from a running server's journal:
  jamba-emulator report [--url URL] [--scope TEST-ID] [--fail-on all]"""


HELP_FACTS = {"fault_kinds": ", ".join(FAULT_KINDS), "default_faults": ",".join(DEFAULT_GLOBAL_FAULTS)}
"""What the settings' texts name that config (which imports no wing) cannot know."""


def _arg(parse: Callable[[str, str], Any], flag: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text, flag)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def build_parser(defaults: Config) -> argparse.ArgumentParser:
    """--version, then one option per setting (config.SETTINGS), each defaulting to `defaults`."""
    parser = argparse.ArgumentParser(
        prog="jamba-emulator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    types = {field.name: field.type for field in fields(Config)}
    for name, spec in SETTINGS.items():
        flag = flag_of(name)
        options: dict[str, Any] = {"dest": name, "help": spec.help.format(**HELP_FACTS)}
        if spec.metavar:
            options["metavar"] = spec.metavar
        if spec.repeat is not None:
            options.update(action="append", type=_arg(spec.repeat, flag))
        elif types[name] == "bool":
            options.update(action=argparse.BooleanOptionalAction, default=getattr(defaults, name))
        else:
            options.update(type=_arg(spec.parse, flag), default=getattr(defaults, name))
            if spec.choices:
                options["choices"] = spec.choices
        parser.add_argument(flag, **options)
    return parser


def config_from(args: argparse.Namespace, defaults: Config) -> Config:
    """The Config the parsed flags ask for: each flag given wins over `defaults`."""
    values: dict[str, Any] = {}
    for name, spec in SETTINGS.items():
        value = getattr(args, name)
        if spec.repeat is not None:
            joined = [item for given in value or () for item in given]
            value = tuple(dict.fromkeys(joined) if spec.unique else joined) or getattr(defaults, name)
        values[name] = value
    return Config(**values)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        return check(argv[1:])
    if argv[:1] == ["report"]:
        return report(argv[1:])
    try:
        defaults = Config.from_environ()
    except ConfigError as error:
        sys.stderr.write(f"jamba-emulator: {error}\n")
        return 2
    config = config_from(build_parser(defaults).parse_args(argv), defaults)
    configure_logging(config.log_level)
    try:
        return serve(config, on_ready=_announce)
    except ConfigError as error:  # a setting a wing checks (Core.build): fault kinds, models
        sys.stderr.write(f"jamba-emulator: {error}\n")
        return 2
    except FixtureError as error:
        sys.stderr.write(f"jamba-emulator: --fixtures: {error}\n")
        return 2
    except OSError as error:
        sys.stderr.write(
            f"jamba-emulator: cannot listen on {config.host}:{config.port}: {error.strerror or error}; "
            "stop whatever uses that port or choose another with --port (0 picks a free one)\n"
        )
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def check(argv: Sequence[str]) -> int:
    """`jamba-emulator check PATH...`: validate fixture files without starting a server."""
    parser = argparse.ArgumentParser(
        prog="jamba-emulator check",
        description="Check fixture files (scripted replies) against schemas/fixtures.schema.json.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a fixture file, or a folder of them")
    args = parser.parse_args(argv)
    try:
        files = fixture_files(args.paths)
    except FixtureError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    if not files:
        sys.stderr.write(f"no fixture files (*.json) in {', '.join(args.paths)}\n")
        return 1
    failed = 0
    for path in files:
        try:
            rules = load_file(path)
        except FixtureError as error:
            failed += 1
            sys.stderr.write(f"{error}\n")
        else:
            sys.stdout.write(f"ok {path}: {len(rules)} rule{'s' if len(rules) != 1 else ''}\n")
    return 1 if failed else 0


def report(argv: Sequence[str]) -> int:
    """`jamba-emulator report`: the resilience report of a running server's journal."""
    from .script.resilience import VERDICTS, WINDOW, verdicts_named  # noqa: PLC0415  (only this command needs them)
    from .testing import AttachedEmulator  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="jamba-emulator report",
        description="How the client behaved under the faults it met, read from a running emulator's "
        "journal: retries of statuses that must not be retried, retries sooner than Retry-After, "
        "retries without back-off, answers cut short and not retried, duplicate requests. A retry is "
        "the same request (scope, method, path, body) after a failed one, within --window seconds.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("JAMBA_EMULATOR_URL", f"http://127.0.0.1:{Config().port}"),
        help="the emulator's root URL (default: $JAMBA_EMULATOR_URL, else %(default)s)",
    )
    parser.add_argument(
        "--scope", metavar="TEST-ID", help="only this test scope's requests (X-Emulator-Test-Id)"
    )
    parser.add_argument(
        "--window",
        type=float,
        default=WINDOW,
        help="seconds within which a repeat is a retry (default: %(default)g)",
    )
    parser.add_argument(
        "--fail-on",
        default="",
        metavar="VERDICTS",
        help="exit 1 when any of these verdicts fails: a comma-separated list of "
        f"{', '.join(VERDICTS)}, or all (default: none, the report only)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--admin-token", default=os.environ.get("JAMBA_EMULATOR_ADMIN_TOKEN"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    try:
        checks = verdicts_named(args.fail_on)
    except ValueError as error:
        parser.error(f"--fail-on: {error}")
    try:
        found = AttachedEmulator(args.url, args.scope, admin_token=args.admin_token).report(args.window)
    except RuntimeError as error:
        sys.stderr.write(f"jamba-emulator report: {error}\n")
        return 2
    except (TypeError, ValueError, AttributeError) as error:  # JSON, but not the journal's
        sys.stderr.write(f"jamba-emulator report: {args.url} is not an emulator (its journal: {error})\n")
        return 2
    sys.stdout.write((json.dumps(found.to_json(), indent=2) if args.json else found.text()) + "\n")
    failed = found.failed(checks)
    if failed:
        sys.stderr.write(f"jamba-emulator report: failed: {', '.join(verdict.name for verdict in failed)}\n")
        return 1
    return 0


def _announce(url: str) -> None:
    sys.stdout.write(
        f"jamba-emulator listening on {url}\n"
        f"  chat completions: POST {url}{CHAT_PATH}\n"
        f"  point the ai21 SDK at it: AI21_API_HOST={url}{PREFIX} AI21_API_KEY=any-key\n"
        f"  Bedrock (boto3 endpoint_url, AI21BedrockClient base_url): {url}; Vertex base_url: {url}/v1; "
        f"Azure base_url: {url}\n"
        "  press Ctrl+C to stop\n"
    )
    sys.stdout.flush()
