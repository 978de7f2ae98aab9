"""The email outbox; `from cases import outbox; outbox.queue(...)` works.

- `triggers`: what each change emails (rows written in the change's transaction) and the
  hand-over to the workers after commit
- `emails`: the email a row becomes (subjects, bodies, links, dates)
- `delivery`: claim, send and record the outcome exactly once; the relay of lost rows
- `addresses`: reply addresses and Message-IDs
"""

from cases.outbox.addresses import message_id_for, parse_reply_address, reply_address
from cases.outbox.delivery import (
    MAX_ATTEMPTS,
    DeliveryResult,
    Outcome,
    backoff_seconds,
    deliver,
    deliver_many,
    is_permanent,
    relay_grace,
    relay_unsent,
    stale_sending_after,
)
from cases.outbox.emails import build_email, closes_at, digest_context, email_context
from cases.outbox.triggers import (
    SEND_BATCH_SIZE,
    SUBJECTS,
    engineers,
    enqueue,
    enqueue_many,
    is_obsolete,
    obsolete_reason,
    oncall_recipients,
    queue,
    queue_daily_digests,
    queue_many,
    queue_new_case_alert,
    queue_reminder,
    queue_service_level_alerts,
    service_level_key,
)

__all__ = [
    "MAX_ATTEMPTS",
    "relay_grace",
    "SEND_BATCH_SIZE",
    "stale_sending_after",
    "SUBJECTS",
    "DeliveryResult",
    "Outcome",
    "backoff_seconds",
    "build_email",
    "closes_at",
    "deliver",
    "deliver_many",
    "digest_context",
    "email_context",
    "engineers",
    "enqueue",
    "enqueue_many",
    "is_obsolete",
    "is_permanent",
    "message_id_for",
    "obsolete_reason",
    "oncall_recipients",
    "parse_reply_address",
    "queue",
    "queue_daily_digests",
    "queue_many",
    "queue_new_case_alert",
    "queue_reminder",
    "queue_service_level_alerts",
    "service_level_key",
    "relay_unsent",
    "reply_address",
]
