"""The SQLite storage (the embedded default of `make run`) against a real SQLite file: the
suite runs on PostgreSQL, so its own SQL (claim as one UPDATE ... RETURNING, attempts, states
and deferrals as one prepared statement per batch) is proven here, in a process of its own
(tests/deliveries/sqlite_storage_driver.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("sqlite-storage")
    for broker_folder in ("broker/processed", "broker/control"):
        (folder / broker_folder).mkdir(parents=True)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'hookline.sqlite3'}",
        "HOOKLINE_VAR_DIR": str(folder),
        "REDIS_URL": "",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("CELERY_BROKER_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "tests.deliveries.sqlite_storage_driver"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_embedded_default_uses_the_sqlite_storage(seen):
    assert (seen["vendor"], seen["storage"]) == ("sqlite", "OrmStorage")


def test_claim_is_one_statement_and_takes_each_due_delivery_once_in_order(seen):
    assert seen["claim_statements"] == ["UPDATE deliveries_delivery"]
    assert seen["claimed"] == [4, 2, 0]
    assert seen["claimed_overlap"] == 0
    assert seen["claimed_in_order"]
    assert seen["claimed_rows"] == [["sending", True]]
    assert seen["claimed_tokens_match"]
    assert seen["job_fields_match"]


def test_recording_writes_attempts_and_states_in_one_statement_each(seen):
    writes = seen["record_writes"]
    assert writes.count("INSERT deliveries_attempt") == 1
    # Three states in one statement (the other update, if any, is not per delivery).
    assert writes.count("UPDATE deliveries_delivery") < 3
    assert seen["recorded_states"] == ["succeeded", "succeeded", "failed"]
    assert seen["recorded_tokens_cleared"]
    assert seen["succeeded_at_set"] == [True, True, False]
    assert seen["failure_due_later"]
    assert seen["last_status_codes"] == [200, 200, 500]
    assert seen["attempts"] == 3
    assert seen["attempt_stored"] == {
        "request_headers": {"Authorization": "Basic [redacted]"},
        "response_headers": {"Content-Type": "text/plain"},
        "redirect_hops": [],
        "duration_ms": 12.5,
        "webhook_matches": True,
    }


def test_a_stale_claim_and_a_foreign_attempt_change_nothing(seen):
    assert seen["stale_token_state"] == "sending"
    assert seen["foreign_attempt_skipped"]


def test_deferral_puts_back_and_the_claim_respects_exclusions_and_leases(seen):
    assert seen["deferred"] == ["pending", True]
    assert seen["excluded_claim"] == []
    assert seen["claim_after_defer"]
    # An hour later every lease has run out, and the failed delivery's retry is due.
    assert seen["expired_leases_reclaimed"] == 4


def test_open_circuit_probe_and_ordering_hold_on_sqlite(seen):
    # The open circuit's subscription keeps its automatic deliveries; its manual resend goes.
    assert seen["open_circuit_claim"] == [
        [False, "automatic"],
        [False, "automatic"],
        [False, "automatic"],
        [True, "manual"],
    ]
    assert seen["probe"]
    assert seen["ordered_while_earlier_unfinished"] == 0
    assert seen["ordered_after_earlier_finished"]
