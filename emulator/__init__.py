"""jamba-emulator: an offline, deterministic emulator of AI21's Jamba chat completions API.

from jamba_emulator import BackgroundServer
with BackgroundServer() as server:
    ...  # AI21Client(api_host=server.api_host, api_key="any")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BackgroundServer", "Config", "__version__", "create_app"]

if TYPE_CHECKING:
    from .config import Config
    from .http.app import create_app
    from .server import BackgroundServer

_EXPORTS = {"create_app": "http.app", "Config": "config", "BackgroundServer": "server"}


def __getattr__(name: str) -> Any:
    # Lazy, so that `import jamba_emulator` (and `--help`) stays cheap.
    if name in _EXPORTS:
        from importlib import import_module  # noqa: PLC0415

        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'jamba_emulator' has no attribute {name!r}")
