"""The case domain: statuses, the state machine, the thread, history and the outbox.

Transition methods only change fields in memory; `cases.services` locks the row, calls
them, saves, writes history and notifications in one transaction. Nothing else sets
`status`.
"""

from __future__ import annotations

from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, has_transition_perm, transition

from cases.models.base import UndeletableModel, UndeletableQuerySet
from cases.models.status import (
    CUSTOMER_RESOLVABLE_STATUSES,
    OPEN_STATUSES,
    STATUS_INFO,
    InfoRequestKind,
    Priority,
    Rating,
    Status,
    StatusInfo,
    is_case_customer,
    is_customer_or_engineer,
    is_engineer,
    is_scheduler,
)
from cases.policy import auto_close_deadline, is_auto_close_due

# --- Case -----------------------------------------------------------------------------


class CaseQuerySet(UndeletableQuerySet):
    def visible_to_customer(self, user) -> CaseQuerySet:
        """The cases `user` is a customer of (see `Case.is_customer`, the same rule):
        those of their organisation they opened or follow as a participant, or all of
        them for an organisation admin."""
        membership = customer_membership(user)
        if membership is None:
            return self.none()
        cases = self.filter(organisation_id=membership.organisation_id)
        if membership.is_organisation_admin:
            return cases
        # EXISTS, not a join: a join would repeat the case once per participant.
        # (CaseParticipant by name: its module imports this one.)
        participants = apps.get_model("cases", "CaseParticipant").objects
        followed = participants.filter(case=models.OuterRef("pk"), user_id=user.pk)
        return cases.filter(models.Q(requester_id=user.pk) | models.Exists(followed))

    def with_response_due(self) -> CaseQuerySet:
        """Each case with `response_due_at`, its running target's due time (None while
        none runs), joined from the target (at most one runs per case): ordered or
        filtered by it, PostgreSQL reads the targets' `response_target_running_due`
        index in order and each case by its key."""
        return self.alias(
            running_target=models.FilteredRelation(
                "response_targets", condition=models.Q(response_targets__outcome="running")
            )
        ).annotate(response_due_at=models.F("running_target__due_at"))


