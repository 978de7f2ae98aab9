"""/accounts/ping/: the cheapest signed-in page (health checks, the benchmark's floor)."""


def test_ping_answers_ok_to_a_signed_in_user(client, db, customer):
    client.force_login(customer)

    response = client.get("/accounts/ping/")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Cache-Control"] == "private, no-store"


def test_ping_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/accounts/ping/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
