"""Statuses, their meaning for customers, and who may fire which transition.

The transitions themselves are methods of `Case` (`cases.models.case`); the predicates
here are their permissions, the one place that decides who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from cases.models.case import Case


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In Progress"
    PENDING_CUSTOMER = "pending_customer", "Pending Customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


@dataclass(frozen=True)
class StatusInfo:
    """What a status means to the customer: the help page and case pages read this."""

    status: Status
    meaning: str
    action: str
    action_required: bool

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def value(self) -> str:
        return self.status.value


# The words of the public help page (spec/case-statuses.txt), word for word.
STATUS_INFO: dict[str, StatusInfo] = {
    info.status.value: info
    for info in (
        StatusInfo(
            Status.NEW,
            meaning="Case received, not yet assigned",
            action="None — wait for assignment",
            action_required=False,
        ),
        StatusInfo(
            Status.OPEN,
            meaning="Assigned to an engineer, actively being worked",
            action="None — engineer is investigating",
            action_required=False,
        ),
        StatusInfo(
            Status.IN_PROGRESS,
            meaning="Engineer is actively working on a fix or investigation",
            action="None — updates coming",
            action_required=False,
        ),
        StatusInfo(
            Status.PENDING_CUSTOMER,
            meaning="Engineer needs more information from you",
            action="Yes — reply to unblock",
            action_required=True,
        ),
        StatusInfo(
            Status.RESOLVED,
            meaning="Issue has been fixed or answered",
            action="Confirm if it worked, or reopen",
            action_required=True,
        ),
        StatusInfo(
            Status.CLOSED,
            meaning="Case archived after resolution",
            action="Reopen if issue recurs",
            action_required=False,
        ),
    )
}

OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CUSTOMER)
# Where the customer may mark their case resolved: the pages offer the button here.
CUSTOMER_RESOLVABLE_STATUSES = OPEN_STATUSES
WORKING_STATUSES = (Status.OPEN, Status.IN_PROGRESS)


class Priority(models.IntegerChoices):
    P1 = 1, "P1 Critical"
    P2 = 2, "P2 High"
    P3 = 3, "P3 Normal"
    P4 = 4, "P4 Low"


class InfoRequestKind(models.TextChoices):
    """What an engineer asks for when moving a case to Pending Customer."""

    LOGS = "logs", "Additional logs or error output"
    STEPS = "steps", "Steps to reproduce the issue"
    CONFIGURATION = "configuration", "Confirmation of your current configuration"
    APPROVAL = "approval", "Approval to make a change on your behalf"


class Rating(models.TextChoices):
    """The answer to "Did this solve your problem?" given with Confirm it worked."""

    GOOD = "good", "Yes, it solved my problem"
    BAD = "bad", "No, not really"


class Actor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ENGINEER = "engineer", "Engineer"
    SCHEDULER = "scheduler", "Scheduler"


# --- Permission predicates for transitions (checked by services) ---------------------


def is_engineer(instance: Case, user) -> bool:
    return bool(user and user.is_authenticated and user.is_support_engineer)


def is_case_customer(instance: Case, user) -> bool:
    return bool(user and user.is_authenticated and instance.is_customer(user))


def is_customer_or_engineer(instance: Case, user) -> bool:
    return is_case_customer(instance, user) or is_engineer(instance, user)


def can_work_cases(user) -> bool:
    """May work cases (replies, notes, transitions): the admin's workbench and replies by
    email ask this same question."""
    return bool(
        user
        and user.is_authenticated
        and user.is_support_engineer
        and user.has_perm("cases.work_case")
    )


def is_scheduler(instance: Case, user) -> bool:
    # The scheduler acts as nobody.
    return user is None