class Case(FSMModelMixin, UndeletableModel):
    REFERENCE_PREFIX = "CS-"
    REFERENCE_OFFSET = 1000

    subject = models.CharField(max_length=200)
    description = models.TextField()
    priority = models.PositiveSmallIntegerField(choices=Priority, default=Priority.P3)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_cases"
    )
    organisation = models.ForeignKey(
        "portal.Organisation", on_delete=models.PROTECT, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    # The first engineer who took the case: Reopen Case routes back to them.
    original_engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="original_cases",
    )
    status = FSMField(choices=Status, default=Status.NEW, protected=True)
    # Where a customer's reply returns a Pending Customer case to (open or in_progress).
    return_status = models.CharField(max_length=20, choices=Status, blank=True)
    info_request_kind = models.CharField(max_length=20, choices=InfoRequestKind, blank=True)

    # Clock starts: the deadline is start + the configured duration, so changing the
    # setting moves every running clock (and the help page) together.
    pending_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Closed by the scheduler because nobody answered a Pending Customer question: the
    # pages say so instead of the Closed status's usual meaning.
    closed_for_no_reply = models.BooleanField(default=False, db_default=False)
    # Set when a Pending Customer question bounced: the case must not close silently.
    auto_close_held_reason = models.CharField(max_length=200, blank=True)
    # A reply by email to a closed case may start a new case (CASE_EMAIL_REPLY_TO_CLOSED).
    follow_up_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    # The optional rating given with Confirm it worked (the satisfaction report counts it).
    # db_default: rows written by bulk COPY (bench data) need not name these.
    rating = models.CharField(
        "Did this solve your problem?",
        max_length=4,
        choices=Rating,
        blank=True,
        default="",
        db_default="",
    )
    rating_comment = models.TextField("Rating comment", blank=True, default="", db_default="")
    rated_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    last_customer_activity_at = models.DateTimeField(null=True, blank=True)
    # Service levels (cases.service_levels): when an engineer first replied in public.
    # When a reply is due is the running ResponseTarget's (see `response_due_at`).
    first_response_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            # "Cases I opened" in My Cases: the requester's cases in their organisation
            # (those of an organisation they left are not theirs to see), the page in
            # activity order and the tab counts from the index alone.
            models.Index(
                fields=["requester", "organisation", "-last_activity_at"],
                name="case_requester_org_activity",
            ),
            models.Index(
                fields=["requester", "organisation", "status", "-last_activity_at"],
                name="case_req_org_status_activity",
            ),
            models.Index(fields=["organisation", "-last_activity_at"], name="case_org_activity"),
            # The organisation's cases in My Cases: the tab counts from the index alone.
            models.Index(
                fields=["organisation", "status", "-last_activity_at"],
                name="case_org_status_activity",
            ),
            models.Index(fields=["status", "-last_activity_at"], name="case_status_activity"),
            # The admin's unfiltered case list: newest activity first, without a sort.
            models.Index(fields=["-last_activity_at", "-id"], name="case_activity"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(
                fields=["pending_since"],
                condition=models.Q(status="pending_customer"),
                name="case_pending_clock",
            ),
            models.Index(
                fields=["resolved_at"],
                condition=models.Q(status="resolved"),
                name="case_resolved_clock",
            ),
            # The satisfaction report reads only rated cases.
            models.Index(fields=["rated_at"], condition=~models.Q(rating=""), name="case_rated"),
        ]
        permissions = [("work_case", "Can work cases (transitions, replies, notes)")]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("cases:detail", kwargs={"reference": self.reference})

    # -- reference -------------------------------------------------------------------

    @property
    def reference(self) -> str:
        return self.reference_for(self.pk) if self.pk else ""

    @classmethod
    def reference_for(cls, pk: int) -> str:
        """42 -> `CS-1042`."""
        return f"{cls.REFERENCE_PREFIX}{pk + cls.REFERENCE_OFFSET}"

    @classmethod
    def pk_from_reference(cls, reference: str) -> int | None:
        """`CS-1042` -> 42; None for anything that is not a reference."""
        text = reference.strip().upper()
        if text.startswith(cls.REFERENCE_PREFIX):
            text = text[len(cls.REFERENCE_PREFIX) :]
        # isascii: str.isdigit() also accepts "²", which int() refuses.
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            return None
        pk = int(text) - cls.REFERENCE_OFFSET
        return pk if pk > 0 else None

    # -- who -------------------------------------------------------------------------

    def is_customer(self, user) -> bool:
        """Whether `user` may see and act on this case as its customer: an active user
        with a membership in the case's organisation who opened it, follows it as a
        participant, or is an organisation admin there. The one rule: every page, email,
        link and reply asks it, and `CaseQuerySet.visible_to_customer` says the same.

        Leaving the organisation (membership ended or moved, account deactivated) ends
        it at once, for the requester too."""
        membership = customer_membership(user)
        if membership is None or membership.organisation_id != self.organisation_id:
            return False
        if user.pk == self.requester_id or membership.is_organisation_admin:
            return True
        return self.has_participant(user)

    def remember_participant(self, user) -> None:
        """Record that `user` follows this case, read with it in bulk, so that
        `has_participant` need not ask."""
        self.__dict__.setdefault("_participant_answers", {})[user.pk] = True

    def has_participant(self, user) -> bool:
        """Whether `user` follows this case as a participant (asked once per instance:
        a page asks for every button)."""
        if self.pk is None or user.pk is None:
            return False
        answers = self.__dict__.setdefault("_participant_answers", {})
        if user.pk not in answers:
            answers[user.pk] = self.participants.filter(user_id=user.pk).exists()
        return answers[user.pk]

    def forget_participants(self) -> None:
        """Drop the remembered answers of `has_participant` (after a change to them)."""
        self.__dict__.pop("_participant_answers", None)

    # -- who may do what: the transitions' permissions and conditions decide ---------

    def may_fire(self, transition: str, user) -> bool:
        """Whether `user` may fire `transition` on this case now (status, conditions and
        permission): buttons, services and email replies all ask this."""
        return has_transition_perm(getattr(self, transition), user)

    def reply_transition(self) -> str | None:
        """The transition a customer's reply fires: it unblocks a Pending Customer case,
        objects to a Resolved one and reopens a Closed one; elsewhere it only joins the
        thread."""
        return REPLY_TRANSITIONS.get(self.status)

    def customer_may_reply(self, user, *, by_email: bool = False) -> bool:
        """Whether `user` may reply to this case as its customer.

        On the web a Closed case is reopened with Reopen Case, which says why; by
        email the reply itself reopens it (or starts a follow-up case, see
        CASE_EMAIL_REPLY_TO_CLOSED).
        """
        if not is_case_customer(self, user):
            return False
        if self.status == Status.CLOSED and not by_email:
            return False
        transition = self.reply_transition()
        return transition is None or self.may_fire(transition, user)

    def customer_actions(self, user) -> dict[str, bool]:
        """The buttons the case page offers `user` as this case's customer."""
        may_reply = self.customer_may_reply(user)
        return {
            "can_reply": may_reply,
            **{f"can_{name}": self.may_fire(name, user) for name in CUSTOMER_TRANSITIONS},
            "can_answer_approval": may_reply
            and self.status == Status.PENDING_CUSTOMER
            and self.info_request_kind == InfoRequestKind.APPROVAL,
        }

    # -- clocks ----------------------------------------------------------------------

    @property
    def response_due_at(self) -> datetime | None:
        """When a reply is due: the running response target's due time, None while none
        runs. Read with the case by `Case.objects.with_response_due()`, else asked here."""
        if "_response_due_at" not in self.__dict__:
            self._response_due_at = (
                self.response_targets.filter(outcome="running")
                .values_list("due_at", flat=True)
                .first()
            )
        return self._response_due_at

    @response_due_at.setter
    def response_due_at(self, value: datetime | None) -> None:
        # Set by the `with_response_due()` annotation.
        self._response_due_at = value

    def refresh_from_db(self, *args, **kwargs) -> None:
        super().refresh_from_db(*args, **kwargs)
        self.__dict__.pop("_response_due_at", None)
        self.forget_participants()

    @property
    def status_info(self) -> StatusInfo:
        return STATUS_INFO[self.status]

    @property
    def auto_close_at(self) -> datetime | None:
        """When the scheduler will close this case, if a clock is running."""
        return auto_close_deadline(self.status, self.pending_since, self.resolved_at)

    def auto_close_is_due(self) -> bool:
        return is_auto_close_due(
            self.status,
            self.pending_since,
            self.resolved_at,
            self.auto_close_held_reason,
            timezone.now(),
        )

    # -- transitions (fields only; see cases.services) -------------------------------

    @transition(field=status, source=Status.NEW, target=Status.OPEN, permission=is_engineer)
    def assign(self, engineer) -> None:
        self.assignee = engineer
        if self.original_engineer_id is None:
            self.original_engineer = engineer

    @transition(
        field=status, source=Status.OPEN, target=Status.IN_PROGRESS, permission=is_engineer
    )
    def start_work(self) -> None:
        pass

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS],
        target=Status.PENDING_CUSTOMER,
        permission=is_engineer,
    )
    def request_info(self, kind: str) -> None:
        self.return_status = self.status
        self.info_request_kind = kind
        self.pending_since = timezone.now()
        self.auto_close_held_reason = ""

    @transition(
        field=status,
        source=Status.PENDING_CUSTOMER,
        target=RETURN_VALUE(Status.OPEN, Status.IN_PROGRESS),
        permission=is_case_customer,
    )
    def receive_customer_reply(self) -> str:
        target = self.return_status or Status.OPEN
        self._leave_pending_customer()
        return target

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS, Status.PENDING_CUSTOMER],
        target=Status.RESOLVED,
        permission=is_engineer,
    )
    def resolve(self) -> None:
        self._leave_pending_customer()
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=list(CUSTOMER_RESOLVABLE_STATUSES),
        target=Status.RESOLVED,
        permission=is_case_customer,
    )
    def mark_resolved(self) -> None:
        self._leave_pending_customer()
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=[*OPEN_STATUSES, Status.RESOLVED],
        target=Status.CLOSED,
        permission=is_customer_or_engineer,
    )
    def close(self) -> None:
        self._leave_pending_customer()
        self.closed_at = timezone.now()
        self.closed_for_no_reply = False

    @transition(
        field=status, source=Status.RESOLVED, target=Status.CLOSED, permission=is_case_customer
    )
    def confirm(self, rating: str = "", comment: str = "") -> None:
        """The customer confirms the resolution worked (Confirm it worked)."""
        self.closed_at = timezone.now()
        if rating or comment:
            self.rating = rating
            self.rating_comment = comment
            self.rated_at = self.closed_at

    @transition(
        field=status,
        source=[Status.PENDING_CUSTOMER, Status.RESOLVED],
        target=Status.CLOSED,
        permission=is_scheduler,
        conditions=[auto_close_is_due],
    )
    def auto_close(self, now: datetime | None = None) -> None:
        """`now`: the sweep closes a whole batch at one instant."""
        self.closed_for_no_reply = self.status == Status.PENDING_CUSTOMER
        self._leave_pending_customer()
        self.closed_at = now or timezone.now()

    @transition(
        field=status,
        source=[Status.RESOLVED, Status.CLOSED],
        target=RETURN_VALUE(Status.OPEN, Status.NEW),
        permission=is_customer_or_engineer,
    )
    def reopen(self) -> str:
        self.resolved_at = None
        self.closed_at = None
        self.closed_for_no_reply = False
        engineer = self.original_engineer
        if engineer is not None and engineer.is_support_engineer:
            self.assignee = engineer
            return Status.OPEN
        self.assignee = None
        return Status.NEW

    def _leave_pending_customer(self) -> None:
        self.return_status = ""
        self.info_request_kind = ""
        self.pending_since = None
        self.auto_close_held_reason = ""


