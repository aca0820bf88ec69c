"""API key check: `Authorization: Bearer <key>`, any non-empty key unless keys are configured."""

from __future__ import annotations

from collections.abc import Collection

from ..errors import Unauthorized
from ..script.credentials import accepted as is_accepted


def authorize(header: str | None, accepted: Collection[str]) -> str:
    """The caller's key, or Unauthorized (401) when it is missing, malformed or not accepted."""
    scheme, _, key = (header or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or (accepted and not is_accepted(key, accepted)):
        raise Unauthorized
    return key
