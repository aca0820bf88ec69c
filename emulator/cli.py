"""The `jamba-emulator` command: flags and environment in, a running server out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .config import (
    DEFAULT_SEED,
    LOG_LEVELS,
    UNMATCHED_MODES,
    Config,
    ConfigError,
    parse_faults,
    parse_fields,
    parse_journal_size,
    parse_log_level,
    parse_max_connections,
    parse_max_errors,
    parse_models,
    parse_port,
    parse_rate,
    parse_rate_limit,
    parse_seconds,
    parse_seed,
    parse_size,
    parse_unmatched,
    parse_workers,
)
from .contract.catalog import load_catalog_document
from .contract.schema import Contract
from .http.app import API_PATH
from .logs import configure as configure_logging
from .script.faults import FAULT_KINDS
from .script.rules import FixtureError, fixture_files, load_file
from .server import serve

DESCRIPTION = """\
Offline emulator of AI21's Jamba chat completions API (POST /studio/v1/chat/completions).
Point the ai21 SDK at it with AI21_API_HOST=http://HOST:PORT/studio/v1 and any API key.
Every option can also be set with a JAMBA_EMULATOR_<OPTION> environment variable
(e.g. JAMBA_EMULATOR_PORT=9000, JAMBA_EMULATOR_API_KEYS=key1,key2); flags win.

