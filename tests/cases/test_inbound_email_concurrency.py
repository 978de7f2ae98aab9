"""A provider delivering the same reply twice at the same moment stores it once (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from anymail.inbound import AnymailInboundMessage
from django.db import connection

from cases import services
from cases.inbound import receive as inbound
from cases.models import Case, InboundEmail, Message, MessageSource, Status
from cases.outbox import reply_address
from tests.factories import CaseFactory, EngineerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_duplicate_deliveries_reach_the_case_once(monkeypatch, settings):
    if connection.vendor != "postgresql":
        pytest.fail("This test needs PostgreSQL (row locks and unique-key waits).")
    engineer = EngineerFactory()
    case = CaseFactory(in_progress=True, engineer=engineer)
    services.case_request_info(case=case, engineer=engineer, message="Logs?", kind="logs")
    requester = case.requester

    def email():
        return AnymailInboundMessage.construct(
            from_email=requester.email,
            to=reply_address(case, requester),
            subject="Re: We need your input",
            text="Logs attached.",
            headers=[("Message-ID", "<same-reply@mail.customer.example>")],
        )

    first_inserted = threading.Event()
    real_process = inbound._process

    def slow_first(record, message):
        # The first delivery holds its uncommitted row while the second arrives.
        if threading.current_thread().name == "first":
            first_inserted.set()
            threading.Event().wait(0.5)
        return real_process(record, message)

    monkeypatch.setattr(inbound, "_process", slow_first)
    results = {}

    def deliver(name):
        try:
            results[name] = inbound.receive(message=email(), esp_name="Postmark", event_id=name)
        finally:
            connection.close()

    first = threading.Thread(target=deliver, args=("first",), name="first")
    second = threading.Thread(target=deliver, args=("second",), name="second")
    first.start()
    assert first_inserted.wait(10)
    second.start()
    first.join(20)
    second.join(20)

    assert results["first"] is not None
    assert results["second"] is None
    assert InboundEmail.objects.count() == 1
    assert Message.objects.filter(case=case, source=MessageSource.EMAIL).count() == 1
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS
