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


def validate_time_zone(value: str) -> None:
    if value and value not in available_timezones():
        raise ValidationError(f"{value!r} is not a time zone (e.g. Europe/Paris).")


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


class Membership(models.Model):
    """A user's place in an organisation.

    `can_view_organisation_cases` lets a member follow colleagues' cases (and act on
    them as the customer); without it a member sees only the cases they opened.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="membership")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    can_view_organisation_cases = models.BooleanField(
        default=False,
        help_text="Members with this see and act on every case of their organisation.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation}"
