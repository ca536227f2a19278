"""The dispatcher's process-level helpers (the loop itself is tested through a real worker in
test_delivery_path.py)."""

import gc

import pytest

from deliveries.dispatch.runtime import (
    GC_INTERVAL_SECONDS,
    GC_PAUSED_MAX_OBJECTS,
    collect_when_due,
    collector_paused,
)


@pytest.fixture
def collector_enabled():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_paused_for_the_block_and_enabled_again(collector_enabled):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_cycles_made_while_paused_are_collected_at_the_end(collector_enabled):
    class Node:
        pass

    collected: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "stop":
            collected.append(info["collected"])

    gc.callbacks.append(count)
    try:
        with collector_paused():
            node = Node()
            node.itself = node
            del node
            assert not collected  # nothing ran while paused
    finally:
        gc.callbacks.remove(count)
    assert sum(collected) >= 1


def test_a_paused_collector_runs_when_too_much_is_left_unexamined(collector_enabled):
    with collector_paused():
        hoard = [[] for _ in range(GC_PAUSED_MAX_OBJECTS + 1000)]
        assert gc.get_count()[0] > GC_PAUSED_MAX_OBJECTS
        assert collect_when_due(last_collected=100.0, now=100.5) == 100.5
        assert gc.get_count()[0] < GC_PAUSED_MAX_OBJECTS
        del hoard


def test_a_collector_switched_off_by_the_process_stays_off():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was_enabled:
            gc.enable()


def test_a_paused_collector_still_runs_every_interval(collector_enabled):
    with collector_paused():
        assert collect_when_due(last_collected=100.0, now=101.0) == 100.0
        assert collect_when_due(last_collected=100.0, now=100.0 + GC_INTERVAL_SECONDS) == (
            100.0 + GC_INTERVAL_SECONDS
        )
