"""`manage.py simulate_inbound_reply`: a provider-shaped reply through the real webhook."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cases.models import Case, InboundEmail, InboundOutcome, Status
from tests.factories import CaseFactory, customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://testserver"
    settings.ANYMAIL = {}  # no secret configured locally: the command brings its own


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("simulate_inbound_reply", *args, stdout=out)
    return out.getvalue()


def test_a_reply_unblocks_a_pending_customer_case_with_its_quote_trimmed(
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(pending_customer=True)

    with django_capture_on_commit_callbacks(execute=True):
        output = simulate(
            case.reference,
            "Here are the logs.\n\nOn Mon, 30 Nov 2026 at 10:00, Support wrote:\n> Which version?",
        )

    case = Case.objects.get(pk=case.pk)
    assert case.status == Status.IN_PROGRESS
    assert case.messages.get(source="email").body == "Here are the logs."
    record = InboundEmail.objects.get()
    assert record.outcome == InboundOutcome.ACCEPTED and record.esp_name.lower() == "postmark"
    assert "HTTP 200" in output
    assert "Outcome: Accepted (added to the thread)" in output
    assert f"{case.reference} is now In Progress." in output


def test_a_stranger_is_refused_by_the_sender_check():
    case = CaseFactory(pending_customer=True)
    stranger = customer()

    output = simulate(case.reference, "Let me in", "--from", stranger.email)

    assert Case.objects.get(pk=case.pk).status == Status.PENDING_CUSTOMER
    assert InboundEmail.objects.get().outcome == InboundOutcome.REJECTED
    assert "Outcome: Rejected" in output


def test_an_unknown_reference_is_an_error():
    with pytest.raises(CommandError, match="No case CS-999999"):
        simulate("CS-999999", "Hello")
