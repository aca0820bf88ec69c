"""The reference the benchmarks compare against: a bare aiohttp handler that reads the JSON body
and answers a fixed 400-byte JSON (the reference every ratio is against).

    python bench/reference_server.py PORT
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

ANSWER = json.dumps(
    {
        "id": "chatcmpl-00000000-0000-0000-0000-000000000000",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "x" * 150},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 26, "completion_tokens": 56, "total_tokens": 82},
    }
).encode()
ANSWER += b" " * (400 - len(ANSWER))  # exactly 400 bytes
assert len(ANSWER) == 400


async def answer(request: web.Request) -> web.Response:
    await request.json()
    return web.Response(body=ANSWER, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_post("/studio/v1/chat/completions", answer)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
