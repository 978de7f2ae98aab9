"""Email for local runs: printed readable, not as the raw MIME message.

Django's console backend prints what would go on the wire: quoted-printable text and
the HTML part in full, which nobody can read in `make run`'s log. This one prints the
headers a person checks (who, subject, where a reply goes) and the plain-text body as
text. It is only the local default (settings.EMAIL_BACKEND unset); tests and
production never use it.
"""

from __future__ import annotations

from django.core.mail.backends.console import EmailBackend

SHOWN_HEADERS = ("Message-ID", "In-Reply-To", "X-Case-Reference")


class ReadableConsoleBackend(EmailBackend):
    def write_message(self, message) -> None:
        lines = [
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
        ]
        if message.reply_to:
            lines.append(f"Reply-To: {', '.join(message.reply_to)}")
        lines.append(f"Subject: {message.subject}")
        lines.extend(
            f"{name}: {message.extra_headers[name]}"
            for name in SHOWN_HEADERS
            if name in message.extra_headers
        )
        parts = [mimetype for _, mimetype in getattr(message, "alternatives", [])]
        parts += [f"attachment {attachment[0]}" for attachment in message.attachments]
        if parts:
            lines.append(f"Also: {', '.join(str(part) for part in parts)} (not shown)")
        lines += ["", message.body.rstrip(), "-" * 79, ""]
        self.stream.write("\n".join(lines))
