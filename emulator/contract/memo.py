"""Admission outcomes kept for short bodies: admission is a pure function of the dialect, what the
route said and the body's bytes, so a test suite or a load test that sends the same bodies again
and again has a repeat skip parsing, validation and token counting (and a 422's search for every
violation).

What is kept is the admitted request, or what its 422 said, never the raised exception itself:
its traceback's frames hold the request, and raising it again would tie them into a cycle only
the garbage collector frees (tests/integration/test_garbage.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ..chat.budget import Budget
from ..chat.cache import SizedCache
from ..errors import ErrorItem, UnsupportedModel, ValidationFailed
from .dialects import RouteParams

if TYPE_CHECKING:
    from .admission import Admitted

MEMO_BODY = 4096
"""Bodies of at most this many bytes have their admission kept."""
MEMO_WEIGHT = 4 << 20
"""The most the kept outcomes weigh (an estimate in bytes)."""


class Key(NamedTuple):
    dialect: str
    params: RouteParams
    raw: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What admitting a body came to: the request, or what its 422 said."""

    admitted: Admitted | None
    items: tuple[ErrorItem, ...] | None
    """A ValidationFailed's items."""
    unsupported: str | None
    """An UnsupportedModel's model."""
    spent: tuple[int, int, int | None, int]
    """The budget's errors, tokens, prompt_window and schema after admission."""

    def replayed(self, budget: Budget) -> Admitted:
        """The admitted request again, or its error raised afresh; the budget spent as it was."""
        budget.errors, budget.tokens, budget.prompt_window, budget.schema = self.spent
        if self.admitted is not None:
            return self.admitted
        if self.items is not None:
            raise ValidationFailed(list(self.items))
        raise UnsupportedModel(self.unsupported or "")


class Memo:
    def __init__(self, weight: int = MEMO_WEIGHT) -> None:
        self._kept: SizedCache[Key, Outcome] = SizedCache(weight)

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def weight(self) -> int:
        return self._kept.weight

    def get(self, key: Key) -> Outcome | None:
        return self._kept.get(key)

    def keep_admitted(self, key: Key, admitted: Admitted, budget: Budget) -> None:
        self._keep(key, Outcome(admitted, None, None, _spent(budget)))

    def keep_error(self, key: Key, error: ValidationFailed | UnsupportedModel, budget: Budget) -> None:
        if isinstance(error, ValidationFailed):
            self._keep(key, Outcome(None, tuple(error.items), None, _spent(budget)))
        else:
            self._keep(key, Outcome(None, None, error.model, _spent(budget)))

    def _keep(self, key: Key, outcome: Outcome) -> None:
        """Kept, weighed as an estimate of its bytes: the body's twice (its bytes, and the texts
        parsed from them), what the route said (a Bedrock model id), and a 422's items."""
        items = outcome.items or ()
        weight = 2 * len(key.raw) + len(key.params.model or "") + 512
        weight += sum(len(item.msg) + 64 * len(item.loc) for item in items)
        self._kept.put(key, outcome, weight)


def _spent(budget: Budget) -> tuple[int, int, int | None, int]:
    return budget.errors, budget.tokens, budget.prompt_window, budget.schema
