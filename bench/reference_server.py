"""The reference the benchmarks compare against: a bare aiohttp handler that reads the JSON body
and answers a fixed 400-byte JSON (the reference every ratio is against); a body with
`"stream": true` gets EVENTS server-sent events of SIZE bytes each instead, in one write, as the
emulator sends an unpaced stream (the streaming reference).

    python bench/reference_server.py PORT [EVENTS SIZE]
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


STREAM = b""
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def events(count: int, size: int) -> bytes:
    """`count` events of `size` bytes each: `data: {...}` padded with spaces inside the JSON."""
    event = b'data: {"x":""}\n\n'
    padded = event[:-3] + b" " * max(0, size - len(event)) + event[-3:]
    return padded * count


async def answer(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    if STREAM and body.get("stream") is True:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(STREAM)
        await response.write_eof()
        return response
    return web.Response(body=ANSWER, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def main() -> None:
    global STREAM  # noqa: PLW0603  (set once, before serving)
    if len(sys.argv) == 4:
        STREAM = events(int(sys.argv[2]), int(sys.argv[3]))
    app = web.Application()
    app.router.add_post("/studio/v1/chat/completions", answer)
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