Check fixture files (scripted replies) without starting a server:
  jamba-emulator check PATH [PATH ...]"""


def _arg(parse: Callable[[str, str], Any], flag: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text, flag)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def build_parser(defaults: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jamba-emulator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--host",
        default=defaults.host,
        help="address to listen on (default: %(default)s; only loopback unless you say otherwise)",
    )
    parser.add_argument(
        "--port",
        type=_arg(parse_port, "--port"),
        default=defaults.port,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_arg(parse_seed, "--seed"),
        default=defaults.seed,
        help=(
            "seed for the generated text and, when given, for completion ids "
            f"(default: text seed {DEFAULT_SEED}, random ids)"
        ),
    )
    parser.add_argument(
        "--max-body-size",
        type=_arg(parse_size, "--max-body-size"),
        default=defaults.max_body_size,
        metavar="SIZE",
        help="largest request body accepted, e.g. 8M or 1048576 (default: %(default)s bytes)",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accept only this API key (repeat for several; default: any non-empty key)",
    )
    parser.add_argument(
        "--model",
        dest="models",
        action="append",
        type=_arg(parse_models, "--model"),
        metavar="NAME",
        help="accept this model (repeat for several, or NAME,NAME; default: every model in the "
        "catalog, see the README's model table); others get the unsupported-model 422",
    )
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=defaults.strict,
        help="reject unknown fields and enforce user/assistant alternation (default: ignore and warn)",
    )
    parser.add_argument(
        "--strict-allow",
        dest="strict_allow",
        action="append",
        type=_arg(parse_fields, "--strict-allow"),
        metavar="FIELD,...",
        help=(
            "fields --strict accepts although the real service ignored them, e.g. stop_sequences,seed "
            "(repeatable; still named in X-Emulator-Ignored-Fields; default: none)"
        ),
    )
    parser.add_argument(
        "--fixtures",
        action="append",
        metavar="PATH",
        help=(
            "scripted replies: a fixture file, or a folder of them (repeatable; default: none, so "
            "every answer is generated). Check files first with: jamba-emulator check PATH"
        ),
    )
    parser.add_argument(
        "--reload",
        action=argparse.BooleanOptionalAction,
        default=defaults.reload,
        help="reload the fixture files when they change (default: on)",
    )
    parser.add_argument(
        "--unmatched",
        type=_arg(parse_unmatched, "--unmatched"),
        default=defaults.unmatched,
        choices=UNMATCHED_MODES,
        help=(
            "what a request no fixture rule matches gets: the generated answer, or a 404 that names "
            "the closest rules and why each did not match (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--fault-rate",
        type=_arg(parse_rate, "--fault-rate"),
        default=defaults.fault_rate,
        metavar="RATE",
        help=(
            "share of the valid requests no rule answers that meet a fault from --faults, drawn from --seed "
            "so runs repeat; 0.1 is one in ten (default: %(default)s, no faults)"
        ),
    )
    parser.add_argument(
        "--faults",
        type=_arg(parse_faults, "--faults"),
        default=defaults.faults,
        metavar="LIST",
        help=(
            "what --fault-rate draws from: error statuses and fault kinds, comma-separated, e.g. "
            f"429,500,503,drop_mid_stream (kinds: {', '.join(FAULT_KINDS)}; "
            f"default: {','.join(defaults.faults)})"
        ),
    )
    parser.add_argument(
        "--rate-limit",
        type=_arg(parse_rate_limit, "--rate-limit"),
        default=defaults.rate_limit,
        metavar="WINDOWS",
        help=(
            "emulated rate limit per API key, e.g. 10/s,200/min (the current models' documented "
            "limits; the Jamba Instruct era's: 2/s,60/min): 429 with Retry-After beyond it (default: off)"
        ),
    )
    parser.add_argument(
        "--journal-size",
        type=_arg(parse_journal_size, "--journal-size"),
        default=defaults.journal_size,
        metavar="N",
        help="requests the journal keeps, oldest dropped first; 0 keeps none (default: %(default)s)",
    )
    parser.add_argument(
        "--admin-token",
        default=defaults.admin_token,
        metavar="TOKEN",
        help=(
            "token the admin API under /_emulator requires (header X-Emulator-Admin-Token); "
            "needed to use the admin API when --host is not loopback (default: none)"
        ),
    )
    parser.add_argument(
        "--workers",
        type=_arg(parse_workers, "--workers"),
        default=defaults.workers,
        metavar="N",
        help=(
            "serve from N processes sharing the port, for load tests on several cores; each keeps "
            "its own journal and rules (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--max-errors",
        type=_arg(parse_max_errors, "--max-errors"),
        default=defaults.max_errors,
        metavar="N",
        help="validation errors a 422 lists at most; a last item counts the rest (default: %(default)s)",
    )
    parser.add_argument(
        "--keepalive-timeout",
        type=_arg(parse_seconds, "--keepalive-timeout"),
        default=defaults.keepalive_timeout,
        metavar="SECONDS",
        help="close a keep-alive connection idle this long (default: %(default)g)",
    )
    parser.add_argument(
        "--request-timeout",
        type=_arg(parse_seconds, "--request-timeout"),
        default=defaults.request_timeout,
        metavar="SECONDS",
        help=(
            "time a request's head may take once begun, and its body once the head is in; past it "
            "408 and the connection closes (default: %(default)g)"
        ),
    )
    parser.add_argument(
        "--max-connections",
        type=_arg(parse_max_connections, "--max-connections"),
        default=defaults.max_connections,
        metavar="N",
        help=(
            "open connections at most; at the cap the connection that has waited longest for a "
            "request head is closed, so slow clients cannot shut out others (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_arg(parse_seconds, "--shutdown-timeout"),
        default=defaults.shutdown_timeout,
        metavar="SECONDS",
        help=(
            "on Ctrl+C or SIGTERM, time given to answers in progress; paced and stalled streams end "
            "at once (default: %(default)g)"
        ),
    )
    parser.add_argument(
        "--log-level",
        type=_arg(parse_log_level, "--log-level"),
        default=defaults.log_level,
        choices=LOG_LEVELS,
        help="(default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["check"]:
        return check(argv[1:])
    try:
        defaults = Config.from_environ()
    except ConfigError as error:
        sys.stderr.write(f"jamba-emulator: {error}\n")
        return 2
    args = build_parser(defaults).parse_args(argv)
    config = Config(
        host=args.host,
        port=args.port,
        seed=args.seed,
        max_body_size=args.max_body_size,
        api_keys=tuple(args.api_keys) if args.api_keys else defaults.api_keys,
        models=tuple(dict.fromkeys(n for names in args.models for n in names))
        if args.models
        else defaults.models,
        strict=args.strict,
        strict_allow=tuple(dict.fromkeys(f for fields in args.strict_allow for f in fields))
        if args.strict_allow
        else defaults.strict_allow,
        log_level=args.log_level,
        journal_size=args.journal_size,
        fixtures=tuple(args.fixtures) if args.fixtures else defaults.fixtures,
        admin_token=args.admin_token or None,
        reload=args.reload,
        unmatched=args.unmatched,
        fault_rate=args.fault_rate,
        faults=args.faults,
        rate_limit=args.rate_limit,
        workers=args.workers,
        max_errors=args.max_errors,
        keepalive_timeout=args.keepalive_timeout,
        request_timeout=args.request_timeout,
        max_connections=args.max_connections,
        shutdown_timeout=args.shutdown_timeout,
    )
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


def _announce(url: str) -> None:
    sys.stdout.write(
        f"jamba-emulator listening on {url}\n"
        f"  chat completions: POST {url}{API_PATH}\n"
        f"  point the ai21 SDK at it: AI21_API_HOST={url}/studio/v1 AI21_API_KEY=any-key\n"
        "  press Ctrl+C to stop\n"
    )
    sys.stdout.flush()
