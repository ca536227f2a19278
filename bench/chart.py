"""The benchmark's chart: throughput over time for each scenario, the raw baseline beside them
(bench/run.py writes it as a PNG next to the JSON figures)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

# Seconds over which the delivered count is differenced into a rate: long enough to smooth
# the recorder's batches (every 50 ms) and the sampler's own jitter, short enough to show
# stalls.
RATE_WINDOW_SECONDS = 1.0


def rates(samples: list[list[float]]) -> tuple[list[float], list[float]]:
    """(seconds, deliveries/s) from cumulative [seconds, delivered] samples."""
    times, values = [], []
    start = 0
    for end in range(1, len(samples)):
        while samples[end][0] - samples[start][0] > RATE_WINDOW_SECONDS and start < end - 1:
            start += 1
        elapsed = samples[end][0] - samples[start][0]
        if elapsed > 0:
            times.append(samples[end][0])
            values.append((samples[end][1] - samples[start][1]) / elapsed)
    return times, values


def draw_chart(timelines: dict[str, list[list[float]]], path: Path, *, title: str) -> None:
    """Writes `path` (PNG): deliveries/s over time and deliveries recorded over time, one line
    per scenario; the raw baseline dashed."""
    figure, (rate_axes, total_axes) = plt.subplots(1, 2, figsize=(13, 5), dpi=100)
    for scenario, samples in timelines.items():
        if len(samples) < 2:
            continue
        style = {"linestyle": "--", "color": "black"} if scenario == "raw baseline" else {}
        times, values = rates(samples)
        rate_axes.plot(times, values, label=scenario, linewidth=1.2, **style)
        total_axes.plot(
            [t for t, _ in samples], [n for _, n in samples], label=scenario, linewidth=1.2, **style
        )
    rate_axes.set(
        xlabel="seconds since the scenario started",
        ylabel=f"deliveries/s ({RATE_WINDOW_SECONDS:g} s window)",
        title="Throughput over time",
    )
    total_axes.set(
        xlabel="seconds since the scenario started",
        ylabel="attempts recorded",
        title="Deliveries recorded",
    )
    for axes in (rate_axes, total_axes):
        axes.grid(alpha=0.3)
        axes.set_ylim(bottom=0)
        axes.set_xlim(left=0)
    rate_axes.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
