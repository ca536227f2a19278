"""The geometry of the volume chart: stacked bars of successful and failed attempts per time
bucket, drawn by a template as inline SVG (no chart library, nothing loaded from elsewhere)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Drawing area in SVG user units; the SVG scales to its container's width.
WIDTH = 1200
HEIGHT = 220
LEFT = 44  # room for the count labels
RIGHT = 8
TOP = 12
BOTTOM = 26  # room for the time labels
# Gap between bars as a fraction of a bucket's width: bars stay apart even at 60 buckets.
BAR_GAP = 0.2
# Time labels along the x axis: a handful stay readable at any bucket count.
MAX_TIME_LABELS = 6


@dataclass(frozen=True)
class VolumeBar:
    start: datetime
    end: datetime
    succeeded: int
    failed: int
    x: float
    width: float
    succeeded_y: float
    succeeded_height: float
    failed_y: float
    failed_height: float


@dataclass(frozen=True)
class AxisLabel:
    position: float
    text: str


@dataclass(frozen=True)
class VolumeChart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    bars: list[VolumeBar]
    count_labels: list[AxisLabel]
    time_labels: list[AxisLabel]
    total_succeeded: int
    total_failed: int
    bucket_seconds: int

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def empty(self) -> bool:
        return self.total_succeeded + self.total_failed == 0


def _bucket_start(moment: datetime, bucket_seconds: int) -> datetime:
    # Buckets are truncated in UTC by the database (TruncMinute/Hour/Day), so a floor of the
    # Unix time to the bucket size lands on the same starts.
    stamp = int(moment.timestamp()) // bucket_seconds * bucket_seconds
    return datetime.fromtimestamp(stamp, tz=UTC)


def _time_format(bucket_seconds: int) -> str:
    return "%b %d" if bucket_seconds >= 86400 else "%H:%M"


def volume_chart(
    *, volume: list[dict[str, Any]], since: datetime, until: datetime, bucket_seconds: int
) -> VolumeChart:
    """Returns one bar per bucket from `since` to `until`, empty buckets included."""
    counts = {
        _bucket_start(row["start"], bucket_seconds): (row["succeeded"], row["failed"])
        for row in volume
    }
    step = timedelta(seconds=bucket_seconds)
    starts = []
    start = _bucket_start(since, bucket_seconds)
    while start <= until:
        starts.append(start)
        start += step
    plot_right = WIDTH - RIGHT
    plot_bottom = HEIGHT - BOTTOM
    plot_height = plot_bottom - TOP
    slot = (plot_right - LEFT) / max(len(starts), 1)
    highest = max((sum(pair) for pair in counts.values()), default=0)
    scale_max = max(highest, 1)
    bars = []
    for index, start in enumerate(starts):
        succeeded, failed = counts.get(start, (0, 0))
        succeeded_height = plot_height * succeeded / scale_max
        failed_height = plot_height * failed / scale_max
        x = LEFT + index * slot + slot * BAR_GAP / 2
        bars.append(
            VolumeBar(
                start=start,
                end=start + step,
                succeeded=succeeded,
                failed=failed,
                x=round(x, 2),
                width=round(slot * (1 - BAR_GAP), 2),
                succeeded_y=round(plot_bottom - succeeded_height, 2),
                succeeded_height=round(succeeded_height, 2),
                failed_y=round(plot_bottom - succeeded_height - failed_height, 2),
                failed_height=round(failed_height, 2),
            )
        )
    count_labels = [AxisLabel(position=plot_bottom, text="0")]
    if highest:
        count_labels.append(AxisLabel(position=TOP, text=str(highest)))
        if highest >= 2:
            count_labels.append(AxisLabel(position=TOP + plot_height / 2, text=f"{highest / 2:g}"))
    every = max(1, -(-len(starts) // MAX_TIME_LABELS))
    time_format = _time_format(bucket_seconds)
    time_labels = [
        AxisLabel(position=round(bar.x + bar.width / 2, 2), text=bar.start.strftime(time_format))
        for bar in bars[::every]
    ]
    return VolumeChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=plot_right,
        top=TOP,
        bottom=plot_bottom,
        bars=bars,
        count_labels=count_labels,
        time_labels=time_labels,
        total_succeeded=sum(pair[0] for pair in counts.values()),
        total_failed=sum(pair[1] for pair in counts.values()),
        bucket_seconds=bucket_seconds,
    )
