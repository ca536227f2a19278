"""The reference receiver (simulator.receiver) served on 127.0.0.1 from a thread, for tests."""

import asyncio
import threading

from aiohttp import web

from simulator.receiver import Receiver, ReceiverConfig
from tests.support.services import free_port


class RunningReceiver:
    def __init__(self, config: ReceiverConfig) -> None:
        self.receiver = Receiver(config)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the reference receiver did not start")

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.receiver.app(), access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self._ready.set()
        self.loop.run_forever()

    def url(self, path: str = "/webhooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def stats(self) -> dict[str, object]:
        return self.receiver.stats.as_dict()

    def close(self) -> None:
        async def stop() -> None:
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
