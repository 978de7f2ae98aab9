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
