"""Use cases, one function each, grouped by who acts; `services.case_reply(...)` works.

- `customer`: open, reply, approve, confirm, close and reopen (the last two serve
  engineers too)
- `engineer`: assign, take, start work, request information, resolve, notes, details
- `scheduler`: automatic close, reminders, daily digests and the service-level warnings
  and escalations (run by `cases.tasks`)
- `macros`: counting a canned reply's use when it is sent
- `participants`: sharing a case with colleagues, removing them, and someone leaving
  their organisation
- `common`: locking, applying a transition with its history entry, messages, notifying
"""

from cases.services.customer import (
    case_answer_approval,
    case_close,
    case_confirm_resolution,
    case_follow_up_by_email,
    case_mark_resolved,
    case_open,
    case_reopen,
    case_reply,
    case_reply_thanks,
)
from cases.services.engineer import (
    case_add_internal_note,
    case_assign,
    case_give_to,
    case_reassign,
    case_request_info,
    case_resolve,
    case_start_work,
    case_update_details,
)
from cases.services.macros import macro_used
from cases.services.participants import (
    case_add_participants,
    case_remove_participant,
    person_left,
)
from cases.services.scheduler import (
    ServiceLevelCheck,
    case_auto_close,
    case_hold_auto_close,
    check_service_levels,
    close_stale_cases,
    send_daily_digests,
    send_due_reminders,
)

__all__ = [
    "macro_used",
    "ServiceLevelCheck",
    "case_add_internal_note",
    "case_add_participants",
    "case_answer_approval",
    "case_assign",
    "case_auto_close",
    "case_close",
    "case_confirm_resolution",
    "case_follow_up_by_email",
    "case_give_to",
    "case_hold_auto_close",
    "case_mark_resolved",
    "case_open",
    "case_reassign",
    "case_remove_participant",
    "case_reopen",
    "case_reply",
    "case_reply_thanks",
    "case_request_info",
    "case_resolve",
    "case_start_work",
    "case_update_details",
    "check_service_levels",
    "close_stale_cases",
    "person_left",
    "send_daily_digests",
    "send_due_reminders",
]
