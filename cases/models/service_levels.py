"""The service-level policy, as data staff edit in the admin.

What each priority means (`PriorityLevel`), the plans organisations are on (`Plan`) and
what each plan promises per priority (`PlanTarget`): how soon the first response and
each next update come, and whether the clock runs around the clock or in business hours
only. The help centre's Case Priorities and Plan Comparison pages are drawn from these
rows, so a change here is what customers read. A plan without a target for a priority
means "no target"; an organisation without a plan is on the default plan.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MinValueValidator
from django.db import models

from cases.models.status import Priority


class PriorityLevel(models.Model):
    """What a priority means to customers, with examples from their own field."""

    priority = models.PositiveSmallIntegerField(choices=Priority, unique=True)
    definition = models.TextField(help_text="When to choose it, in one or two sentences.")
    examples = models.TextField(blank=True, help_text="One example per line.")

    class Meta:
        ordering = ["priority"]

    def __str__(self) -> str:
        return self.get_priority_display()

    @property
    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]


class PlanQuerySet(models.QuerySet):
    def default(self) -> Plan | None:
        return self.filter(is_default=True).first() or self.order_by("position", "pk").first()


class Plan(models.Model):
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Plans are listed in this order, cheapest first."
    )
    is_default = models.BooleanField(
        default=False, help_text="The plan of every organisation that has none of its own."
    )
    summary = models.CharField(max_length=200, blank=True)
    features = models.JSONField(
        default=dict,
        blank=True,
        help_text='Other things to compare, as {"Feature": "what this plan offers"}.',
    )

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="plan_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Coverage(models.TextChoices):
    ALWAYS = "24x7", "24×7"
    BUSINESS_HOURS = "business_hours", "Business hours"


class PlanTarget(models.Model):
    """What `plan` promises for cases of `priority`. Durations count only the hours the
    coverage covers: business hours are Monday to Friday, 09:00–17:00 in the
    organisation's time zone, less its public holidays."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="targets")
    priority = models.PositiveSmallIntegerField(choices=Priority)
    first_response = models.DurationField(
        validators=[MinValueValidator(timedelta(minutes=1))],
        help_text="From opening to the first public reply by an engineer.",
    )
    next_update = models.DurationField(
        validators=[MinValueValidator(timedelta(minutes=1))],
        help_text="From the customer's latest message to the next public reply.",
    )
    coverage = models.CharField(max_length=20, choices=Coverage, default=Coverage.BUSINESS_HOURS)

    class Meta:
        ordering = ["plan__position", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "priority"], name="plan_target_per_priority"),
            models.CheckConstraint(
                condition=models.Q(first_response__gt=timedelta(0))
                & models.Q(next_update__gt=timedelta(0)),
                name="plan_target_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan}, {self.get_priority_display()}"


# --- The clock on each case -------------------------------------------------------------


class TargetKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_UPDATE = "next_update", "Next update"


class TargetOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    # The case waits on the customer (Pending Customer, Resolved): the clock stands still.
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    MISSED = "missed", "Missed"
    # The case closed, or its plan has no target any more, before a reply was due.
    STOPPED = "stopped", "Stopped"


OPEN_OUTCOMES = (TargetOutcome.RUNNING, TargetOutcome.PAUSED)


class ResponseTarget(models.Model):
    """One promise on one case: a first response or a next update, and how it went.

    A case has at most one open (running or paused) target; `cases.service_levels` is
    the only code that writes these rows. The terms (plan, priority, coverage, covered
    time promised) are copied at the start and whenever they change, so the report reads
    what was promised at the time. Time counts in runs: `run_started_at` is when the
    current run began and `covered_before_run` the covered time of earlier runs (before a
    pause), so `due_at` is `run_started_at` plus what is left, counted in coverage.
    """

    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="response_targets"
    )
    kind = models.CharField(max_length=20, choices=TargetKind)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="response_targets")
    priority = models.PositiveSmallIntegerField(choices=Priority)
    coverage = models.CharField(max_length=20, choices=Coverage)
    target = models.DurationField()
    started_at = models.DateTimeField()
    run_started_at = models.DateTimeField()
    covered_before_run = models.DurationField(default=timedelta(0))
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=TargetOutcome, default=TargetOutcome.RUNNING)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(outcome__in=["running", "paused"]),
                name="response_target_one_open_per_case",
            )
        ]
        indexes = [
            # The beat's two questions: which warnings and which breaches are due.
            models.Index(
                fields=["warn_at"],
                condition=models.Q(outcome="running", warned_at__isnull=True),
                name="response_target_warn",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(outcome="running", breached_at__isnull=True),
                name="response_target_breach",
            ),
            # Which cases breach next: running targets by due time (the admin's list).
            models.Index(
                fields=["due_at"],
                condition=models.Q(outcome="running"),
                name="response_target_running_due",
            ),
            # The report: targets started in the last 30 days.
            models.Index(fields=["started_at"], name="response_target_started"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.case_id}"

    @property
    def is_open(self) -> bool:
        return self.outcome in OPEN_OUTCOMES
