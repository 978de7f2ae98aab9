"""Attachments: size, count, type and name checks on upload; permission-checked download.

Every test runs on both storages the portal keeps files on: the local disk and an
S3-compatible bucket (`file_storage`, tests/storage.py).
"""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from cases import services
from cases.attachments import verify_upload
from cases.models import Attachment, Case, Message
from tests.factories import CaseFactory, customer
from tests.storage import stored_names

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def upload(name: str, content: bytes = b"hello\n", content_type: str = "text/plain"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files() -> list[str]:
    return stored_names(default_storage)


@pytest.fixture
def open_case(client, customer):
    client.force_login(customer)
    return CaseFactory(requester=customer, open=True)


def reply_with(client, case, files):
    return client.post(
        f"/cases/{case.reference}/reply/", {"body": "See attached", "attachments": files}
    )


def open_with(client, files):
    return client.post(
        "/cases/new/",
        {"subject": "Broken", "priority": 3, "description": "Details", "attachments": files},
    )


def assert_refused_and_nothing_saved(response, message: str):
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert not Attachment.objects.exists()
    assert not Message.objects.exists()
    assert stored_files() == []


# --- Accepted -------------------------------------------------------------------------


def test_log_and_image_are_stored_under_a_name_of_our_own(client, open_case):
    response = reply_with(
        client, open_case, [upload("server.log"), upload("shot.png", PNG, "image/png")]
    )

    assert response.status_code == 302
    log, image = Attachment.objects.order_by("id")
    assert (log.filename, log.content_type) == ("server.log", "text/plain")
    assert (image.filename, image.content_type) == ("shot.png", "image/png")
    for attachment in (log, image):
        assert attachment.file.name.startswith("attachments/")
        assert attachment.filename not in attachment.file.name
    assert stored_files() == sorted([log.file.name, image.file.name])
    with image.file.open("rb") as stored:
        assert stored.read() == PNG


def test_folder_parts_of_an_uploaded_name_never_reach_the_disk(client, open_case):
    # Django's multipart parser already drops folders; the stored path is ours anyway.
    reply_with(client, open_case, [upload("../../../etc/cron.d/evil.txt")])

    attachment = Attachment.objects.get()
    assert attachment.filename == "evil.txt"
    (name,) = stored_files()
    assert name == attachment.file.name
    assert name.startswith("attachments/") and ".." not in name and "evil" not in name


# --- Refused --------------------------------------------------------------------------


def test_oversize_file_is_refused(client, open_case, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024

    response = reply_with(client, open_case, [upload("big.log", b"x" * 2048)])

    assert_refused_and_nothing_saved(
        response, "“big.log” is 2.0\xa0KB; the limit is 1.0\xa0KB per file."
    )


def test_too_many_files_are_refused(client, open_case, settings):
    settings.ATTACHMENT_MAX_FILES = 2

    response = reply_with(client, open_case, [upload(f"{n}.log") for n in range(3)])

    assert_refused_and_nothing_saved(response, "You can attach at most 2 files at a time.")


def test_executable_renamed_as_image_is_refused(client, open_case):
    response = reply_with(client, open_case, [upload("holiday.png", WINDOWS_EXE, "image/png")])

    assert_refused_and_nothing_saved(
        response, "“holiday.png” does not contain what its name says (.png)."
    )


def test_binary_renamed_as_text_is_refused(client, open_case):
    response = reply_with(client, open_case, [upload("notes.txt", WINDOWS_EXE)])

    assert_refused_and_nothing_saved(response, "“notes.txt” does not contain what its name says")


@pytest.mark.parametrize("name", ["setup.exe", "page.html", "script.svg", "noextension"])
def test_types_we_do_not_accept_are_refused(client, open_case, name):
    response = reply_with(client, open_case, [upload(name)])

    assert_refused_and_nothing_saved(response, "is not a file type we accept")


def test_invisible_characters_never_reach_the_stored_name(client, open_case):
    # U+202E shows "invoice\u202egnp.log" as "invoicegol.png"; Django's parser drops it,
    # and the content must still match the real extension.
    reply_with(client, open_case, [upload("invoice\u202egnp.log")])

    assert Attachment.objects.get().filename == "invoicegnp.log"


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "..\\..\\boot.ini.txt",
        "..",
        "ok\x00.txt",
        "invoice\u202egnp.exe.log",
    ],
)
def test_path_tricks_in_names_from_any_caller_are_refused(name):
    file = upload("placeholder.txt")
    file._name = name  # as a non-HTTP caller could pass it; Django's parser strips folders

    with pytest.raises(ValidationError, match="file name we cannot accept"):
        verify_upload(file)


