"""An email backend for the fault scenarios: it records every send in a file.

Worker processes started by the scenarios use it (EMAIL_BACKEND), so the test can count
sends across processes and restarts. Environment:

- FAULTS_EMAIL_LOG: the file; one JSON line per attempt ("start") and per send ("sent").
- FAULTS_EMAIL_DELAY: seconds to wait between the two, to widen the mid-send window.
- FAULTS_PROVIDER_SCRIPT: a JSON file {"to@example.com": ["503", "timeout", "422"]}: the
  n-th attempt to that address fails as the n-th entry says; later attempts succeed.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

import requests
from anymail.exceptions import AnymailAPIError
from django.core.mail.backends.base import BaseEmailBackend


class ProviderTimeout(TimeoutError):
    """What an HTTP client raises when the provider does not answer in time."""


def _append(path: Path, record: dict) -> None:
    with path.open("a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps(record) + "\n")
        log.flush()
        os.fsync(log.fileno())
        fcntl.flock(log, fcntl.LOCK_UN)


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        log = Path(os.environ["FAULTS_EMAIL_LOG"])
        delay = float(os.environ.get("FAULTS_EMAIL_DELAY") or 0)
        for message in email_messages:
            record = {
                "notification_id": int(message.metadata["notification_id"]),
                "to": message.to[0],
                "subject": message.subject,
                "pid": os.getpid(),
            }
            attempt = sum(
                1
                for entry in read_log(log)
                if entry["to"] == record["to"] and entry["phase"] == "start"
            )
            _append(log, {**record, "phase": "start", "at": time.time()})
            self._fail_as_scripted(record["to"], attempt, message)
            time.sleep(delay)
            _append(log, {**record, "phase": "sent", "at": time.time()})
        return len(email_messages)

    def _fail_as_scripted(self, to: str, attempt: int, message) -> None:
        script_path = os.environ.get("FAULTS_PROVIDER_SCRIPT")
        if not script_path:
            return
        script = json.loads(Path(script_path).read_text()).get(to, [])
        if attempt >= len(script) or script[attempt] == "ok":
            return
        answer = script[attempt]
        if answer == "timeout":
            raise ProviderTimeout("The provider did not answer within 10 seconds")
        # Shaped like a real ESP backend's error: the HTTP response travels with it.
        response = requests.Response()
        response.status_code = int(answer)
        response.reason = {503: "Service Unavailable", 422: "Unprocessable Entity"}.get(
            response.status_code, "Error"
        )
        response._content = json.dumps({"message": f"Provider answered {answer}"}).encode()
        raise AnymailAPIError(
            f"Provider answered {answer}",
            status_code=response.status_code,
            response=response,
            email_message=message,
        )
