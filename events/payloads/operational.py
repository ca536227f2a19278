"""Hookline's operational events (`hookline.webhook_*.v1`): examples of what
deliveries.services.operational sends about a subscription, for the catalog and test events."""

from typing import Any

from events.payloads.clock import iso
from events.payloads.world import World

# Seconds between a circuit opening and its first probe in the examples: the default
# WEBHOOK_CIRCUIT_COOLDOWN_SECONDS.
EXAMPLE_COOLDOWN_MS = 30_000
_URLS = (
    "https://erp.example.com/hookline/orders",
    "https://shop.example.org/webhooks/tillhub",
    "https://crm.example.net/api/hooks",
)


def _subscription(world: World, instance_id: str | None, now_ms: int) -> dict[str, Any]:
    return {
        "id": instance_id or world.uuid(),
        "url": world.rng.choice(_URLS),
        "description": "ERP sync",
        "active": True,
        "reason": "",
        "consecutive_failures": 0,
        "times_opened": 0,
        "opened_at": None,
        "next_probe_at": None,
        "disabled_at": None,
        "last_success_at": iso(now_ms - world.rng.randint(2, 90) * 60_000),
        "failing_since": None,
        "occurred_at": iso(now_ms),
    }


def webhook_circuit_opened(world: World, instance_id: str | None) -> dict[str, Any]:
    now_ms = world.clock.tick()
    failures = world.rng.randint(10, 14)
    payload = _subscription(world, instance_id, now_ms)
    payload.update(
        reason=f"{failures} consecutive failed attempts: deliveries wait and one probe goes "
        "out after the cool-down.",
        consecutive_failures=failures,
        times_opened=world.rng.randint(1, 3),
        opened_at=iso(now_ms),
        next_probe_at=iso(now_ms + EXAMPLE_COOLDOWN_MS),
        failing_since=iso(now_ms - failures * 20_000),
    )
    return payload


def webhook_recovered(world: World, instance_id: str | None) -> dict[str, Any]:
    now_ms = world.clock.tick()
    failures = world.rng.randint(10, 30)
    payload = _subscription(world, instance_id, now_ms)
    payload.update(
        reason="An attempt succeeded: the circuit is closed and waiting deliveries flow again.",
        consecutive_failures=failures,
        times_opened=world.rng.randint(1, 3),
        opened_at=iso(now_ms - world.rng.randint(1, 50) * 60_000),
        last_success_at=iso(now_ms),
    )
    return payload


def webhook_disabled(world: World, instance_id: str | None) -> dict[str, Any]:
    now_ms = world.clock.tick()
    payload = _subscription(world, instance_id, now_ms)
    payload.update(
        active=False,
        reason=f"The endpoint answered 410 Gone ({payload['url']}); deliveries are paused.",
        consecutive_failures=1,
        disabled_at=iso(now_ms),
    )
    return payload