def test_a_refused_file_on_open_case_saves_no_case(client, customer):
    client.force_login(customer)

    response = open_with(client, [upload("ok.log"), upload("bad.png", WINDOWS_EXE)])

    assert_refused_and_nothing_saved(response, "“bad.png” does not contain what its name says")
    assert not Case.objects.exists()
    # What was typed is still in the form.
    assert 'value="Broken"' in response.content.decode()


# --- Download -------------------------------------------------------------------------


@pytest.fixture
def attachment():
    case = CaseFactory(open=True)
    file = upload("build output.log", b"error: it broke\n")
    file.verified_content_type = "text/plain"
    message = services.case_reply(case=case, author=case.requester, body="log", attachments=[file])
    return message.attachments.get()


def download_url(attachment, reference: str | None = None) -> str:
    reference = reference or attachment.message.case.reference
    return f"/cases/{reference}/attachments/{attachment.pk}/"


def test_download_is_served_as_an_attachment(client, attachment):
    client.force_login(attachment.message.case.requester)

    response = client.get(download_url(attachment))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="build_output.log"'
    assert response["Content-Type"] == "text/plain"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == b"error: it broke\n"


def test_download_by_a_colleague_allowed_to_see_the_organisation(client, attachment):
    client.force_login(customer(attachment.message.case.organisation, sees_organisation=True))

    response = client.get(download_url(attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"error: it broke\n"


@pytest.mark.parametrize("intruder", ["same_organisation", "other_organisation"])
def test_download_of_someone_elses_attachment_answers_404(client, attachment, intruder):
    case = attachment.message.case
    client.force_login(
        customer(case.organisation) if intruder == "same_organisation" else customer()
    )

    response = client.get(download_url(attachment))

    assert response.status_code == 404
    assert b"it broke" not in response.content


def test_download_through_my_own_case_reference_cannot_reach_another_cases_file(
    client, attachment
):
    mine = CaseFactory()
    client.force_login(mine.requester)

    response = client.get(download_url(attachment, reference=mine.reference))

    assert response.status_code == 404


def test_download_of_an_internal_notes_attachment_answers_404(client):
    case = CaseFactory(open=True)
    note = services.case_add_internal_note(case=case, engineer=case.assignee, body="internal")
    file = upload("secret.log", b"internal only\n")
    hidden = Attachment.objects.create(
        message=note, file=file, filename="secret.log", content_type="text/plain", size=14
    )
    client.force_login(case.requester)

    assert client.get(download_url(hidden)).status_code == 404


def test_download_by_anonymous_visitor_redirects_to_sign_in(client, attachment):
    response = client.get(download_url(attachment))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_download_refuses_post(client, attachment):
    client.force_login(attachment.message.case.requester)

    assert client.post(download_url(attachment)).status_code == 405


def test_the_reply_form_states_the_limits_in_force_when_it_is_shown(client, open_case, settings):
    settings.ATTACHMENT_MAX_FILES = 2
    settings.ATTACHMENT_MAX_BYTES = 1024

    content = client.get(open_case.get_absolute_url()).content.decode()

    assert "Up to 2 files, 1.0\xa0KB each" in content
    assert 'data-max-files="2"' in content
    assert 'data-max-bytes="1024"' in content
