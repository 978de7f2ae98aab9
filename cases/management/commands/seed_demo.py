"""Demo data for a local run: safe to run any number of times (nothing is duplicated)."""

from datetime import timedelta
from importlib import import_module

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases import service_levels, services
from cases.models import (
    Actor,
    Case,
    InfoRequestKind,
    Macro,
    MacroAction,
    Message,
    Plan,
    Priority,
    Status,
)
from cases.services.common import record_event
from portal.models import SUPPORT_ENGINEERS_GROUP, Membership, Organisation, Role

PASSWORD = "portal-demo"

ACCOUNTS = [
    # email, full name, organisation, organisation admin (sees all its cases), engineer
    ("customer@example.com", "Casey Customer", "Acme Cloud", True, False),
    # A member: their own cases and the one Casey shares with them.
    ("colleague@example.com", "Cole Colleague", "Acme Cloud", False, False),
    ("other@example.com", "Olivia Other", "Globex Systems", False, False),
    ("engineer@example.com", "Erin Engineer", None, False, True),
    # A second engineer: open a case as both to see "Alex Engineer is also viewing".
    ("alex@example.com", "Alex Engineer", None, False, True),
]
# Each reads times in their own zone: two colleagues an ocean apart. The others keep
# their organisation's zone (Acme Cloud: Paris) or the portal's.
TIME_ZONES = {
    "customer@example.com": "Europe/Paris",
    "colleague@example.com": "America/New_York",
}


def _engineers_group() -> Group:
    """The support engineers' group, put back with its permissions after a flush
    (`make reset-demo`) emptied the table its data migrations filled."""
    group, created = Group.objects.get_or_create(name=SUPPORT_ENGINEERS_GROUP)
    if created:
        migration = import_module("cases.migrations.0003_support_engineers_and_guards")
        inbound = ("cases", "inboundemail", ["view_inboundemail"])  # granted by 0004
        macros = import_module("cases.migrations.0021_macros").PERMISSIONS
        for app_label, model, codenames in [*migration.PERMISSIONS, inbound, *macros]:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename__in=codenames,
                )
            )
    return group


DEMO_MACROS = [
    # name, body, paired action, information asked for
    (
        "Ask for kubelet logs",
        "Hi {customer_first_name},\n\n"
        "To find out why the node misbehaves we need the kubelet's logs from the affected "
        "node. Please run\n\n"
        '    journalctl -u kubelet --since "2 hours ago" > kubelet.log\n\n'
        "and attach kubelet.log to {reference}. Without a reply the case closes on "
        "{auto_close_date}.\n\n{engineer_name}",
        MacroAction.REQUEST_INFO,
        InfoRequestKind.LOGS,
    ),
    (
        "Pods in the cluster",
        "Hi {customer_first_name},\n\n"
        "Could you send the output of\n\n"
        "    kubectl get pods -A -o jsonpath='{{.items[*].metadata.name}}'\n\n"
        "so we can see what runs where?\n\n{engineer_name}",
        MacroAction.NONE,
        "",
    ),
    (
        "Fixed: please confirm",
        "Hi {customer_first_name},\n\n"
        "The fix is in place. Please check on your side and confirm it works; if we hear "
        "nothing, {reference} closes by itself on {auto_close_date}.\n\n{engineer_name}",
        MacroAction.RESOLVE,
        "",
    ),
]


def _macros(engineer) -> None:
    """Canned replies for the case page's picker (kept as edited if they exist)."""
    for name, body, action, kind in DEMO_MACROS:
        Macro.objects.get_or_create(
            name=name,
            defaults={
                "body": body,
                "action": action,
                "info_request_kind": kind,
                "created_by": engineer,
            },
        )


def _service_levels() -> None:
    """The seeded priorities and plans, put back after a flush like the group above;
    Acme Cloud on the Business plan in Paris, the other organisation on the default one."""
    from django.apps import apps

    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)
    business = Plan.objects.filter(name="Business").first()
    Organisation.objects.filter(name="Acme Cloud", plan__isnull=True).update(
        plan=business, time_zone="Europe/Paris", holiday_country="FR"
    )


def _opened_earlier(requester, subject: str, description: str, priority: int, *, ago) -> Case:
    """A case its requester opened `ago` before now, written as `services.case_open`
    writes one: the case, its description in the thread, the "opened" history entry and
    its first response target counted from then.

    The services take no clock and history is append-only, so a case cannot be opened now
    and moved back afterwards: the response-target stories (due soon, breached) start
    here, and the rest of each story goes through the services. No acknowledgement or
    engineers' alert is queued: those emails would have gone out back then.
    """
    opened_at = timezone.now() - ago
    case = Case.objects.create(
        requester=requester,
        organisation_id=requester.membership.organisation_id,
        subject=subject,
        description=description,
        priority=priority,
        created_at=opened_at,
        last_activity_at=opened_at,
        last_customer_activity_at=opened_at,
    )
    service_levels.case_opened(case, opened_at)
    Message.objects.create(
        case=case,
        author=requester,
        author_kind=Actor.CUSTOMER,
        body=description,
        created_at=opened_at,
    )
    record_event(
        case,
        "open",
        actor=requester,
        kind=Actor.CUSTOMER,
        reason="Case opened",
        from_status=Status.NEW,
        to_status=Status.NEW,
        created_at=opened_at,
    )
    return case