# The transitions a customer fires with a button of their own (the reply's are above).
CUSTOMER_TRANSITIONS = ("mark_resolved", "close", "reopen", "confirm")
REPLY_TRANSITIONS = {
    Status.PENDING_CUSTOMER: "receive_customer_reply",
    Status.RESOLVED: "reopen",
    Status.CLOSED: "reopen",
}


def customer_transitions_by_status(user) -> dict[str, frozenset[str]]:
    """For each status, the button transitions a customer of a case in it may fire.

    For lists of cases that are all `user`'s as a customer (My Cases reads plain
    values, not cases): the state machine answers for one stand-in case per status, of
    the user's organisation. Every customer of a case may do the same on it.
    """
    membership = customer_membership(user)
    answers = {}
    for status in Status.values:
        stand_in = Case(
            status=status,
            requester_id=user.pk,
            organisation_id=membership.organisation_id if membership else None,
        )
        answers[status] = frozenset(
            name for name in CUSTOMER_TRANSITIONS if stand_in.may_fire(name, user)
        )
    return answers


def customer_membership(user):
    """The membership of an active, signed-in user; None for anyone else: a customer's
    standing starts here (`Case.is_customer`, `CaseQuerySet.visible_to_customer`, My Cases)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return getattr(user, "membership", None)
