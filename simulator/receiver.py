"""The reference receiver: an async HTTP server that checks what Hookline (or Tillhub) sends.

It verifies the `Tillhub-Signature` (optionally the timestamp's age), Basic auth and the
envelope, de-duplicates by `event_id`, and can misbehave on purpose (fail a fraction of
requests, answer a chosen status, add latency, hang). `GET /stats` returns what it saw as JSON.
Plain aiohttp, no Django: it must keep up with the platform's full delivery rate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from deliveries.engine.signing import verify_signature

ENVELOPE_KEYS = (
    "webhook_id",
    "event_id",
    "event_entity",
    "event_type",
    "event_version",
    "entity_instance_id",
    "timestamp",
    "payload",
)
# Latency samples kept for the report: enough for stable percentiles, bounded memory.
MAX_LATENCY_SAMPLES = 200_000


@dataclass
class ReceiverConfig:
    secrets: list[str] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    tolerance_seconds: float | None = None
    fail_rate: float = 0.0
    status: int = 200
    latency_ms: float = 0.0
    hang: bool = False
    seed: int | None = None


@dataclass
class ReceiverStats:
    requests: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    injected_failures: int = 0
    by_event: Counter[str] = field(default_factory=Counter)
    event_ids: set[str] = field(default_factory=set)
    # Seconds from the envelope's timestamp (publish) to arrival, for accepted deliveries.
    publish_to_arrival: list[float] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(time.time() - self.started_at, 1e-9)
        return {
            "requests": self.requests,
            "accepted": self.accepted,
            "unique_events": len(self.event_ids),
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "injected_failures": self.injected_failures,
            "by_event": dict(self.by_event),
            "requests_per_second": round(self.requests / elapsed, 1),
        }


class Receiver:
    def __init__(self, config: ReceiverConfig) -> None:
        self.config = config
        self.stats = ReceiverStats()
        self.random = random.Random(config.seed)
        expected = None
        if config.username is not None:
            credentials = f"{config.username}:{config.password or ''}".encode()
            expected = "Basic " + base64.b64encode(credentials).decode()
        self.expected_authorization = expected

    def app(self) -> web.Application:
        application = web.Application(client_max_size=8 * 1024 * 1024)
        application.router.add_get("/stats", self.handle_stats)
        application.router.add_post("/{tail:.*}", self.handle_delivery)
        return application

    async def handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.as_dict())

    def _reject(self, reason: str, status: int) -> web.Response:
        self.stats.rejected[reason] += 1
        return web.json_response({"error": reason}, status=status)

    async def handle_delivery(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        body = await request.read()
        config = self.config
        if self.expected_authorization is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), self.expected_authorization.encode()):
                return self._reject("basic_auth", 401)
        if config.secrets:
            header = request.headers.get("Tillhub-Signature", "")
            try:
                valid = verify_signature(
                    header,
                    body,
                    config.secrets,
                    now_ms=int(time.time() * 1000),
                    tolerance_seconds=config.tolerance_seconds,
                )
            except (ValueError, binascii.Error):
                valid = False
            if not valid:
                return self._reject("signature", 400)
        try:
            envelope = json.loads(body)
        except ValueError:
            return self._reject("malformed_json", 400)
        if not isinstance(envelope, dict) or tuple(envelope) != ENVELOPE_KEYS:
            return self._reject("envelope", 400)
        if config.hang:
            await asyncio.sleep(3600)
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        if config.fail_rate and self.random.random() < config.fail_rate:
            self.stats.injected_failures += 1
            return web.json_response({"error": "injected failure"}, status=500)
        if not 200 <= config.status < 300:
            self.stats.injected_failures += 1
            return web.json_response({"error": "configured status"}, status=config.status)
        event_id = str(envelope["event_id"])
        if event_id in self.stats.event_ids:
            self.stats.duplicates += 1
        else:
            self.stats.event_ids.add(event_id)
            self.stats.accepted += 1
            self.stats.by_event[f"{envelope['event_entity']}.{envelope['event_type']}"] += 1
            self._sample_latency(str(envelope["timestamp"]))
        return web.json_response({"received": event_id}, status=config.status)

    def _sample_latency(self, timestamp: str) -> None:
        if len(self.stats.publish_to_arrival) >= MAX_LATENCY_SAMPLES:
            return
        try:
            published = datetime.fromisoformat(timestamp).timestamp()
        except ValueError:
            return
        self.stats.publish_to_arrival.append(time.time() - published)
