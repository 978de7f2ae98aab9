"""The bench's admin list ordered by the next reply due: it finds the case admin's column
sorted by `response_due_at`, whatever its position, and its query reads the index."""

import pytest
from django.contrib import admin

from bench import data
from bench.run import next_due_list
from cases.models import Case

pytestmark = pytest.mark.django_db


def build() -> int:
    dataset = data.build(
        data.Scale(
            cases=40,
            customers=4,
            organisations=2,
            big_customer_cases=10,
            messages_per_case=0,
            due_cases=2,
            long_thread_messages=0,
            engineers=1,
        )
    )
    return dataset.engineer_id


def test_it_drives_the_case_admins_next_target_column_soonest_first():
    found = next_due_list(build())

    # The changelist puts the action checkbox first: reference, subject, next target.
    assert (found.column, found.path) == ("next_target", "/admin/cases/case/?o=3")
    assert found.plan


@pytest.mark.postgres
def test_its_query_reads_the_partial_index_in_order():
    assert next_due_list(build()).uses_index


def test_without_a_next_due_column_the_bench_refuses_to_guess(monkeypatch):
    model_admin = admin.site._registry[Case]
    monkeypatch.setattr(model_admin, "list_display", ["reference_link", "subject", "status"])

    with pytest.raises(RuntimeError, match="no column ordered by response_due_at"):
        next_due_list(build())
