"""Attachments in an S3-compatible bucket stay private: objects carry no public grant,
are opaque bytes a browser would save rather than render, and are never overwritten;
customers get them from the portal, never from the bucket.

What holds on both storages (uploads, downloads, permissions) is in test_attachments.py.
"""

import pytest
from django.core.files.base import ContentFile

from cases.models import Attachment
from tests.factories import CaseFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("file_storage", ["s3"], indirect=True),
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def test_an_uploaded_file_is_a_private_opaque_object(client, customer, file_storage, s3_endpoint):
    case = CaseFactory(requester=customer, open=True)
    client.force_login(customer)
    screenshot = ContentFile(PNG, name="shot.png")
    client.post(f"/cases/{case.reference}/reply/", {"body": "See", "attachments": [screenshot]})
    attachment = Attachment.objects.get()
    bucket, key = file_storage.bucket_name, attachment.file.name

    grants = s3_endpoint.client().get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert not [g for g in grants if g["Grantee"].get("URI") in PUBLIC_GROUPS]
    stored = s3_endpoint.client().head_object(Bucket=bucket, Key=key)
    assert (stored["ContentType"], stored["ContentDisposition"]) == (
        "application/octet-stream",
        "attachment",
    )

    response = client.get(f"/cases/{case.reference}/attachments/{attachment.pk}/")
    # The bytes come from the portal with the checked type, not by a redirect.
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
    assert b"".join(response.streaming_content) == PNG
    assert s3_endpoint.url not in str(response.headers)


def test_a_name_taken_in_the_bucket_is_never_overwritten(file_storage):
    first = file_storage.save("attachments/2026/03/taken", ContentFile(b"first"))
    second = file_storage.save("attachments/2026/03/taken", ContentFile(b"second"))

    assert second != first
    with file_storage.open(first) as kept:
        assert kept.read() == b"first"
