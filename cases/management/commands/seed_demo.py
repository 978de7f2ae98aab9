"""Demo data for a local run: safe to run any number of times (nothing is duplicated)."""

from importlib import import_module

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from cases import services
from cases.models import Case, InfoRequestKind, Plan, Priority
from portal.models import SUPPORT_ENGINEERS_GROUP, Membership, Organisation

PASSWORD = "portal-demo"

ACCOUNTS = [
    # email, full name, organisation, sees organisation's cases, engineer
    ("customer@example.com", "Casey Customer", "Acme Cloud", True, False),
    ("colleague@example.com", "Cole Colleague", "Acme Cloud", True, False),
    ("other@example.com", "Olivia Other", "Globex Systems", False, False),
    ("engineer@example.com", "Erin Engineer", None, False, True),
]


def _engineers_group() -> Group:
    """The support engineers' group, put back with its permissions after a flush
    (`make reset-demo`) emptied the table its data migrations filled."""
    group, created = Group.objects.get_or_create(name=SUPPORT_ENGINEERS_GROUP)
    if created:
        migration = import_module("cases.migrations.0003_support_engineers_and_guards")
        inbound = ("cases", "inboundemail", ["view_inboundemail"])  # granted by 0004
        for app_label, model, codenames in [*migration.PERMISSIONS, inbound]:
            group.permissions.add(
                *Permission.objects.filter(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename__in=codenames,
                )
            )
    return group


def _service_levels() -> None:
    """The seeded priorities and plans, put back after a flush like the group above;
    Acme Cloud on the Business plan in Paris, the other organisation on the default one."""
    from django.apps import apps

    import_module("cases.migrations.0017_seed_service_levels").seed(apps, None)
    business = Plan.objects.filter(name="Business").first()
    Organisation.objects.filter(name="Acme Cloud", plan__isnull=True).update(
        plan=business, time_zone="Europe/Paris", holiday_country="FR"
    )


class Command(BaseCommand):
    help = "Create the demo organisations, logins and one case in every status (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        users = {email: self._account(*row) for row in ACCOUNTS for email in [row[0]]}
        _service_levels()
        customer = users["customer@example.com"]
        engineer = users["engineer@example.com"]
        if Case.objects.filter(requester=customer).exists():
            self.stdout.write("Demo cases already exist; nothing to add.")
        else:
            self._cases(
                customer, users["colleague@example.com"], users["other@example.com"], engineer
            )
            self.stdout.write(self.style.SUCCESS("Demo cases created."))
        self.stdout.write("\nDemo logins (password: portal-demo):")
        for email, name, organisation, _, is_engineer in ACCOUNTS:
            role = "engineer, /admin/" if is_engineer else f"customer of {organisation}"
            self.stdout.write(f"  {email:<24} {name} ({role})")

    def _account(self, email, full_name, organisation_name, sees_organisation, is_engineer):
        User = get_user_model()
        user, created = User.objects.get_or_create(
            email=email, defaults={"full_name": full_name, "is_staff": is_engineer}
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        if is_engineer:
            user.groups.add(_engineers_group())
        if organisation_name:
            organisation, _ = Organisation.objects.get_or_create(name=organisation_name)
            Membership.objects.get_or_create(
                user=user,
                defaults={
                    "organisation": organisation,
                    "can_view_organisation_cases": sees_organisation,
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

        case = open_case(
            customer,
            "Dashboard loads slowly since Monday",
            "The usage dashboard takes 20 seconds to load for our team since Monday morning.",
            Priority.P2,
        )
        services.case_assign(case=case, engineer=engineer)

        case = open_case(
            customer,
            "Nightly backup job fails with exit code 137",
            "Our nightly backup job has failed three nights in a row with exit code 137.",
            Priority.P2,
        )
        services.case_assign(case=case, engineer=engineer)
        services.case_start_work(case=case, engineer=engineer)

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
