"""The web tier started exactly as production starts it: docker-compose.yml's `web` command,
bound to a free port on 127.0.0.1, with the test settings."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.settings import TEST_ENVIRONMENT
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def production_web_command() -> list[str]:
    """docker-compose.yml's web command, as a list of arguments."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return list(compose["services"]["web"]["command"])


def bound_locally(command: list[str], port: int, bin_folder: Path) -> list[str]:
    """The same command with its executable from `bin_folder` and `--bind 127.0.0.1:port`."""
    arguments = list(command)
    arguments[0] = str(bin_folder / arguments[0])
    bind = arguments.index("--bind")
    arguments[bind + 1] = f"127.0.0.1:{port}"
    return arguments


class WebServer:
    """A web server process of ours; `close()` stops it (the whole process group)."""

    def __init__(
        self,
        environment: dict[str, str],
        command: list[str] | None = None,
        bin_folder: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkdtemp(prefix="hookline-web-")) / "web.log"
        self.arguments = bound_locally(
            command or production_web_command(),
            self.port,
            bin_folder or Path(sys.executable).parent,
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.arguments,
                cwd=ROOT,
                env={
                    **os.environ,
                    **TEST_ENVIRONMENT,
                    "DJANGO_SETTINGS_MODULE": "config.settings",
                    **environment,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_serving(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web server exited: {self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # it answers; what it answers is for the test to judge
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"web server not serving after {timeout} s: {self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
        shutil.rmtree(self.log_path.parent, ignore_errors=True)
