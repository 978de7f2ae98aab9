"""Engineers see rejected and ignored inbound email in the admin, read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import InboundEmail, InboundOutcome, InboundReason
from tests.factories import CaseFactory, EngineerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected():
    case = CaseFactory(pending_customer=True)
    return InboundEmail.objects.create(
        email_message_id="<stranger@mail.example>",
        esp_name="Postmark",
        from_address="stranger@elsewhere.example",
        subject=f"Re: [{case.reference}] We need your input",
        body_excerpt="Let me in.",
        outcome=InboundOutcome.REJECTED,
        reason=InboundReason.NOT_CUSTOMER,
        detail="stranger@elsewhere.example may not act on this case",
        case=case,
    )


def test_engineer_sees_rejected_email_with_its_reason_and_case(client, rejected):
    client.force_login(EngineerFactory())

    listing = client.get(reverse("admin:cases_inboundemail_changelist"))
    detail = client.get(reverse("admin:cases_inboundemail_change", args=[rejected.pk]))

    assert listing.status_code == 200
    assert b"stranger@elsewhere.example" in listing.content
    assert rejected.case.reference.encode() in listing.content
    assert detail.status_code == 200
    assert b"Let me in." in detail.content
    assert b"Sender may not act on this case" in detail.content


def test_inbound_records_cannot_be_added_changed_or_deleted(client, rejected):
    client.force_login(EngineerFactory())

    add = client.get(reverse("admin:cases_inboundemail_add"))
    delete = client.post(
        reverse("admin:cases_inboundemail_delete", args=[rejected.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert InboundEmail.objects.filter(pk=rejected.pk).exists()
