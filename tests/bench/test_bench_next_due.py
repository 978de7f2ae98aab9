"""The bench's admin list ordered by the next reply due: it finds the case admin's column
sorted by `response_due_at`, whatever its position, and falls back to the list's own
order while there is none."""

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


@admin.display(description="Next target", ordering="response_due_at")
def next_target(case: Case) -> str:
    return str(case.response_due_at or "")


def test_without_a_next_due_column_the_list_keeps_its_own_order(monkeypatch):
    model_admin = admin.site._registry[Case]
    monkeypatch.setattr(model_admin, "list_display", ["reference_link", "subject", "status"])

    found = next_due_list(build())

    assert found.column is None
    assert found.path == "/admin/cases/case/"
    assert not found.uses_index


def test_the_column_sorted_by_response_due_at_gives_the_url(monkeypatch):
    model_admin = admin.site._registry[Case]
    monkeypatch.setattr(model_admin, "next_target", next_target, raising=False)
    monkeypatch.setattr(
        model_admin, "list_display", [*model_admin.list_display[:3], "next_target"]
    )

    found = next_due_list(build())

    # The changelist puts the action checkbox first: the column is the fifth.
    assert found.column == "next_target"
    assert found.path == "/admin/cases/case/?o=4"
    assert found.plan
