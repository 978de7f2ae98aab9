"""The case domain's models; `from cases.models import X` works for every model and enum.

- `status`: statuses, priorities and the predicates that guard transitions
- `case`: the case and its state machine (transition methods set fields only)
- `thread`: messages and attachments
- `history`: the append-only `CaseEvent` and the invariant watermarks
- `outbox`: one `Notification` row per email to send
- `inbound`: the record of each email received
- `participants`: colleagues a case is shared with
- `macros`: canned replies engineers insert on the case page
- `service_levels`: priorities, plans and what each plan promises per priority
"""

from cases.models.base import AppendOnlyQuerySet, UndeletableModel, UndeletableQuerySet
from cases.models.case import (
    CUSTOMER_TRANSITIONS,
    Case,
    CaseQuerySet,
    customer_transitions_by_status,
)
from cases.models.history import CaseEvent, InvariantWatermark
from cases.models.inbound import InboundEmail, InboundOutcome, InboundReason
from cases.models.macros import Macro, MacroAction, MacroQuerySet
from cases.models.outbox import Notification, NotificationKind, NotificationState
from cases.models.participants import CaseParticipant
from cases.models.service_levels import (
    OPEN_OUTCOMES,
    Coverage,
    Plan,
    PlanTarget,
    PriorityLevel,
    ResponseTarget,
    TargetKind,
    TargetOutcome,
)
from cases.models.status import (
    CUSTOMER_RESOLVABLE_STATUSES,
    OPEN_STATUSES,
    STATUS_INFO,
    WORKING_STATUSES,
    Actor,
    InfoRequestKind,
    Priority,
    Rating,
    Status,
    StatusInfo,
    can_work_cases,
    is_case_customer,
    is_customer_or_engineer,
    is_engineer,
    is_scheduler,
)
from cases.models.thread import Attachment, Message, MessageSource, attachment_upload_to

__all__ = [
    "Macro",
    "MacroAction",
    "MacroQuerySet",
    "CaseParticipant",
    "Coverage",
    "OPEN_OUTCOMES",
    "ResponseTarget",
    "TargetKind",
    "TargetOutcome",
    "Plan",
    "PlanTarget",
    "PriorityLevel",
    "CUSTOMER_RESOLVABLE_STATUSES",
    "CUSTOMER_TRANSITIONS",
    "OPEN_STATUSES",
    "STATUS_INFO",
    "WORKING_STATUSES",
    "Actor",
    "AppendOnlyQuerySet",
    "Attachment",
    "Case",
    "CaseEvent",
    "CaseQuerySet",
    "InboundEmail",
    "InboundOutcome",
    "InboundReason",
    "InfoRequestKind",
    "InvariantWatermark",
    "Message",
    "MessageSource",
    "Notification",
    "NotificationKind",
    "NotificationState",
    "Priority",
    "Rating",
    "Status",
    "StatusInfo",
    "UndeletableModel",
    "UndeletableQuerySet",
    "attachment_upload_to",
    "can_work_cases",
    "customer_transitions_by_status",
    "is_case_customer",
    "is_customer_or_engineer",
    "is_engineer",
    "is_scheduler",
]
