"""OpenTelemetry traces: off unless OTEL_EXPORTER_OTLP_ENDPOINT (the OTLP/HTTP collector) or
TRACING_EXPORT_FILE (spans as JSON lines, for tests and debugging) is set.

One trace per published event: the publish request (Django's span), a `hookline.publish`
span under it, and under that every attempt of the event's deliveries. The dispatcher works
in batches on a thread of its own, so an attempt's parent cannot be the current context:
the publish span's context (W3C `traceparent`) is kept in the cache, keyed by the event id,
for TRACE_CONTEXT_SECONDS, and each recorded batch reads its events' contexts in one
`get_many`. A batch gets a `hookline.dispatch.batch` span linked to the publish spans of its
events; each attempt's span is a child of its publish span and links to its batch. Attempt
spans are made when the batch is recorded, with the attempt's own start and duration.

With tracing off every entry point returns after one test of a module global: nothing is
stored, read or created.
"""

import json
import logging
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from deliveries.services.recording import AttemptReport

logger = logging.getLogger(__name__)

# Seconds a publish's trace context is kept for its attempts: a day covers the first attempt
# and the first several retries (SPEC 3's backoff reaches hours after a handful); later
# attempts start traces of their own, still carrying the delivery and event ids.
TRACE_CONTEXT_SECONDS = 86400
_CONTEXT_KEY_PREFIX = "hookline:trace:"

_tracer: Tracer | None = None
_tracer_pid: int | None = None
_propagator = TraceContextTextMapPropagator()


class ParentlessClientSpansDropped(Sampler):
    """Root sampler: a client span (a database query, an outgoing request) with no parent is
    not recorded. The dispatcher polls the database on threads of its own, outside any
    trace; each poll would otherwise make a trace of its own, drowning the useful ones."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)

    def get_description(self) -> str:
        return "ParentlessClientSpansDropped"


class JsonLinesFileExporter(SpanExporter):
    """Appends each span as one JSON line to a file (several processes may share it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(json.loads(span.to_json())) + "\n" for span in spans)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def tracing_enabled() -> bool:
    return _tracer is not None and _tracer_pid == os.getpid()


def tracing_init(*, service_name: str, web: bool) -> bool:
    """Start tracing in this process when OTEL_EXPORTER_OTLP_ENDPOINT or TRACING_EXPORT_FILE
    is set; returns whether it is on. Call once per process, after a fork (a prefork worker's
    child, a gunicorn worker) and before Django loads its middleware (`web`: instrument
    Django too). The instrumentations: Django, Celery, psycopg2, aiohttp's client."""
    global _tracer, _tracer_pid
    if tracing_enabled():
        return True
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    export_file = settings.TRACING_EXPORT_FILE
    if not endpoint and not export_file:
        return False
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(root=ParentlessClientSpansDropped()),
    )
    if export_file:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesFileExporter(export_file)))
    else:
        # Reads OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_EXPORTER_OTLP_* variables).
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if web:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    # psycopg2-binary is the installed distribution; the dependency check looks for psycopg2.
    Psycopg2Instrumentor().instrument(skip_dep_check=True)
    AioHttpClientInstrumentor().instrument()
    _tracer = trace.get_tracer("hookline")
    _tracer_pid = os.getpid()
    logger.info("tracing on (%s)", "file" if export_file else "OTLP")
    return True


def publish_traced(*, event_ids: Sequence[object], keys: Sequence[str], deliveries: int) -> None:
    """A `hookline.publish` span under the current one (the publish request's), and its
    context kept for the events' attempts. Nothing when tracing is off."""
    if not tracing_enabled():
        return
    assert _tracer is not None
    with _tracer.start_as_current_span(
        "hookline.publish",
        attributes={
            "hookline.event.id": [str(event_id) for event_id in event_ids[:10]],
            "hookline.event.key": sorted(set(keys)),
            "hookline.event.count": len(event_ids),
            "hookline.deliveries": deliveries,
        },
    ):
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
    traceparent = carrier.get("traceparent")
    if not traceparent:
        return
    try:
        cache.set_many(
            {
                f"{_CONTEXT_KEY_PREFIX}{event_id}": f"{traceparent} {key}"
                for event_id, key in zip(event_ids, keys, strict=True)
            },
            TRACE_CONTEXT_SECONDS,
        )
    except Exception:
        # A trace without its attempts is no reason to fail a publish.
        logger.warning("could not keep the publish's trace context", exc_info=True)


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def attempts_traced(reports: "list[AttemptReport]") -> None:
    """Spans for one recorded batch of attempts (see the module's docstring). Nothing when
    tracing is off."""
    if not tracing_enabled() or not reports:
        return
    assert _tracer is not None
    try:
        stored = cache.get_many({f"{_CONTEXT_KEY_PREFIX}{r.job.event_id}" for r in reports})
    except Exception:
        logger.warning("could not read the publishes' trace contexts", exc_info=True)
        stored = {}
    publishes: dict[str, tuple[Context, str]] = {}
    for cache_key, value in stored.items():
        traceparent, _, key = str(value).partition(" ")
        publishes[cache_key[len(_CONTEXT_KEY_PREFIX) :]] = (
            _propagator.extract({"traceparent": traceparent}),
            key,
        )
    publish_links = [
        Link(trace.get_current_span(context).get_span_context())
        for context, _key in publishes.values()
    ]
    batch = _tracer.start_span(
        "hookline.dispatch.batch",
        context=Context(),
        start_time=min(_nanoseconds(r.started_at) for r in reports),
        links=publish_links,
        attributes={"hookline.batch.size": len(reports)},
    )
    batch_link = [Link(batch.get_span_context())]
    for report in reports:
        job, result = report.job, report.result
        context, key = publishes.get(str(job.event_id), (Context(), ""))
        started = _nanoseconds(report.started_at)
        outcome = report.verdict.outcome.value
        attributes: dict[str, Any] = {
            "hookline.delivery.id": job.delivery_id,
            "hookline.event.id": str(job.event_id),
            "hookline.event.key": key,
            "hookline.subscription.id": str(job.webhook_id),
            "hookline.attempt.number": job.attempt_number,
            "hookline.attempt.outcome": outcome,
        }
        if result.status is not None:
            attributes["http.response.status_code"] = result.status
        if result.error_kind is not None:
            attributes["hookline.attempt.error_kind"] = result.error_kind.value
        span = _tracer.start_span(
            "hookline.delivery.attempt",
            context=context,
            start_time=started,
            links=batch_link,
            attributes=attributes,
        )
        if outcome != "success":
            span.set_status(Status(StatusCode.ERROR, outcome))
        span.end(end_time=started + int(result.duration_ms * 1_000_000))
    batch.end()
