"""One log record per recorded attempt, with the delivery's ids and outcome as fields.

Failed attempts are logged at INFO, successful ones at DEBUG (a busy worker makes thousands a
second). Each record carries `delivery_id`, `event_id`, `subscription_id`, `outcome`,
`attempt`, `status_code`, `error_kind` and `duration_ms` as attributes (`extra=`), so
`LOG_FORMAT=json` makes them fields of the line. Never a URL, header or response body: a URL's
query string or a response may hold a secret.
"""

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deliveries.services.recording import AttemptReport

attempt_logger = logging.getLogger("deliveries.attempts")


def delivery_log_fields(report: "AttemptReport") -> dict[str, object]:
    """The `extra=` of a log record about one attempt."""
    job, result = report.job, report.result
    return {
        "delivery_id": job.delivery_id,
        "event_id": str(job.event_id),
        "subscription_id": str(job.webhook_id),
        "outcome": report.verdict.outcome.value,
        "attempt": job.attempt_number,
        "status_code": result.status,
        "error_kind": result.error_kind.value if result.error_kind else None,
        "duration_ms": round(result.duration_ms, 1),
    }


def attempts_logged(reports: "list[AttemptReport]") -> None:
    """Log one recorded batch: failures at INFO, successes at DEBUG. The level is checked once
    per batch, so nothing is built when the records would be dropped."""
    if not attempt_logger.isEnabledFor(logging.INFO):
        return
    successes_too = attempt_logger.isEnabledFor(logging.DEBUG)
    for report in reports:
        succeeded = report.verdict.outcome.value == "success"
        if succeeded and not successes_too:
            continue
        fields = delivery_log_fields(report)
        attempt_logger.log(
            logging.DEBUG if succeeded else logging.INFO,
            "delivery %s attempt %s: %s%s",
            fields["delivery_id"],
            fields["attempt"],
            fields["outcome"],
            f" ({fields['error_kind']})" if fields["error_kind"] else "",
            extra=fields,
        )
