"""The local defaults of `make run`: quiet broker, readable printed emails."""

import logging
from io import StringIO

from django.core.mail import EmailMultiAlternatives
from kombu import Connection

from portal.mail import ReadableConsoleBackend
from portal.settings import base as portal_settings


def test_the_default_broker_url_says_no_hostname_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="kombu.connection"):
        Connection(portal_settings.DEFAULT_BROKER_URL).clone()

    assert portal_settings.DEFAULT_BROKER_URL.startswith("filesystem://")
    assert not [r for r in caplog.records if "No hostname" in r.getMessage()]


def test_printed_emails_are_readable_text_not_quoted_printable():
    stream = StringIO()
    email = EmailMultiAlternatives(
        subject="[CS-1004] We need your input: Export fails",
        body="Hello Ana,\n\nCould you send the export log? It’s the file “export.log” — thanks.\n"
        + "A long line " * 20,
        from_email="Support <support@example.com>",
        to=["customer@example.com"],
        reply_to=["case.4.2.abc@reply.example.com"],
        headers={"X-Case-Reference": "CS-1004"},
    )
    email.attach_alternative("<p>Hello</p>", "text/html")

    ReadableConsoleBackend(stream=stream).send_messages([email])

    printed = stream.getvalue()
    assert "Subject: [CS-1004] We need your input: Export fails" in printed
    assert "Reply-To: case.4.2.abc@reply.example.com" in printed
    assert "It’s the file “export.log” — thanks." in printed
    assert "=E2=80" not in printed and "=\n" not in printed
    assert "Also: text/html (not shown)" in printed


def test_beat_makes_the_folder_of_its_schedule_file_when_it_starts(tmp_path):
    from portal.celery import Scheduler
    from portal.celery import app as celery_app

    schedule = tmp_path / "var" / "celerybeat-schedule"

    Scheduler(app=celery_app, schedule_filename=str(schedule)).close()

    assert schedule.parent.is_dir()
    assert celery_app.conf.beat_scheduler == "portal.celery:Scheduler"
