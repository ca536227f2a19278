"""Which HTTP client for the bulk sender: signed POSTs per second on one core, measured here.

    python bench/clients.py [--requests 5000]

Starts the fast local receiver, then sends the same signed 2 KB body with `requests` (a
keep-alive Session, one request at a time: how a blocking client is used) and with aiohttp
(one session, 200 requests in flight), and prints each rate and their ratio.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deliveries.engine.request import delivery_headers  # noqa: E402

PORT = 18090
BODY = b'{"payload":"' + b"x" * 2000 + b'"}'


def headers() -> dict[str, str]:
    return delivery_headers(
        body=BODY, signing_secrets=["s" * 43], user_agent="Tillhub HTTP Connector/2.1.0"
    )


def with_requests(count: int) -> float:
    session = requests.Session()
    started = time.process_time()
    for _ in range(count):
        session.post(f"http://127.0.0.1:{PORT}/hook", data=BODY, headers=headers(), timeout=30)
    return count / (time.process_time() - started)


async def with_aiohttp(count: int) -> float:
    async with aiohttp.ClientSession() as session:
        semaphore = asyncio.Semaphore(200)

        async def one() -> None:
            async with semaphore:
                url = f"http://127.0.0.1:{PORT}/hook"
                async with session.post(url, data=BODY, headers=headers()) as response:
                    await response.read()

        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    count = parser.parse_args().requests
    receiver = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "receiver.py"), str(PORT)], env=os.environ
    )
    try:
        time.sleep(1.5)
        blocking = with_requests(count)
        import uvloop

        uvloop.install()
        concurrent = asyncio.run(with_aiohttp(count))
    finally:
        receiver.terminate()
        receiver.wait()
    print(f"signed POSTs per CPU-second of the sender ({count} each)")
    print(f"  requests (blocking, keep-alive)   {blocking:>8,.0f}/s")
    print(f"  aiohttp + uvloop (200 in flight)  {concurrent:>8,.0f}/s")
    print(f"  ratio aiohttp / requests          {concurrent / blocking:>8.1f}x")


if __name__ == "__main__":
    main()
