"""The bench's case page with the Context panel: the big customer's open cases are in
the mix, and the page it measures stays within its query target."""

import random

import pytest

from bench import data, mix
from bench.run import TARGETS, in_process_requests, measure_in_process, second_factor_verified
from cases.models import OPEN_STATUSES, Case
from portal.models import User

pytestmark = pytest.mark.django_db


def build() -> data.Dataset:
    return data.build(
        data.Scale(
            cases=60,
            customers=4,
            organisations=2,
            big_customer_cases=30,
            messages_per_case=2,
            due_cases=2,
            long_thread_messages=5,
            engineers=1,
        )
    )


def people(dataset: data.Dataset) -> mix.People:
    return mix.gather_people(
        big_customer_id=dataset.big_customer_id,
        customers=4,
        threaded_up_to=Case.objects.order_by("-pk").values_list("pk", flat=True).first(),
        sign_in=lambda user: (f"session={user.pk}", "csrf"),
    )


def test_the_mix_opens_the_big_customers_open_cases_in_the_admin():
    dataset = build()
    crowd = people(dataset)

    assert crowd.context_case_ids
    cases = Case.objects.filter(pk__in=crowd.context_case_ids)
    assert {case.requester_id for case in cases} == {dataset.big_customer_id}
    assert {case.status for case in cases} <= set(OPEN_STATUSES)
    line = mix._line("admin_case_context", crowd, random.Random(1))
    assert line.path == f"/admin/cases/case/{int(line.path.split('/')[4])}/change/"
    assert int(line.path.split("/")[4]) in crowd.context_case_ids
    assert line.cookie in {crowd.cookies[pk] for pk in crowd.engineers}
    assert "admin_case_context" in {page.key for page in mix.PAGES}


def test_its_target_is_fifteen_queries_and_150_ms():
    target = TARGETS["admin_case_context"]

    assert (target.max_queries, target.max_p99_ms) == (15, 150)


def test_the_page_it_measures_has_a_full_context_panel_within_its_query_target():
    dataset = build()
    engineer_pk, path = in_process_requests(dataset, people(dataset))["admin_case_context"]
    case = Case.objects.get(pk=int(path.split("/")[4]))
    assert case.requester_id == dataset.big_customer_id
    assert case.status in OPEN_STATUSES
    assert case.pk != dataset.long_thread_case_id

    measured = measure_in_process(User.objects.get(pk=engineer_pk), path, repeat=2)

    assert 0 < measured.queries <= TARGETS["admin_case_context"].max_queries


def test_engineers_pass_the_second_factor_production_asks_for(settings):
    settings.ADMIN_REQUIRE_2FA = True
    dataset = build()
    engineer = User.objects.get(pk=dataset.engineer_id)

    measured = measure_in_process(engineer, "/admin/cases/case/", repeat=1)

    assert measured.queries > 0
    customer = User.objects.get(pk=dataset.big_customer_id)
    assert second_factor_verified(customer) == {}
