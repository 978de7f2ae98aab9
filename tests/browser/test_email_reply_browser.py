"""A customer answers the engineer's question from their mailbox.

The engineer asks; the provider posts the customer's email reply to the inbound webhook
over HTTP; the customer sees their reply on the case page and the case is back in In
Progress, in My Cases and in the engineers' admin.
"""

import json

from playwright.sync_api import expect

from cases import services
from cases.outbox import reply_address
from tests.browser.conftest import sign_in
from tests.cases import email_webhooks as hooks
from tests.factories import PASSWORD, CaseFactory, EngineerFactory

REPLY = (
    "The nightly export fails with 'disk full' at 02:00.\n\n"
    "On Sat, 28 Nov 2026 at 09:00, Support <support@example.com> wrote:\n"
    "> Please send the logs of the failing job.\n"
)


def test_emailed_reply_unblocks_the_case_for_customer_and_engineer(page, live_url, settings):
    hooks.configure(settings)
    engineer = EngineerFactory(is_superuser=True)
    case = CaseFactory(in_progress=True, engineer=engineer, subject="Nightly export fails")
    services.case_request_info(
        case=case,
        engineer=engineer,
        message="Please send the logs of the failing job.",
        kind="logs",
    )
    requester = case.requester

    sign_in(page, live_url, requester.email, PASSWORD)
    row = page.locator(f'[data-case-reference="{case.reference}"]')
    expect(row).to_have_attribute("data-case-status", "pending_customer")

    # The provider delivers the customer's email to our inbound webhook.
    payload = hooks.postmark_inbound(
        from_email=requester.email,
        to=reply_address(case, requester),
        subject=f"Re: [{case.reference}] We need your input: Nightly export fails",
        text=REPLY,
    )
    response = page.request.post(
        f"{live_url}{hooks.POSTMARK_INBOUND_URL}",
        data=json.dumps(payload),
        headers={
            "Content-Type": "application/json",
            "Authorization": hooks.basic_auth()["HTTP_AUTHORIZATION"],
        },
    )
    assert response.status == 200

    page.goto(f"{live_url}/cases/")
    expect(row).to_have_attribute("data-case-status", "in_progress")
    page.goto(f"{live_url}/cases/{case.reference}/")
    expect(page.locator(".status-panel [data-case-status]")).to_have_attribute(
        "data-case-status", "in_progress"
    )
    reply = page.locator(".thread-message.from-customer").last
    expect(reply).to_contain_text("The nightly export fails with 'disk full' at 02:00.")
    expect(reply).to_contain_text("by email")
    expect(reply).not_to_contain_text("Please send the logs")

    page.context.clear_cookies()
    sign_in(page, live_url, engineer.email, PASSWORD)
    page.goto(f"{live_url}/admin/cases/case/")
    admin_row = page.locator("#result_list tbody tr", has_text=case.reference)
    expect(admin_row.locator(".field-status")).to_have_text("In Progress")
