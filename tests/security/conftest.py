import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cases import services
from cases.models import Attachment, Case, CaseEvent, CaseParticipant, Message, Notification
from portal.models import EmailOptOut, User
from tests import journeys
from tests.factories import customer


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def victim_case(customer, engineer):
    """A Pending Customer case with a thread, history, an attachment and an email."""
    case = services.case_open(
        requester=customer,
        subject="Victim's secret subject",
        description="The victim's private description.",
        priority=3,
        attachments=[SimpleUploadedFile("secret.log", b"victim private log line")],
    )
    services.case_assign(case=case, engineer=engineer)
    services.case_request_info(
        case=case, engineer=engineer, message="Send the victim's config.", kind="configuration"
    )
    case.refresh_from_db()
    return case


@pytest.fixture
def victim_attachment(victim_case):
    return Attachment.objects.get(message__case=victim_case)


@pytest.fixture
def colleague(organisation):
    """Same organisation, a member (not an organisation admin), not on the victim's case."""
    return customer(organisation)


@pytest.fixture
def victim_participant(victim_case, organisation):
    """A colleague the victim shared their case with (not `colleague`)."""
    teammate = customer(organisation, email="teammate@example.com")
    [participant] = services.case_add_participants(
        case=victim_case, actor=victim_case.requester, addresses=[teammate.email]
    )
    return participant


@pytest.fixture
def outsider_case(stranger, engineer):
    return journeys.in_progress(stranger, engineer, subject="Outsider's own case")


def snapshot() -> dict:
    """What a request must not change unless it is meant to."""
    return {
        "cases": sorted(Case.objects.values_list("pk", "status", "assignee_id", "subject")),
        "messages": Message.objects.count(),
        "events": CaseEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "attachments": Attachment.objects.count(),
        "participants": sorted(CaseParticipant.objects.values_list("case_id", "user_id")),
        "users": sorted(
            User.objects.values_list("pk", "password", "is_active", "email", "time_zone")
        ),
        "email_opt_outs": sorted(EmailOptOut.objects.values_list("user_id", "topic")),
    }
