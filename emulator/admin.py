"""The admin sub-app under `/_emulator`: readiness now; journal and scripts later."""

from __future__ import annotations

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_admin_app() -> web.Application:
    admin = web.Application()
    admin.router.add_get("/health", health)
    return admin
