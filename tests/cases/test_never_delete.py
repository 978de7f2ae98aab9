"""Support history is never deleted or rewritten: not by code, cascade or raw SQL."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from cases import services
from cases.exceptions import DeletionForbidden
from cases.models import Attachment, Case, CaseEvent, Message, Status
from tests.factories import CaseFactory, EngineerFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def history():
    """A closed case with a thread, an attachment and a history."""
    case = CaseFactory(in_progress=True)
    services.case_resolve(case=case, engineer=case.assignee, message="Fixed in 2.4.1.")
    services.case_close(case=case, actor=case.requester)
    message = MessageFactory(case=case, body="Thanks, logs attached.")
    attachment = Attachment.objects.create(
        message=message,
        file=ContentFile(b"kubelet log", name="kubelet.log"),
        filename="kubelet.log",
        content_type="text/plain",
        size=11,
    )
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    return case, message, attachment, case.events.first()


def counts() -> tuple[int, int, int, int]:
    return (
        Case.objects.count(),
        Message.objects.count(),
        Attachment.objects.count(),
        CaseEvent.objects.count(),
    )


@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["case", "message", "attachment", "event"])
def test_deleting_one_row_raises(history, index):
    before = counts()
    with pytest.raises(DeletionForbidden):
        history[index].delete()
    assert counts() == before


@pytest.mark.parametrize("model", [Case, Message, Attachment, CaseEvent])
def test_deleting_through_a_queryset_raises(history, model):
    before = counts()
    with pytest.raises(DeletionForbidden):
        model.objects.all().delete()
    with pytest.raises(DeletionForbidden):
        model.objects.filter(pk__in=[history[0].pk]).delete()
    assert counts() == before


def test_deleting_through_related_managers_raises(history):
    case = history[0]
    before = counts()
    with pytest.raises(DeletionForbidden):
        case.messages.all().delete()
    with pytest.raises(DeletionForbidden):
        case.events.all().delete()
    with pytest.raises(DeletionForbidden):
        history[1].attachments.all().delete()
    assert counts() == before


def test_history_entries_cannot_be_updated_through_the_orm(history):
    event = history[3]
    original = (event.from_status, event.to_status, event.reason)

    with pytest.raises(DeletionForbidden):
        CaseEvent.objects.filter(pk=event.pk).update(reason="Nothing happened")
    with pytest.raises(DeletionForbidden):
        event.reason = "Nothing happened"
        CaseEvent.objects.bulk_update([event], ["reason"])
    with pytest.raises(DeletionForbidden):
        event.save()
    with pytest.raises(DeletionForbidden):
        event.save(update_fields=["reason"])

    event.refresh_from_db()
    assert (event.from_status, event.to_status, event.reason) == original


def test_new_history_entries_can_still_be_written(history):
    case = history[0]
    written = case.events.count()
    CaseEvent.objects.create(
        case=case,
        transition="note",
        from_status="closed",
        to_status="closed",
        actor_kind="customer",
    )
    assert case.events.count() == written + 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guards are PostgreSQL triggers")
@pytest.mark.parametrize(
    ("table", "statement"),
    [
        ("cases_case", "DELETE FROM cases_case WHERE id = %s"),
        ("cases_message", "DELETE FROM cases_message WHERE case_id = %s"),
        (
            "cases_attachment",
            "DELETE FROM cases_attachment WHERE message_id IN "
            "(SELECT id FROM cases_message WHERE case_id = %s)",
        ),
        ("cases_caseevent", "DELETE FROM cases_caseevent WHERE case_id = %s"),
        ("cases_caseevent", "UPDATE cases_caseevent SET reason = 'rewritten' WHERE case_id = %s"),
    ],
)
def test_database_refuses_raw_sql_that_deletes_or_rewrites_history(history, table, statement):
    case = history[0]
    before = counts()
    with (
        pytest.raises(DatabaseError, match=f"never deleted or rewritten.*{table}"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [case.pk])
    assert counts() == before
    assert not CaseEvent.objects.filter(reason="rewritten").exists()


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guards are PostgreSQL triggers")
def test_raw_sql_can_still_append_history(history):
    # The guard is on rows: inserting history by raw SQL still works.
    case = history[0]
    written = case.events.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_caseevent (case_id, transition, from_status, to_status,"
            " actor_kind, reason, created_at) VALUES (%s, 'note', 'closed', 'closed',"
            " 'customer', '', now())",
            [case.pk],
        )
    assert case.events.count() == written + 1


def test_deleting_a_customer_who_has_cases_is_refused(history):
    case = history[0]
    with pytest.raises(ProtectedError) as refused:
        case.requester.delete()
    assert case in refused.value.protected_objects
    assert Case.objects.filter(pk=case.pk).exists()


def test_deleting_an_engineer_who_worked_cases_is_refused(history):
    case = history[0]
    engineer = case.assignee
    assert not hasattr(engineer, "membership")
    with pytest.raises(ProtectedError) as refused:
        engineer.delete()
    assert case in refused.value.protected_objects
    assert type(engineer).objects.filter(pk=engineer.pk).exists()


def test_deleting_an_engineer_who_never_touched_a_case_is_allowed(db):
    # Protection is about history, not about users in general.
    engineer = EngineerFactory()
    engineer.delete()
    assert not type(engineer).objects.filter(pk=engineer.pk).exists()


def test_deleting_an_organisation_with_cases_is_refused(history):
    case = history[0]
    organisation = case.organisation
    with pytest.raises(ProtectedError) as refused:
        organisation.delete()
    assert case in refused.value.protected_objects
    assert Case.objects.filter(pk=case.pk, organisation=organisation).exists()
