"""A real emulator on a background thread for the property tests, and a plain HTTP client to it.

Hypothesis runs each example many times inside one test, so the server lives for the module
(function-scoped fixtures would be shared across examples anyway) and the client is synchronous.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jamba_emulator.http.surfaces.studio import CHAT_PATH as API_PATH
from jamba_emulator.server import BackgroundServer

from tests.support import AUTH


class Api(logging.Handler):
    """POSTs bodies to a running emulator; `healthy()` proves it still answers a valid request,
    and `unexpected_errors()` returns what the server logged as an unexpected error (a 500)."""

    def __init__(self, server: BackgroundServer) -> None:
        super().__init__(logging.ERROR)
        self.server = server
        self.http = httpx.Client(base_url=server.url, headers=AUTH, timeout=30)
        self._errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self._errors.append(self.format(record))

    def unexpected_errors(self) -> list[str]:
        errors, self._errors = self._errors, []
        return errors

    def post(self, body: Any) -> httpx.Response:
        if isinstance(body, bytes):
            return self.http.post(API_PATH, content=body)
        return self.http.post(API_PATH, json=body)

    def healthy(self) -> bool:
        response = self.post(
            {"model": "jamba-instruct-preview", "messages": [{"role": "user", "content": "hi"}]}
        )
        return response.status_code == 200 and bool(response.json()["choices"])


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    # Thousands of accepted-with-a-warning requests would otherwise bury a failure's report.
    log = logging.getLogger("jamba_emulator")
    level = log.level
    log.setLevel(logging.ERROR)
    with BackgroundServer() as server:
        api = Api(server)
        log.addHandler(api)
        yield api
        log.removeHandler(api)
        api.http.close()
    log.setLevel(level)
