"""Attachment rules, shared by the web, the admin and email: size, count, a type the
file's content confirms, clean filenames, the form field and the download response."""

from __future__ import annotations

import os
import unicodedata
from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat
from django.utils.functional import lazy
from django.utils.text import get_valid_filename

from cases.text import clean_line

if TYPE_CHECKING:
    from cases.models import Attachment

# Extension -> (content type, check on the first bytes). Text files must be UTF-8 text;
# binary types must start with their magic number, so a renamed executable is refused.
TEXT_TYPES = {
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".yaml": "text/plain",
    ".yml": "text/plain",
    ".tf": "text/plain",
    ".xml": "text/plain",
    ".md": "text/plain",
}
BINARY_TYPES = {
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".zip": ("application/zip", (b"PK\x03\x04", b"PK\x05\x06")),
    ".gz": ("application/gzip", (b"\x1f\x8b",)),
}
ALLOWED_EXTENSIONS = sorted({*TEXT_TYPES, *BINARY_TYPES})


def clean_filename(name: str) -> str:
    """The uploader's name made safe to show and to offer back for download."""
    base = os.path.basename(clean_line(name).replace("\\", "/"))
    base = unicodedata.normalize("NFKC", base)
    try:
        cleaned = get_valid_filename(base)
    except Exception:  # noqa: BLE001 - "", "." and ".." are refused by Django
        cleaned = "attachment"
    return cleaned[-120:] or "attachment"


def _is_tricky_name(name: str) -> bool:
    """Folders, parent references or invisible characters (e.g. a right-to-left override
    that makes `gpj.exe` read as `exe.jpg`) in a name the uploader chose."""
    if "/" in name or "\\" in name or not name.strip(". "):
        return True
    return any(unicodedata.category(char).startswith("C") for char in name)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is still text.
        return error.start >= len(head) - 3
    return True


def verify_upload(upload: UploadedFile) -> UploadedFile:
    """Raise ValidationError unless the file is small enough and is what its name says.

    Sets `verified_content_type`, the type the download is served as.
    """
    name = clean_filename(upload.name or "")
    if _is_tricky_name(upload.name or ""):
        raise ValidationError(
            f"“{name}” has a file name we cannot accept (folders or hidden characters). "
            "Rename the file and attach it again."
        )
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            f"“{name}” is {filesizeformat(upload.size)}; the limit is "
            f"{filesizeformat(settings.ATTACHMENT_MAX_BYTES)} per file."
        )
    if upload.size == 0:
        raise ValidationError(f"“{name}” is empty.")
    extension = os.path.splitext(name)[1].lower()
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if extension in TEXT_TYPES and _looks_like_text(head):
        upload.verified_content_type = TEXT_TYPES[extension]
        return upload
    if extension in BINARY_TYPES:
        content_type, magics = BINARY_TYPES[extension]
        if head.startswith(magics):
            upload.verified_content_type = content_type
            return upload
    if extension not in TEXT_TYPES and extension not in BINARY_TYPES:
        raise ValidationError(
            f"“{name}” is not a file type we accept. Allowed: {', '.join(ALLOWED_EXTENSIONS)}."
        )
    raise ValidationError(f"“{name}” does not contain what its name says ({extension}).")


def verify_uploads(uploads: list[UploadedFile]) -> list[UploadedFile]:
    if len(uploads) > settings.ATTACHMENT_MAX_FILES:
        raise ValidationError(
            f"You can attach at most {settings.ATTACHMENT_MAX_FILES} files at a time."
        )
    errors = []
    for upload in uploads:
        try:
            verify_upload(upload)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    return uploads


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        # The limits are read when the form is shown, not when its class is defined.
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            lazy(
                lambda: (
                    f"Up to {settings.ATTACHMENT_MAX_FILES} files, "
                    f"{filesizeformat(settings.ATTACHMENT_MAX_BYTES)} each "
                    f"({', '.join(ALLOWED_EXTENSIONS)})."
                ),
                str,
            )(),
        )
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", ",".join(ALLOWED_EXTENSIONS))
        # For the browser's check before sending (static/js/portal.js).
        self.widget.attrs.setdefault(
            "data-max-files", lazy(lambda: str(settings.ATTACHMENT_MAX_FILES), str)()
        )
        self.widget.attrs.setdefault(
            "data-max-bytes", lazy(lambda: str(settings.ATTACHMENT_MAX_BYTES), str)()
        )

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        files = [super(AttachmentsField, self).clean(item, initial) for item in files]
        return verify_uploads([f for f in files if f])


def attachment_file_response(attachment: Attachment) -> FileResponse:
    """An attachment as a download, never rendered inline, never cached by proxies.

    Callers have checked that the person may see it (customer page or admin).

    The bytes go through the portal from the storage (the local disk or a private
    bucket), never by a redirect to a signed bucket URL: the download then keeps the
    headers set here and by the portal's middleware (Content-Disposition, nosniff, CSP,
    no-store), cannot be passed on while a signature is valid, and works the same on
    either storage. Attachments are small (ATTACHMENT_MAX_BYTES), so the bytes cost
    the web process little.
    """
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
