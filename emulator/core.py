"""Everything one server needs to answer requests, built once at start-up from a Config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .answer.generator import Generator
from .answer.ids import IdSource, id_source
from .answer.wordpool import load as load_wordpool
from .chat.tokenizer import ApproximateTokenizer, Tokenizer
from .config import Config, flag_of
from .contract.admission import Admission
from .contract.catalog import load_catalog_document
from .contract.schema import Contract
from .contract.vllm import Served
from .errors import ConfigError
from .script.faults import DEFAULT_GLOBAL_FAULTS, FaultPlan, parse_choice
from .script.fixtures import fixture_files, load_file
from .script.journal import Journal
from .script.ratelimit import RateLimiter
from .script.rules import Rule, Script

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Core:
    config: Config
    contract: Contract
    admission: Admission
    generator: Generator
    ids: IdSource
    tokenizer: Tokenizer
    journal: Journal
    script: Script
    faults: FaultPlan
    limiter: RateLimiter

    @classmethod
    def build(cls, config: Config, *, worker: int = 0, restarts: int = 0) -> Core:
        """The core of worker `worker` (under --workers), started `restarts` times before."""
        contract = checked(
            "models",
            lambda: Contract(
                load_catalog_document(),
                strict=config.strict,
                models=config.models,
                strict_allow=config.strict_allow,
            ),
        )
        tokenizer = ApproximateTokenizer()
        try:
            served = served_by(config, contract)
        except ValueError as error:  # each message names its flag
            raise ConfigError(str(error)) from None
        return cls(
            config=config,
            contract=contract,
            admission=Admission(contract, tokenizer, served=served),
            generator=Generator(load_wordpool(), tokenizer, config.text_seed),
            ids=id_source(config.seed, worker, restarts),
            tokenizer=tokenizer,
            journal=checked("journal_size", lambda: Journal(config.journal_size)),
            script=Script(load_fixtures(config)),
            faults=checked("faults", lambda: fault_plan(config)),
            limiter=RateLimiter(config.rate_limit),
        )

    def reset(self, scope: str | None = None) -> int:
        """Back to a fresh start: the journal emptied, the rules back to those loaded (unused), the
        rate limit's windows emptied, the fault sequence restarted. Returns the entries cleared.
        With a test `scope`, only that scope: its journal entries, its rules and its counts."""
        if scope is not None:
            self.script.reset(scope)
            return self.journal.clear(scope)
        self.script.reset()
        self.limiter.reset()
        self.faults.reset()
        return self.journal.clear()


def checked(setting: str, make: Callable[[], T]) -> T:
    """`make()`, a ValueError it raises a ConfigError naming the setting's flag: the settings a
    wing checks (config checks syntax only)."""
    try:
        return make()
    except ValueError as error:
        raise ConfigError(f"{flag_of(setting)}: {error}") from None


def served_by(config: Config, contract: Contract) -> Served:
    """The vllm surface's server, as vLLM's flags describe it."""
    return Served.build(
        contract.document,
        version=config.vllm_version,
        model=config.vllm_model,
        served_names=config.served_model_name,
        max_model_len=config.max_model_len,
        auto_tools=config.enable_auto_tool_choice,
        tool_call_parser=config.tool_call_parser,
        reasoning_parser=config.reasoning_parser,
    )


def fault_plan(config: Config) -> FaultPlan:
    choices = [parse_choice(choice) for choice in config.faults or DEFAULT_GLOBAL_FAULTS]
    return FaultPlan(config.fault_rate, choices, config.text_seed)


def load_fixtures(config: Config) -> list[Rule]:
    """Every rule of the fixture files `config` names, in order; FixtureError at the first bad one."""
    return [rule for path in fixture_files(config.fixtures) for rule in load_file(path)]
