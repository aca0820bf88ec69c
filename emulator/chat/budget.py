"""One request's budget for the steps whose cost the client controls.

Every request costs a bounded amount of time and memory: the steps that grow with what a client
sends (collecting validation errors, counting prompt tokens, compiling tool schemas, writing
tool-call arguments over every tool, choice and attempt) each spend from the request's `Budget`
and stop where it ends, with a documented outcome:

- validation errors: `errors_listed` are answered (`--max-errors`, default 1,000) and the search
  stops after `errors_found` (10,000); a last item `value_error.too_many_errors` counts the rest;
- prompt tokens: counting stops past the model's context window; the 422 says "at least N";
- tool schemas: SCHEMA_CHARACTERS of `parameters` are compiled in all (each counted as at least
  SCHEMA_OVERHEAD); a tool past them gets a 422 `value_error.jsonschema` that says so;
- tool-call arguments: ARGUMENT_VALUES values and characters are written in all (attempts that
  fail included); past them the remaining tools pass their turn, and the answer is text.

The counters are public, so a test asserts what was spent rather than how long it took. Pure:
the budget counts work, never time, so the same request always gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ERRORS = 1000
ERRORS_FOUND = 10_000
SCHEMA_CHARACTERS = 1 << 20
SCHEMA_OVERHEAD = 256
"""Characters a schema counts for at least: compiling even `{}` has a cost."""
ARGUMENT_VALUES = 1 << 17


@dataclass(slots=True)
class Budget:
    errors_listed: int = MAX_ERRORS
    errors_found: int = ERRORS_FOUND
    prompt_window: int | None = None
    """Counting stops once the prompt has more tokens than this (None: count them all)."""
    schema_characters: int = SCHEMA_CHARACTERS
    argument_values: int = ARGUMENT_VALUES

    errors: int = 0
    """Validation errors found."""
    tokens: int = 0
    """Prompt tokens counted."""
    schema: int = 0
    """Characters of tool schemas compiled."""
    values: int = 0
    """Values and characters of tool-call arguments written (attempts that failed included)."""

    @property
    def values_left(self) -> int:
        return max(0, self.argument_values - self.values)

    def compile(self, characters: int) -> bool:
        """Whether a schema of `characters` may be compiled (and if so, it is counted, as at least
        SCHEMA_OVERHEAD)."""
        cost = max(characters, SCHEMA_OVERHEAD)
        if self.schema + cost > self.schema_characters:
            return False
        self.schema += cost
        return True
