"""The README's commands run as written from a fresh clone, after the `.env` that `make run`
leaves (SPEC 6): the ones that need no long-running platform, taken from the README's own code
blocks so that the README cannot drift from what works."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import free_port

ROOT = Path(__file__).resolve().parent.parent
# Seconds any one README command may take here (migrate on SQLite is the slowest, a few s).
COMMAND_TIMEOUT_SECONDS = 120
# What a newcomer's shell does not have: the test suite's own settings.
TEST_ONLY_VARIABLES = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
SETTINGS_PREFIXES = ("WEBHOOK_", "DATABASE_", "REDIS_", "CELERY_", "HOOKLINE_")
SETTINGS_NAMES = ("DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "LOG_LEVEL", "ALLOWED_HOSTS")


def newcomer_environment() -> dict[str, str]:
    """This process's environment without the test suite's settings: a newcomer's shell."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in TEST_ONLY_VARIABLES
        and name not in SETTINGS_NAMES
        and not name.startswith(SETTINGS_PREFIXES)
    }


def fresh_clone(destination: Path) -> Path:
    """`git clone` of this repository into `destination`, with the working tree's uncommitted
    changes laid over it (so the test sees the code under test); ignored files such as `.env`,
    `var/` and `.venv/` are not copied. Returns the clone's root."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(destination)], check=True)

    def listed(*command: str) -> set[str]:
        output = subprocess.run(
            ["git", *command, "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        return {name for name in output.split("\0") if name}

    # Against HEAD, not the index: staged changes count too.
    deleted = listed("diff", "--name-only", "--no-renames", "--diff-filter=D", "HEAD")
    changed = listed("diff", "--name-only", "--no-renames", "HEAD") - deleted
    untracked = listed("ls-files", "--others", "--exclude-standard")
    for name in deleted:
        (destination / name).unlink(missing_ok=True)
    for name in changed | untracked:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return destination


def readme_commands(readme: Path) -> list[str]:
    """Every `python manage.py …` line of the README's shell code blocks, continuation lines
    joined, comments and a trailing `&` removed."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", readme.read_text(), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip().removesuffix("&").strip()
            if line.startswith(("python manage.py ", ".venv/bin/python manage.py ")):
                commands.append(" ".join(line.split()))
    return commands


def readme_command(commands: list[str], starts_with: str) -> list[str]:
    """The README's one command line that starts with `starts_with`, as arguments with the
    virtualenv's interpreter in place of `python`."""
    matching = [
        command
        for command in commands
        if command.removeprefix(".venv/bin/").startswith(f"python manage.py {starts_with}")
    ]
    assert matching, f"the README has no `python manage.py {starts_with}...` example any more"
    return [sys.executable, *shlex.split(matching[0])[1:]]


def with_option(arguments: list[str], option: str, value: str) -> list[str]:
    """`arguments` with `option`'s value replaced (or the option added)."""
    if option in arguments:
        changed = list(arguments)
        changed[changed.index(option) + 1] = value
        return changed
    return [*arguments, option, value]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh clone with the `.env` that `make run` writes (SQLite, filesystem broker),
    migrated the way `make run` migrates."""
    root = fresh_clone(tmp_path_factory.mktemp("readme") / "hookline")
    environment = newcomer_environment()
    subprocess.run(
        [sys.executable, "scripts/run_all.py", "--write-env-only"],
        cwd=root,
        env=environment,
        check=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=root,
        env=environment,
        check=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )
    yield root


def run(clone: Path, arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments,
        cwd=clone,
        env=newcomer_environment(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )


def test_env_written_like_make_run_has_what_the_commands_need(clone):
    env_file = (clone / ".env").read_text()

    assert re.search(r"^SECRET_KEY=\S{40,}$", env_file, flags=re.MULTILINE)
    assert "DEBUG=true" in env_file
    assert f"DATABASE_URL=sqlite:///{clone}/var/hookline.sqlite3" in env_file
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in env_file
    assert (clone / ".env").stat().st_mode & 0o077 == 0  # it holds SECRET_KEY
    ignored = subprocess.run(["git", "check-ignore", ".env"], cwd=clone, capture_output=True)
    assert ignored.returncode == 0


def test_createaccount_prints_a_token_and_runs_again(clone):
    # given
    command = readme_command(readme_commands(clone / "README.md"), "createaccount")

    # when
    first, again = run(clone, command), run(clone, command)

    # then
    assert first.returncode == 0, first.stderr
    assert re.search(r"\b[0-9a-f]{40}\b", first.stdout), first.stdout
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


def test_receiver_preflight_and_loadtest_as_the_readme_shows(clone):
    # given: the README's receiver, on a free port instead of the README's own
    commands = readme_commands(clone / "README.md")
    port = str(free_port())
    receiver_help = run(clone, [*readme_command(commands, "receiver")[:3], "--help"])
    assert receiver_help.returncode == 0, receiver_help.stderr
    assert "--secret" in receiver_help.stdout
    receiver_command = readme_command(commands, "receiver --port 9000 --secret")
    receiver = subprocess.Popen(
        with_option(receiver_command, "--port", port),
        cwd=clone,
        env=newcomer_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        assert "receiver listening" in receiver.stdout.readline()

        # when: the pre-flight check and a one-second load test against it
        preflight = run(
            clone,
            [
                argument.replace(":9000/", f":{port}/")
                for argument in readme_command(commands, "preflight http://127.0.0.1:9000")
            ],
        )
        loadtest = readme_command(commands, "loadtest --url http://127.0.0.1:9000")
        loadtest = [argument.replace(":9000/", f":{port}/") for argument in loadtest]
        loadtest = with_option(with_option(loadtest, "--duration", "1"), "--rate", "5")
        loadtest = with_option(with_option(loadtest, "--json", "-"), "--drain-seconds", "1")
        load = run(clone, loadtest)
    finally:
        receiver.send_signal(signal.SIGINT)
        receiver.wait(timeout=30)

    # then: every check passed (signed with the README's secret), and the load test published
    # (no worker runs here, so nothing is delivered: the report says so)
    assert preflight.returncode == 0, preflight.stdout + preflight.stderr
    assert load.returncode == 0, load.stdout + load.stderr
    assert '"events_published": 5' in load.stdout
    assert "no successful delivery" in load.stderr
    assert not (clone / "control").exists()
