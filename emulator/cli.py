"""The `jamba-emulator` command: flags and environment in, a running server out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from . import __version__
from .config import DEFAULT_SEED, LOG_LEVELS, PARSERS, UNMATCHED_MODES, Config, parse_fields, parse_models
from .contract.catalog import load_catalog_document
from .contract.schema import Contract
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


@dataclass(frozen=True, slots=True)
class Flag:
    """How one of Config's fields is set on the command line (its value is read by config.PARSERS,
    as the environment's is)."""

    help: str
    flag: str | None = None
    """Default: the field's name, dashed (`max_body_size`: --max-body-size)."""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    repeat: Callable[[str, str], tuple[str, ...]] | None = None
    """Repeatable: each use read by this; the uses joined in order (duplicates kept once when
    `unique`). Unused: the default from the environment."""
    unique: bool = False


def _one(text: str, source: str) -> tuple[str, ...]:
    return (text,)


FLAGS: dict[str, Flag] = {
    "host": Flag("address to listen on (default: %(default)s; only loopback unless you say otherwise)"),
    "port": Flag("port to listen on; 0 picks a free one (default: %(default)s)"),
    "seed": Flag(
        "seed for the generated text and, when given, for completion ids "
        f"(default: text seed {DEFAULT_SEED}, random ids)"
    ),
    "max_body_size": Flag(
        "largest request body accepted, e.g. 8M or 1048576 (default: %(default)s bytes)", metavar="SIZE"
    ),
    "api_keys": Flag(
        "accept only this API key (repeat for several; default: any non-empty key)",
        flag="--api-key",
        metavar="KEY",
        repeat=_one,
    ),
    "models": Flag(
        "accept this model (repeat for several, or NAME,NAME; default: every model in the "
        "catalog, see the README's model table); others get the unsupported-model 422",
        flag="--model",
        metavar="NAME",
        repeat=parse_models,
        unique=True,
    ),
    "strict": Flag("reject unknown fields and enforce user/assistant alternation (default: ignore and warn)"),
    "strict_allow": Flag(
        "fields --strict accepts although the real service ignored them, e.g. stop_sequences,seed "
        "(repeatable; still named in X-Emulator-Ignored-Fields; default: none)",
        metavar="FIELD,...",
        repeat=parse_fields,
        unique=True,
    ),
    "fixtures": Flag(
        "scripted replies: a fixture file, or a folder of them (repeatable; default: none, so "
        "every answer is generated). Check files first with: jamba-emulator check PATH",
        metavar="PATH",
        repeat=_one,
    ),
    "reload": Flag("reload the fixture files when they change (default: on)"),
    "unmatched": Flag(
        "what a request no fixture rule matches gets: the generated answer, or a 404 that names "
        "the closest rules and why each did not match (default: %(default)s)",
        choices=UNMATCHED_MODES,
    ),
    "fault_rate": Flag(
        "share of the valid requests no rule answers that meet a fault from --faults, drawn from --seed "
        "so runs repeat; 0.1 is one in ten (default: %(default)s, no faults)",
        metavar="RATE",
    ),
    "faults": Flag(
        "what --fault-rate draws from: error statuses and fault kinds, comma-separated, e.g. "
        f"429,500,503,drop_mid_stream (kinds: {', '.join(FAULT_KINDS)}; "
        f"default: {','.join(DEFAULT_GLOBAL_FAULTS)})",
        metavar="LIST",
    ),
    "rate_limit": Flag(
        "emulated rate limit per API key, e.g. 10/s,200/min (the current models' documented "
        "limits; the Jamba Instruct era's: 2/s,60/min): 429 with Retry-After beyond it (default: off)",
        metavar="WINDOWS",
    ),
    "journal_size": Flag(
        "requests the journal keeps, oldest dropped first; 0 keeps none (default: %(default)s)", metavar="N"
    ),
    "admin_token": Flag(
        "token the admin API under /_emulator requires (header X-Emulator-Admin-Token); "
        "needed to use the admin API when --host is not loopback (default: none)",
        metavar="TOKEN",
    ),
    "workers": Flag(
        "serve from N processes sharing the port, for load tests on several cores; each keeps "
        "its own journal and rules (default: %(default)s)",
        metavar="N",
    ),
    "max_errors": Flag(
        "validation errors a 422 lists at most; a last item counts the rest (default: %(default)s)",
        metavar="N",
    ),
    "keepalive_timeout": Flag(
        "close a keep-alive connection idle this long (default: %(default)g)", metavar="SECONDS"
    ),
    "request_timeout": Flag(
        "time a request's head may take once begun, and its body once the head is in; past it "
        "408 and the connection closes (default: %(default)g)",
        metavar="SECONDS",
    ),
    "max_connections": Flag(
        "open connections at most; at the cap the connection that has waited longest for a "
        "request head is closed, so slow clients cannot shut out others (default: %(default)s)",
        metavar="N",
    ),
    "shutdown_timeout": Flag(
        "on Ctrl+C or SIGTERM, time given to answers in progress; paced and stalled streams end "
        "at once (default: %(default)g)",
        metavar="SECONDS",
    ),
    "log_level": Flag("(default: %(default)s)", choices=LOG_LEVELS),
}
"""One entry per field of Config, in --help's order (a test holds the two to the same names)."""


def _arg(parse: Callable[[str, str], Any], flag: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text, flag)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def flag_of(name: str) -> str:
    return FLAGS[name].flag or "--" + name.replace("_", "-")


def build_parser(defaults: Config) -> argparse.ArgumentParser:
    """--version, then one option per Config field (FLAGS), each defaulting to `defaults`."""
    parser = argparse.ArgumentParser(
        prog="jamba-emulator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    types = {field.name: field.type for field in fields(Config)}
    for name, spec in FLAGS.items():
        flag = flag_of(name)
        options: dict[str, Any] = {"dest": name, "help": spec.help}
        if spec.metavar:
            options["metavar"] = spec.metavar
        if spec.repeat is not None:
            options.update(action="append", type=_arg(spec.repeat, flag))
        elif types[name] == "bool":
            options.update(action=argparse.BooleanOptionalAction, default=getattr(defaults, name))
        else:
            options.update(type=_arg(PARSERS[name], flag), default=getattr(defaults, name))
            if spec.choices:
                options["choices"] = spec.choices
        parser.add_argument(flag, **options)
    return parser


def config_from(args: argparse.Namespace, defaults: Config) -> Config:
    """The Config the parsed flags ask for: each flag given wins over `defaults`."""
    values: dict[str, Any] = {}
    for name, spec in FLAGS.items():
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
    contract = Contract(load_catalog_document())
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
            rules = load_file(path, contract)
        except FixtureError as error:
            failed += 1
            sys.stderr.write(f"{error}\n")
        else:
            sys.stdout.write(f"ok {path}: {len(rules)} rule{'s' if len(rules) != 1 else ''}\n")
    return 1 if failed else 0


def report(argv: Sequence[str]) -> int:
    """`jamba-emulator report`: the resilience report of a running server's journal."""
    from .script.resilience import VERDICTS, WINDOW  # noqa: PLC0415  (only this command needs them)
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
    checks = list(VERDICTS) if args.fail_on == "all" else [name for name in args.fail_on.split(",") if name]
    unknown = [name for name in checks if name not in VERDICTS]
    if unknown:
        parser.error(
            f"--fail-on: no verdict {', '.join(unknown)}; the verdicts are {', '.join(VERDICTS)}, or all"
        )
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
