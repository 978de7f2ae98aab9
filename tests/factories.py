"""Factories with one trait per case status: `CaseFactory(pending_customer=True)`."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from cases.models import (
    Case,
    Coverage,
    InfoRequestKind,
    Message,
    Plan,
    PlanTarget,
    Priority,
    ResponseTarget,
    Status,
    TargetKind,
)
from portal.models import SUPPORT_ENGINEERS_GROUP, Membership, Organisation, Role, User

PASSWORD = "correct horse battery staple"
HOUR = timedelta(hours=1)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomerFactory(UserFactory):
    """A customer with a membership in an organisation."""

    membership = factory.RelatedFactory(
        "tests.factories.MembershipFactory", factory_related_name="user"
    )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.MEMBER


class EngineerFactory(UserFactory):
    is_staff = True
    full_name = factory.Sequence(lambda n: f"Engineer {n}")

    @factory.post_generation
    def support_group(obj, create, extracted, **kwargs):
        if create:
            # Transactional tests flush the group its migration made: recreate it whole.
            obj.groups.add(support_engineers_group())


def support_engineers_group() -> Group:
    """The migrated group with its permissions; recreated after a flush emptied it."""
    from importlib import import_module

    from django.contrib.auth.models import Permission

    group, _ = Group.objects.get_or_create(name=SUPPORT_ENGINEERS_GROUP)
    migration = import_module("cases.migrations.0003_support_engineers_and_guards")
    macros = import_module("cases.migrations.0021_macros")
    granted = [
        *migration.PERMISSIONS,
        ("cases", "inboundemail", ["view_inboundemail"]),
        *macros.PERMISSIONS,
    ]
    for app_label, model, codenames in granted:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=codenames,
            )
        )
    return group


def customer(
    organisation: Organisation | None = None, *, sees_organisation: bool = False, **kwargs
) -> User:
    user = UserFactory(**kwargs)
    MembershipFactory(
        user=user,
        organisation=organisation or OrganisationFactory(),
        role=Role.ADMIN if sees_organisation else Role.MEMBER,
    )
    return User.objects.select_related("membership").get(pk=user.pk)


class CaseFactory(factory.django.DjangoModelFactory):
    """Builds cases directly in a status (the status field is protected: set at creation)."""

    class Meta:
        model = Case

    subject = factory.Sequence(lambda n: f"Case subject {n}")
    description = "Something is broken."
    priority = Priority.P3
    requester = factory.LazyFunction(customer)
    organisation = factory.LazyAttribute(lambda o: o.requester.membership.organisation)
    status = Status.NEW

    class Params:
        engineer = factory.LazyFunction(lambda: EngineerFactory())
        open = factory.Trait(
            status=Status.OPEN,
            assignee=factory.SelfAttribute("engineer"),
            original_engineer=factory.SelfAttribute("engineer"),
        )
        in_progress = factory.Trait(
            status=Status.IN_PROGRESS,
            assignee=factory.SelfAttribute("engineer"),
            original_engineer=factory.SelfAttribute("engineer"),
        )
        pending_customer = factory.Trait(
            status=Status.PENDING_CUSTOMER,
            assignee=factory.SelfAttribute("engineer"),
            original_engineer=factory.SelfAttribute("engineer"),
            return_status=Status.IN_PROGRESS,
            info_request_kind=InfoRequestKind.LOGS,
            pending_since=factory.LazyFunction(timezone.now),
        )
        resolved = factory.Trait(
            status=Status.RESOLVED,
            assignee=factory.SelfAttribute("engineer"),
            original_engineer=factory.SelfAttribute("engineer"),
            resolved_at=factory.LazyFunction(timezone.now),
        )
        closed = factory.Trait(
            status=Status.CLOSED,
            assignee=factory.SelfAttribute("engineer"),
            original_engineer=factory.SelfAttribute("engineer"),
            closed_at=factory.LazyFunction(timezone.now),
        )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.pop("engineer", None)
        status = kwargs.pop("status")
        case = model_class(*args, **kwargs)
        # Bypass the protected field once, at creation, to start in a given status.
        case.__dict__["status"] = status
        case.save()
        return case


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    case = factory.SubFactory(CaseFactory)
    author = factory.LazyAttribute(lambda o: o.case.requester)
    author_kind = "customer"
    body = factory.Faker("paragraph")


def days(n: float) -> timedelta:
    return timedelta(days=n)


def running_target(case: Case, due_at, **fields) -> ResponseTarget | None:
    """Give `case` one running response target due at `due_at` (None: no target at all),
    as if the clock had started an hour before it."""
    ResponseTarget.objects.filter(case=case).delete()
    if due_at is None:
        return None
    plan = Plan.objects.default() or Plan.objects.create(name="Factory plan", is_default=True)
    started = due_at - timedelta(hours=1)
    return ResponseTarget.objects.create(
        case=case,
        kind=TargetKind.FIRST_RESPONSE,
        plan=plan,
        priority=case.priority,
        coverage=Coverage.ALWAYS,
        target=timedelta(hours=1),
        started_at=started,
        run_started_at=started,
        due_at=due_at,
        warn_at=started + timedelta(minutes=45),
        **fields,
    )


def plan_with_targets(name: str, *, position: int = 9, p1_first: timedelta = HOUR) -> Plan:
    """A plan with P1 around the clock (`p1_first`, then twice that for each next
    update) and P3 in business hours (4 hours, then 8); no target for P2 and P4."""
    plan = Plan.objects.create(name=name, position=position)
    PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P1,
        first_response=p1_first,
        next_update=2 * p1_first,
        coverage=Coverage.ALWAYS,
    )
    PlanTarget.objects.create(
        plan=plan,
        priority=Priority.P3,
        first_response=4 * HOUR,
        next_update=8 * HOUR,
        coverage=Coverage.BUSINESS_HOURS,
    )
    return plan
