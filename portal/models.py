"""Accounts: users who sign in by email, organisations and their members."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

import holidays
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .identity import login_identity, stored_email

SUPPORT_ENGINEERS_GROUP = "Support engineers"


def validate_time_zone(value: str) -> None:
    if value and value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone (e.g. Europe/Paris).")


class EmailUserManager(UserManager):
    use_in_migrations = True

    def _create_user_object(self, username, email, password, **extra_fields):
        # `username` is gone: the email address is the login.
        email = self.normalize_email(email or username)
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        user = self._create_user_object(None, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        user = self._create_user_object(None, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        """The user whose address has the same login identity as `username`.

        The lockout counts failures per login identity (`AXES_USERNAME_CALLABLE`), so
        every spelling login accepts must share one: the database narrows the
        candidates without case, the identity decides. Should two accounts share an
        identity (`straße`, `strasse`), the exact spelling picks one.
        """
        identity = login_identity(username)
        spelling = stored_email(username)
        matches = [
            user
            for user in self.filter(email__iexact=spelling)
            if login_identity(user.email) == identity
        ]
        if len(matches) > 1:
            matches = [user for user in matches if user.email == spelling]
        if len(matches) != 1:
            raise self.model.DoesNotExist
        return matches[0]


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    # Where this person reads times: pages, the admin and emails to them. Empty: their
    # organisation's zone, else the portal's (see `shown_zone`).
    # db_default: rows written by bulk COPY (bench data) need not name it.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        validators=[validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Paris. Empty: the organisation's zone.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(models.functions.Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        self.email = stored_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]

    @property
    def shown_zone(self) -> ZoneInfo:
        """The zone every time shown to this person is in: their own, else their
        organisation's, else the portal's."""
        membership = getattr(self, "membership", None) if self.pk else None
        name = self.time_zone or (membership.organisation.time_zone if membership else "")
        return ZoneInfo(name or settings.TIME_ZONE)

    @property
    def is_support_engineer(self) -> bool:
        """Active staff in the "Support engineers" group (superusers count too)."""
        if not (self.is_active and self.is_staff):
            return False
        if self.is_superuser:
            return True
        cached = getattr(self, "_is_support_engineer", None)
        if cached is None:
            cached = self.groups.filter(name=SUPPORT_ENGINEERS_GROUP).exists()
            self._is_support_engineer = cached
        return cached


def validate_holiday_country(value: str) -> None:
    if value and value not in holidays.list_supported_countries():
        raise ValidationError(f"No public holidays are known for {value!r} (e.g. FR, US).")


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # The service-level plan (cases.models.service_levels); none means the default plan.
    plan = models.ForeignKey(
        "cases.Plan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="organisations",
        help_text="Empty: the default plan.",
    )
    # Where its business hours are kept: the wall clock and the public holidays that
    # service-level clocks in business hours follow (cases.coverage).
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Paris. Empty: the portal's own.",
    )
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="Country code whose public holidays are not business days, e.g. FR.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def coverage(self, *, business_hours: bool):
        """When a clock of this organisation runs (cases.coverage.Coverage)."""
        from cases.coverage import Coverage

        zone = ZoneInfo(self.time_zone or settings.TIME_ZONE)
        return Coverage(business_hours=business_hours, zone=zone, country=self.holiday_country)

    @property
    def service_plan(self):
        """The plan its cases are served under: its own, else the default plan."""
        from cases.models import Plan

        return self.plan or Plan.objects.default()


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Organisation admin"


class Membership(models.Model):
    """A user's place in an organisation, with their role in it.

    A member sees the cases they opened and those shared with them; an organisation
    admin sees every case of the organisation and may share any of them. Ending a
    membership (deleting it, or moving the user to another organisation) ends that
    access at once.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="membership")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(
        max_length=10,
        choices=Role,
        default=Role.MEMBER,
        db_default=Role.MEMBER,
        help_text="Members see their own and shared cases; organisation admins see every "
        "case of the organisation and may share any of them.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation}"

    @property
    def is_organisation_admin(self) -> bool:
        return self.role == Role.ADMIN


class EmailTopic(models.TextChoices):
    """The emails a person may turn off. Every other email is essential: a question
    waiting for them, resolved with its confirm links, closed, reopened, shared with them."""

    REMINDERS = "reminders", "Reminders before a case closes by itself"
    SHARED_CASE_UPDATES = "shared_case_updates", "Updates on cases shared with you"
    DAILY_DIGEST = "daily_digest", "Engineers' daily digest"


class EmailOptOut(models.Model):
    """One person's "stop sending me these": the outbox reads it at send time."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_opt_outs")
    topic = models.CharField(max_length=30, choices=EmailTopic)
    # "profile" or "link" (the one-click unsubscribe in an email): the admin says which.
    source = models.CharField(max_length=10, default="profile")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "topic"]
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="email_opt_out_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: no {self.get_topic_display().lower()}"
