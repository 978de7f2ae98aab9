"""Attachments on either storage the portal runs on: the local disk, and an S3-compatible
bucket behind a real HTTP endpoint (moto's server on loopback, one per test process).

Tests that take the `file_storage` fixture (tests/conftest.py) run once on each.
"""

from __future__ import annotations

import logging
import uuid

import boto3
from django.core.files.storage import Storage

from portal.settings.base import s3_storage

REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}


class S3Endpoint:
    """moto's S3 server on 127.0.0.1, on a port the system picks (free per worker)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # One log line per request would bury a failing test's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["access_key"],
            aws_secret_access_key=CREDENTIALS["secret_key"],
        )

    def new_bucket(self) -> str:
        """An empty bucket of its own for one test."""
        name = f"attachments-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def storage_settings(self, bucket: str) -> dict:
        """The `default` storage as production configures it, pointed at this server."""
        return s3_storage(
            bucket_name=bucket, endpoint_url=self.url, region_name=REGION, **CREDENTIALS
        )

    def stop(self) -> None:
        self._server.stop()


def stored_names(storage: Storage, folder: str = "attachments") -> list[str]:
    """Every file stored under `folder`, on disk or in a bucket."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for sub in folders:
        names += stored_names(storage, f"{folder}/{sub}")
    return sorted(names)
