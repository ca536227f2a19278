"""A fast local receiver for benchmarks: answers 200 to every POST, optionally after a fixed
latency, or never (hangs). Counts requests; `GET /count` returns the count.

    python bench/receiver.py PORT [--latency-ms MS] [--hang]
"""

import argparse
import asyncio

import uvloop
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--hang", action="store_true")
    options = parser.parse_args()
    received = 0

    async def deliver(request: web.Request) -> web.Response:
        nonlocal received
        await request.read()
        received += 1
        if options.hang:
            await asyncio.sleep(3600)
        if options.latency_ms:
            await asyncio.sleep(options.latency_ms / 1000)
        return web.Response(status=200, text="ok")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"received": received})

    app = web.Application()
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", deliver)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=options.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
