"""The outside check: Tillhub's unmodified JavaScript SDK (@tillhub/javascript-sdk 4.x, from the
npm registry) drives a real Hookline web server (gunicorn on the test database) with a real
worker delivering to a local receiver: login, create, list with cursors, update, regenerate the
secret, test events, list events with their attempts, replay, delete.

Skipped, saying why, when node or npm is missing or the SDK cannot be installed."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import wait_until
from tests.settings import TEST_ENVIRONMENT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SDK_PACKAGE = "@tillhub/javascript-sdk@4"
# Installed once per machine, outside the repository (node_modules is never committed).
SDK_FOLDER = Path(os.environ.get("HOOKLINE_TILLHUB_SDK_DIR", "/tmp/hookline-tillhub-sdk-4"))
CHECK_SCRIPT = Path(__file__).parent / "sdk" / "check.js"
ROOT = Path(__file__).resolve().parents[3]
# npm install of the SDK and its dependencies, seconds: minutes on a slow mirror, never forever.
NPM_INSTALL_TIMEOUT_SECONDS = 300
# The whole SDK session (about 30 requests and two deliveries), seconds.
SDK_RUN_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def sdk_folder() -> Path:
    """The folder whose node_modules holds the SDK; pytest.skip when it cannot be had (before
    any process is started)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: the outside check with Tillhub's SDK needs it")
    if (SDK_FOLDER / "node_modules" / "@tillhub" / "javascript-sdk").is_dir():
        return SDK_FOLDER
    SDK_FOLDER.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(SDK_FOLDER), SDK_PACKAGE],
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {SDK_PACKAGE} took over {NPM_INSTALL_TIMEOUT_SECONDS} s")
    if result.returncode != 0:
        reason = next(
            (line for line in result.stderr.splitlines() if "404" in line or "ERR" in line),
            result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output",
        )
        pytest.skip(f"npm could not install {SDK_PACKAGE}: {reason}")
    return SDK_FOLDER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web_server():
    """gunicorn serving config.wsgi on the test database; yields its base URL."""
    params = connection.settings_dict
    database_url = (
        f"postgres://{params.get('USER') or 'postgres'}@{params.get('HOST') or '127.0.0.1'}:"
        f"{params.get('PORT') or 5432}/{params['NAME']}"
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            **TEST_ENVIRONMENT,
            "DATABASE_URL": database_url,
            # The test settings: the test users' passwords are hashed with their hasher.
            "DJANGO_SETTINGS_MODULE": "tests.settings",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(answers, timeout=30, interval=0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_unmodified_sdk_manages_webhooks_and_events(
    sdk_folder, stack, tenant, receiver, web_server
):
    # when
    started = time.monotonic()
    result = subprocess.run(
        ["node", str(CHECK_SCRIPT), web_server, "acme", "pw-123456789", receiver.url()],
        capture_output=True,
        text=True,
        timeout=SDK_RUN_TIMEOUT_SECONDS,
        env={**os.environ, "NODE_PATH": str(sdk_folder / "node_modules")},
    )

    # then
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["user"] == str(tenant.account.id)
    assert seen["created"]["eventList"] == ["products.create.v0", "customers.update.v0"]
    assert [len(page) for page in seen["pages"]] == [2, 2, 1]
    assert len({webhook for page in seen["pages"] for webhook in page}) == 5
    assert seen["put"]["description"] == "changed by the SDK"
    assert seen["put"]["maxInFlight"] is None
    assert seen["fetched"]["url"] == receiver.url()
    assert seen["secret"] and seen["secret"] != seen["created"]["secret"]
    assert seen["testStatus"] == 200 and len(seen["testEvents"]) == 2
    assert len(seen.get("listedEvents") or []) == 2, "the test events were not delivered"
    assert all(len(event["children"]) >= 1 for event in seen["listedEvents"])
    assert seen["oneEvent"]["id"] == seen["testEvents"][0]
    assert seen["replayAll"]["count"] == 2 and seen["replayOne"]["count"] == 1
    assert seen["afterDelete"] == 0
    assert {json.loads(request.body)["event_id"] for request in receiver.requests} == set(
        seen["testEvents"]
    )
    assert time.monotonic() - started < SDK_RUN_TIMEOUT_SECONDS
