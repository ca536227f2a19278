"""Production settings (SPEC 7) and the logs of the development default, each checked in a
process of its own with the environment it is about."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Test stand-ins for what docker-compose.yml requires from the operator (${NAME:?...}).
OPERATOR_SUPPLIED = {
    "SECRET_KEY": "k3Yq-7vPz!tR9wLm2sXc4eBn8hJd6fGa1uQo5iKy0TrEw3ZxCvB",
    "FIELD_ENCRYPTION_KEY": "2Cz1b0m8H6C1wG0kqgj7o4T0bq2oSK5mSCe6y0ZB0pM=",
}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[?-])(?P<rest>[^}]*))?\}")


def _interpolated(value: object) -> str:
    """docker compose's ${NAME:-default} and ${NAME:?message}, with the operator's values."""

    def substitute(match: re.Match[str]) -> str:
        if match["kind"] == "-":
            return match["rest"]
        return OPERATOR_SUPPLIED[match["name"]]

    return _VARIABLE.sub(substitute, str(value))


def _compose_environment(service: str) -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = compose["services"][service]["environment"]
    return {name: _interpolated(value) for name, value in environment.items()}


def _without_our_settings() -> dict[str, str]:
    """This process's environment less every setting of ours, so only what a test sets counts."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("WEBHOOK_", "SECURE_", "CSRF_", "SESSION_", "DJANGO_"))
        and name not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }


def test_check_deploy_finds_nothing_with_the_production_values(tmp_path):
    # given: the web service's environment from docker-compose.yml
    environment = {
        **_without_our_settings(),
        **_compose_environment("web"),
        "HOOKLINE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The compose volume's path does not exist here; the metrics files go to a temp dir.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    assert environment["DEBUG"] == "false"

    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_development_default_logs_a_404_once_and_no_kombu_hostname_warning(tmp_path):
    # given: `make run`'s embedded default (SQLite, the filesystem broker) under DEBUG
    environment = {
        **_without_our_settings(),
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver",
        "HOOKLINE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hookline.sqlite3'}",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    script = """
import django
django.setup()
from django.test import Client
assert Client().get("/no-such-page-for-the-log-test/").status_code == 404
from config.celery import app
with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
    connection.clone().info()
"""

    # when
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # then
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.count("Not Found: /no-such-page-for-the-log-test/") == 1, output
    assert "No hostname was supplied" not in output, output
