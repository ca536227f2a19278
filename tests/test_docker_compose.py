import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_describes_the_production_shape():
    # given
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

    # then
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "scheduler"} <= set(services)
    assert services["web"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["scheduler"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in ("web", "worker", "scheduler"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://")


def test_compose_file_parses_with_docker_compose_where_available():
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("no docker compose client here; the YAML check covers the file")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"SECRET_KEY": "x", "FIELD_ENCRYPTION_KEY": "y", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
