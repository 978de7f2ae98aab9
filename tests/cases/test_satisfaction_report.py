"""The rating given with Confirm it worked: on the admin case page and in the report."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import selectors, services
from tests.factories import CaseFactory, EngineerFactory, customer

pytestmark = pytest.mark.django_db

REPORT = "/admin/cases/case/satisfaction/"


def confirmed(engineer, rating: str, when: str, time_machine, comment: str = ""):
    time_machine.move_to(datetime.fromisoformat(when).replace(tzinfo=UTC), tick=False)
    case = CaseFactory(resolved=True, engineer=engineer)
    services.case_confirm_resolution(
        case=case, customer=case.requester, rating=rating, comment=comment
    )
    return case


def test_admin_case_page_shows_the_customers_rating_and_comment(client, time_machine):
    engineer = EngineerFactory()
    case = confirmed(engineer, "bad", "2026-03-02 09:00", time_machine, comment="Took <b>days</b>")
    client.force_login(engineer)
    page = client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "Customer&#x27;s rating (given with Confirm it worked)" in page
    assert "No, not really" in page
    assert "Took &lt;b&gt;days&lt;/b&gt;" in page


def test_report_gives_the_share_of_good_ratings_per_engineer_and_per_month(client, time_machine):
    ana, bo = EngineerFactory(full_name="Ana"), EngineerFactory(full_name="Bo")
    confirmed(ana, "good", "2026-02-10 09:00", time_machine)
    confirmed(ana, "good", "2026-03-02 09:00", time_machine)
    confirmed(ana, "bad", "2026-03-03 09:00", time_machine)
    confirmed(bo, "bad", "2026-03-04 09:00", time_machine)
    unrated = CaseFactory(resolved=True, engineer=bo)
    services.case_confirm_resolution(case=unrated, customer=unrated.requester)

    report = selectors.satisfaction_report()
    engineers = [
        (r["assignee__full_name"], r["total"], r["good"], r["share"])
        for r in report["per_engineer"]
    ]
    assert engineers == [("Ana", 3, 2, 67), ("Bo", 1, 0, 0)]
    months = [(r["month"].strftime("%Y-%m"), r["total"], r["share"]) for r in report["per_month"]]
    assert months == [("2026-03", 3, 33), ("2026-02", 1, 100)]

    client.force_login(ana)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(REPORT)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<td>Ana</td><td>3</td><td>2</td><td>67%</td>" in text
    assert (
        '<tr data-month="2026-02"><td>February 2026</td><td>1</td><td>1</td><td>100%</td>' in text
    )
    # Session, user, then the two aggregates: no query per row.
    assert len([q for q in queries.captured_queries if "cases_case" in q["sql"]]) == 2


def test_report_is_linked_from_the_case_list(client):
    engineer = EngineerFactory()
    client.force_login(engineer)
    assert f'href="{REPORT}"' in client.get("/admin/cases/case/").content.decode()


def test_report_is_for_staff_only(client):
    client.force_login(customer())
    response = client.get(REPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.logout()
    assert client.get(REPORT).status_code == 302