class Command(BaseCommand):
    help = (
        "Create the demo organisations, logins, one case in every status and response "
        "targets due soon, breached, met and paused (idempotent)."
    )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        users = {email: self._account(*row) for row in ACCOUNTS for email in [row[0]]}
        _service_levels()
        customer = users["customer@example.com"]
        engineer = users["engineer@example.com"]
        _macros(engineer)
        if Case.objects.filter(requester=customer).exists():
            self.stdout.write("Demo cases already exist; nothing to add.")
        else:
            self._cases(
                customer, users["colleague@example.com"], users["other@example.com"], engineer
            )
            self.stdout.write(self.style.SUCCESS("Demo cases created."))
        self.stdout.write("\nDemo logins (password: portal-demo):")
        for email, name, organisation, is_admin, is_engineer in ACCOUNTS:
            if is_engineer:
                role = "engineer, /admin/"
            elif is_admin:
                role = f"customer of {organisation}, organisation admin: sees all its cases"
            else:
                role = f"customer of {organisation}, member: own and shared cases"
            zone = users[email].shown_zone.key
            self.stdout.write(f"  {email:<24} {name} ({role}; times in {zone})")

    def _account(self, email, full_name, organisation_name, sees_organisation, is_engineer):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            email=email, defaults={"full_name": full_name, "is_staff": is_engineer}
        )
        if created:
            user.set_password(PASSWORD)
            user.time_zone = TIME_ZONES.get(email, "")
            user.save()
        if is_engineer:
            user.groups.add(_engineers_group())
        if organisation_name:
            organisation, _ = Organisation.objects.get_or_create(name=organisation_name)
            Membership.objects.get_or_create(
                user=user,
                defaults={
                    "organisation": organisation,
                    "role": Role.ADMIN if sees_organisation else Role.MEMBER,
                },
            )
        return user

    def _cases(self, customer, colleague, other, engineer) -> None:
        def open_case(requester, subject, description, priority=Priority.P3):
            return services.case_open(
                requester=requester, subject=subject, description=description, priority=priority
            )

        open_case(
            customer,
            "Question about SSO setup",
            "We would like to enable SAML single sign-on. "
            "Which identity providers do you support?",
            Priority.P4,
        )

        # Response targets, one story each (Acme Cloud is on the Business plan), keeping
        # the references the README names (CS-1004 is the Pending Customer case).
        # Breached: opened a week ago (always more than the four business hours of a P2,
        # holidays included) and taken since, with no reply yet.
        case = _opened_earlier(
            customer,
            "Dashboard loads slowly since the last release",
            "The usage dashboard takes 20 seconds to load for our team since the last release.",
            Priority.P2,
            ago=timedelta(days=7),
        )
        services.case_assign(case=case, engineer=engineer)

        # Met: the engineer's first reply came well within the four hours.
        case = _opened_earlier(
            customer,
            "Nightly backup job fails with exit code 137",
            "Our nightly backup job has failed three nights in a row with exit code 137.",
            Priority.P2,
            ago=timedelta(hours=2),
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_start_work(case=case, engineer=engineer)
        services.case_reply(
            case=case,
            author=engineer,
            body=(
                "Exit code 137 means the job was killed for using more memory than its "
                "limit. I am checking its memory limit against the size of last week's backups."
            ),
        )

        case = open_case(
            customer,
            "Kubernetes nodes NotReady after upgrade",
            "After upgrading the cluster two of five nodes report NotReady.",
            Priority.P1,
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_start_work(case=case, engineer=engineer)
        services.case_request_info(
            case=case,
            engineer=engineer,
            kind=InfoRequestKind.LOGS,
            message=(
                "Could you send the kubelet logs from one of the NotReady nodes "
                "(journalctl -u kubelet --since '1 hour ago') and the output of "
                "`kubectl describe node` for it?"
            ),
        )
        # Shared with a colleague who can fetch the logs: a history entry and an email.
        services.case_add_participants(
            case=case,
            actor=customer,
            addresses=[colleague.email],
            message="Cole, could you send the kubelet logs? You have shell access to the nodes.",
        )

        case = open_case(
            colleague,
            "Increase the API rate limit for the integration account",
            "Our integration hits the rate limit at peak hours. Can it be raised to 200 req/s?",
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_request_info(
            case=case,
            engineer=engineer,
            kind=InfoRequestKind.APPROVAL,
            message=(
                "I can raise the limit to 200 req/s on your account now. "
                "Do you approve the change?"
            ),
        )

        case = open_case(
            customer,
            "Invoice shows the wrong VAT number",
            "The October invoice shows our old VAT number.",
            Priority.P4,
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_resolve(
            case=case,
            engineer=engineer,
            message="The VAT number is corrected and a new invoice is in your billing page.",
        )

        case = open_case(
            customer,
            "Password reset emails not arriving",
            "Two of our users did not receive password reset emails.",
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_resolve(
            case=case, engineer=engineer, message="The emails were in quarantine; released."
        )
        services.case_close(case=case, actor=customer)

        open_case(
            other,
            "Cannot add a second billing contact",
            "The billing page does not let us add a second contact.",
            Priority.P4,
        )

        # Due soon: a P1 (an hour, around the clock) opened 35 minutes ago.
        _opened_earlier(
            customer,
            "Ingress returns 502 for a third of requests",
            "Our public ingress answers 502 Bad Gateway to about a third of requests. "
            "Production traffic is affected.",
            Priority.P1,
            ago=timedelta(minutes=35),
        )

        # Paused: the colleague marked it resolved before anyone replied.
        case = _opened_earlier(
            colleague,
            "Webhook deliveries fail with 401",
            "Our webhook endpoint rejects every delivery with 401 since this morning.",
            Priority.P3,
            ago=timedelta(hours=1),
        )
        services.case_mark_resolved(case=case, customer=colleague)
