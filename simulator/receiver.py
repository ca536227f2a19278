"""The reference receiver: an async HTTP server that checks what Hookline (or Tillhub) sends.

It verifies the signature (`Tillhub-Signature`, or with `scheme="standard-webhooks"` the
`webhook-id`, `webhook-timestamp` and `webhook-signature` headers; optionally the timestamp's
age), Basic auth and the envelope, de-duplicates by `event_id`, and can misbehave on purpose
(fail a fraction of requests, answer a chosen status, add latency, hang). `GET /stats` returns
what it saw as JSON. Plain aiohttp, no Django: it must keep up with the platform's full
delivery rate.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from deliveries.engine.signing import (
    SignatureScheme,
    verify_signature,
    verify_standard_webhooks_signature,
)
from events.catalog import EVENT_TYPES

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
EVENT_ENTITIES = frozenset(event.entity for event in EVENT_TYPES.values())
EVENT_ACTIONS = frozenset({"create", "update", "delete"})
# ISO 8601 UTC with milliseconds and `Z` (SPEC section 1).
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# The 400 body's detail for a bad signature: the dashboard recognises the word "signature"
# in a 400 and tells the user to give the receiver the webhook's signing secret.
SIGNATURE_NOT_VERIFIED = (
    "Tillhub-Signature did not verify with any of this receiver's secrets (or its timestamp "
    "is too old): start the receiver with --secret set to the webhook's signing secret"
)
STANDARD_SIGNATURE_NOT_VERIFIED = (
    "webhook-signature did not verify with any of this receiver's whsec_ secrets (or "
    "webhook-timestamp is too old, or webhook-id is not the body's event_id): start the "
    "receiver with --scheme standard-webhooks and --secret set to the webhook's signing secret"
)
# Latency samples kept for the report: enough for stable percentiles, bounded memory.
MAX_LATENCY_SAMPLES = 200_000


@dataclass
class ReceiverConfig:
    secrets: list[str] = field(default_factory=list)
    scheme: str = SignatureScheme.TILLHUB
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

    def _reject(self, reason: str, status: int, detail: str | None = None) -> web.Response:
        self.stats.rejected[reason] += 1
        answer = {"error": reason} if detail is None else {"error": reason, "detail": detail}
        return web.json_response(answer, status=status)

    def _signature_verifies(self, request: web.Request, body: bytes) -> bool:
        """Whether the request is signed by one of the configured secrets under the scheme."""
        config = self.config
        try:
            if config.scheme == SignatureScheme.STANDARD_WEBHOOKS:
                return verify_standard_webhooks_signature(
                    request.headers,
                    body,
                    config.secrets,
                    now_seconds=time.time(),
                    tolerance_seconds=config.tolerance_seconds,
                )
            return verify_signature(
                request.headers.get("Tillhub-Signature", ""),
                body,
                config.secrets,
                now_ms=int(time.time() * 1000),
                tolerance_seconds=config.tolerance_seconds,
            )
        except (ValueError, binascii.Error):
            return False

    async def handle_delivery(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        body = await request.read()
        config = self.config
        if self.expected_authorization is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), self.expected_authorization.encode()):
                return self._reject("basic_auth", 401)
        if config.secrets and not self._signature_verifies(request, body):
            detail = (
                STANDARD_SIGNATURE_NOT_VERIFIED
                if config.scheme == SignatureScheme.STANDARD_WEBHOOKS
                else SIGNATURE_NOT_VERIFIED
            )
            return self._reject("signature", 400, detail)
        try:
            envelope = json.loads(body)
        except ValueError:
            return self._reject("malformed_json", 400)
        if (
            config.scheme == SignatureScheme.STANDARD_WEBHOOKS
            and isinstance(envelope, dict)
            and request.headers.get("webhook-id") != envelope.get("event_id")
        ):
            return self._reject("signature", 400, STANDARD_SIGNATURE_NOT_VERIFIED)
        problem = envelope_problem(envelope)
        if problem is not None:
            return self._reject("envelope", 400, problem)
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


def envelope_problem(envelope: object) -> str | None:
    """Return what is wrong with a parsed delivery body (SPEC section 1), or None when it is a
    proper envelope: exactly the eight keys in order, UUIDs where UUIDs belong, a known entity
    and action, an integer version, a millisecond UTC timestamp and an object payload whose
    `id` is the `entity_instance_id`."""
    if not isinstance(envelope, dict):
        return "the body is not a JSON object"
    if tuple(envelope) != ENVELOPE_KEYS:
        return f"keys must be exactly {', '.join(ENVELOPE_KEYS)} in this order"
    for key in ("webhook_id", "event_id", "entity_instance_id"):
        if not _is_uuid(envelope[key]):
            return f"{key} is not a UUID"
    if envelope["event_entity"] not in EVENT_ENTITIES:
        return f"event_entity must be one of {', '.join(sorted(EVENT_ENTITIES))}"
    if envelope["event_type"] not in EVENT_ACTIONS:
        return "event_type must be create, update or delete"
    version = envelope["event_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        return "event_version is not an integer"
    if not isinstance(envelope["timestamp"], str) or not TIMESTAMP.match(envelope["timestamp"]):
        return "timestamp is not ISO 8601 UTC with milliseconds and Z"
    payload = envelope["payload"]
    if not isinstance(payload, dict):
        return "payload is not an object"
    if str(payload.get("id")) != envelope["entity_instance_id"]:
        return "payload.id differs from entity_instance_id"
    return None


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
