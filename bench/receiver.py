"""A fast local receiver for benchmarks: answers 200 to every POST, optionally after a fixed
latency, or never (hangs). Counts requests; `GET /count` returns the count.

    python bench/receiver.py PORT [--latency-ms MS] [--hang]

It shares the machine's cores with what it measures, so it does as little as an HTTP/1.1
server can: an asyncio protocol on uvloop with httptools' parser (llhttp, as in uvicorn), no
routing and no request objects. Profiled beside Hookline's workers, an aiohttp.web receiver
took ~70 us of CPU per request (a third of a core at 4,800 requests/s); this one takes a
fraction of that, which the benchmark then spends on the code it measures.
"""

import argparse
import asyncio
import json
from typing import Any

import httptools
import uvloop

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Counter:
    def __init__(self) -> None:
        self.received = 0


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, counter: Counter, latency_seconds: float, hang: bool) -> None:
        self.counter = counter
        self.latency_seconds = latency_seconds
        self.hang = hang
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None  # uvloop's transports do not subclass asyncio's
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        if self.parser.get_method() == b"GET" and self.url == b"/count":
            body = json.dumps({"received": self.counter.received}).encode()
            self._write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            return
        self.counter.received += 1
        if self.hang:
            return
        if self.latency_seconds:
            asyncio.get_running_loop().call_later(self.latency_seconds, self._write, OK)
        else:
            self._write(OK)

    def _write(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)


async def serve(port: int, latency_seconds: float, hang: bool) -> None:
    counter = Counter()
    server = await asyncio.get_running_loop().create_server(
        lambda: ReceiverProtocol(counter, latency_seconds, hang),
        host="127.0.0.1",
        port=port,
        backlog=4096,
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--hang", action="store_true")
    options = parser.parse_args()
    uvloop.install()
    asyncio.run(serve(options.port, options.latency_ms / 1000, options.hang))


if __name__ == "__main__":
    main()
