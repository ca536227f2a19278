"""The benchmark's smoke mode runs in the suite so that it cannot rot; speed is judged by the
full benchmark (bench/run.py), never here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker
def test_benchmark_smoke_mode_runs_every_scenario(tmp_path):
    # when
    result = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke", "--results", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=600,
    )

    # then
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in (
        "1 throughput",
        "1a ratio to raw",
        "1b ratio to task-per-delivery",
        "3 latency",
        "3b ratio to fast receiver",
        "4 ratio to scenario 1",
        "5 ratio",
        "7 ratio 2 / 1 processes",
        "8 ratio to PostgreSQL (scenario 1)",
        "CPU by role",
        "throughput-fast ",
        "raw baseline ",
        "sqlite (embedded) ",
    ):
        assert row in result.stdout
    # The figures as JSON and the chart as PNG, in the folder asked for.
    (figures_path,) = tmp_path.glob("run-*.json")
    figures = json.loads(figures_path.read_text())
    assert figures["throughput_sqlite"] > 0
    assert {"throughput-fast", "raw baseline", "sqlite (embedded)"} <= set(figures["timelines"])
    (chart,) = tmp_path.glob("run-*.png")
    assert chart.read_bytes().startswith(b"\x89PNG")
