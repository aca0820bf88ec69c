"""The request headers that carry credentials, and the one way each is hidden wherever a request
can surface: the journal (admin API, pytest plugin), the `--unmatched error` report, logs.

A hidden value keeps its scheme when it has one (`Bearer [redacted]`, `AWS4-HMAC-SHA256
[redacted]`), so a test can see which kind of credential was sent; the rest is gone.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Iterable

REDACTED = "[redacted]"
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-amz-security-token",
        "cookie",
        "x-emulator-admin-token",
    }
)
_SCHEMES = frozenset({"bearer", "basic", "aws4-hmac-sha256", "digest"})


def is_credential(name: str) -> bool:
    return name.lower() in CREDENTIAL_HEADERS


def hidden(value: str) -> str:
    """A credential's value as shown: its scheme, if it has a known one, then REDACTED."""
    scheme, _, secret = value.partition(" ")
    return f"{scheme} {REDACTED}" if secret and scheme.lower() in _SCHEMES else REDACTED


def redact(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers with every credential's value hidden."""
    return tuple((name, hidden(value) if is_credential(name) else value) for name, value in headers)


def accepted(key: str, keys: Collection[str]) -> bool:
    """Whether `key` is one of `keys`, compared in constant time (every key is compared, each
    with hmac.compare_digest), so the time taken tells nothing about how much of a key matched."""
    sent = key.encode("utf-8", "surrogateescape")
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(sent, candidate.encode("utf-8", "surrogateescape"))
    return found
