import pytest
from django.core.management import call_command

from cases.models import Case


def test_my_cases_needs_login(client, db):
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_demo_pages_render_for_customer_and_engineer(client):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    assert Case.objects.count() == 10
    client.force_login(Case.objects.get(subject__startswith="Kubernetes").requester)
    response = client.get("/cases/")
    assert response.status_code == 200
    assert b'data-case-status="pending_customer"' in response.content
    case = Case.objects.get(subject__startswith="Kubernetes")
    assert client.get(case.get_absolute_url()).status_code == 200
    late = Case.objects.get(subject__startswith="Dashboard")
    assert b"We aimed to reply by" in client.get(late.get_absolute_url()).content
    assert client.get("/help/case-statuses/").status_code == 200
    client.logout()
    client.force_login(case.assignee)
    assert client.get("/admin/cases/case/").status_code == 200
    assert client.get(f"/admin/cases/case/{case.pk}/change/").status_code == 200
