"""The signed-in user is loaded with their membership, and still checked on every request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import customer

pytestmark = pytest.mark.django_db


def test_the_user_comes_with_their_membership_in_one_query(client):
    user = customer(sees_organisation=True)
    client.force_login(user)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/accounts/ping/")

    assert response.status_code == 200
    assert len(captured.captured_queries) == 2  # the session, the user with membership
    assert "portal_membership" in captured.captured_queries[1]["sql"]


def test_a_deactivated_customer_is_signed_out_on_their_next_request(client):
    user = customer()
    client.force_login(user)
    user.is_active = False
    user.save()

    response = client.get("/cases/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_engineer_without_a_membership_signs_in(client, engineer):
    client.force_login(engineer)

    assert client.get("/admin/cases/case/").status_code == 200
