"""The pieces that shape data for the pages: the volume chart, colours and formats."""

from datetime import UTC, datetime, timedelta

from dashboard.charts import volume_chart
from dashboard.inspection import pretty_body, state_colour
from dashboard.templatetags.dashboard_tags import ago, milliseconds, percent
from deliveries.models import Delivery

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_the_chart_has_a_bar_for_every_bucket_of_the_window_empty_ones_included():
    # given: attempts in two of the last five minutes
    volume = [
        {"start": T0 + timedelta(minutes=1), "succeeded": 3, "failed": 1},
        {"start": T0 + timedelta(minutes=3), "succeeded": 0, "failed": 2},
    ]

    # when
    chart = volume_chart(
        volume=volume,
        since=T0 + timedelta(seconds=30),
        until=T0 + timedelta(minutes=4, seconds=30),
        bucket_seconds=60,
    )

    # then
    assert [bar.start for bar in chart.bars] == [T0 + timedelta(minutes=m) for m in range(5)]
    assert [(bar.succeeded, bar.failed) for bar in chart.bars] == [
        (0, 0),
        (3, 1),
        (0, 0),
        (0, 2),
        (0, 0),
    ]
    tallest = chart.bars[1]
    assert tallest.succeeded_height + tallest.failed_height == chart.plot_height
    assert tallest.failed_y + tallest.failed_height == tallest.succeeded_y
    assert chart.bars[3].failed_height == chart.plot_height / 2
    assert (chart.total_succeeded, chart.total_failed) == (3, 3)
    assert [label.text for label in chart.count_labels] == ["0", "4", "2"]
    assert chart.time_labels[0].text == "12:00"


def test_an_empty_window_draws_empty_bars_and_says_so():
    chart = volume_chart(volume=[], since=T0, until=T0 + timedelta(days=7), bucket_seconds=86400)

    assert len(chart.bars) == 8
    assert all(bar.succeeded_height == bar.failed_height == 0 for bar in chart.bars)
    assert chart.empty
    assert len(chart.time_labels) <= 6
    assert chart.time_labels[0].text == "May 01"


def test_each_state_has_the_colour_of_the_spec():
    colours = {state: state_colour(state) for state in Delivery.State.values}

    assert colours == {
        "succeeded": "success",
        "failed": "failure",
        "gave_up": "failure",
        "expired": "failure",
        "pending": "waiting",
        "sending": "waiting",
        "paused": "waiting",
    }


def test_bodies_are_pretty_printed_when_they_are_json():
    assert pretty_body(b'{"a":{"b":[1,2]},"c":"\xc3\xa4"}') == (
        '{\n  "a": {\n    "b": [\n      1,\n      2\n    ]\n  },\n  "c": "ä"\n}'
    )
    assert pretty_body("<h1>Bad Gateway</h1>") == "<h1>Bad Gateway</h1>"


def test_formats():
    assert percent(None) == "—"
    assert percent(0.98765) == "98.8 %"
    assert milliseconds(None) == "—"
    assert milliseconds(4.25) == "4.2 ms"
    assert milliseconds(1234.5) == "1,234 ms"
    assert ago(None) == "never"
    assert ago(datetime.now(UTC) - timedelta(seconds=5)) == "just now"
    assert ago(datetime.now(UTC) - timedelta(minutes=3, seconds=5)) == "3\xa0minutes ago"
