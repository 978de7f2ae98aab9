"""kombu's filesystem broker (the local default), hardened against damaged message files.

A full disk leaves zero-byte or truncated `*.msg` files behind. kombu's own channel
removes a message file before decoding it, so one bad file raises `JSONDecodeError` out
of the worker's consume loop: the worker exits, and exits again at every start while the
file is there. This channel decodes first and sets a file it cannot decode aside in the
`corrupt_folder` transport option (default: `corrupt` beside `data_folder_in`), with a
warning naming it, then goes on with the next message. It does so at any time, not only
at start. The outbox relay resends a notification whose task was in such a file.

The same disk can cut an exchange table (`control_folder/*.exchange`, the bindings
kombu reads when a worker declares its queues at start): such a table is set aside too,
and the binding being declared starts a new one.

It makes its folders when a connection first opens a channel (kombu's does not).

Selected with Celery's `broker_transport` setting (see `portal/settings/base.py`), which
takes precedence over the `filesystem://` scheme of the broker URL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

# A producer creates its file, then locks it, then writes: an empty file this young may
# be a message being written right now, so it is left for a later poll.
EMPTY_FILE_GRACE_SECONDS = 5.0


class Channel(filesystem.Channel):
    """A filesystem channel that makes its folders and sets undecodable files aside."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # kombu does not make them; the settings only name them (they touch no disk).
        for folder in (
            self.data_folder_in,
            self.data_folder_out,
            self.processed_folder,
            self.control_folder,
        ):
            Path(folder).mkdir(parents=True, exist_ok=True)

    @cached_property
    def corrupt_folder(self) -> Path:
        folder = self.transport_options.get("corrupt_folder")
        return Path(folder) if folder else Path(self.data_folder_in).parent / "corrupt"

    def _get(self, queue: str) -> dict[str, Any]:
        """The oldest decodable message of `queue`, as kombu's `_get`, decoding first."""
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != f"{queue}.msg":
                continue
            source = os.path.join(self.data_folder_in, filename)
            if _maybe_being_written(source):
                continue
            claim_folder = self.processed_folder if self.store_processed else tempfile.gettempdir()
            try:
                # The move is the claim: another consumer may have taken the file.
                claimed = shutil.move(source, claim_folder)
            except OSError:
                continue
            payload = self._read(claimed)
            try:
                message = loads(bytes_to_str(payload))
                if not isinstance(message, dict) or not isinstance(
                    message.get("properties"), dict
                ):
                    raise ValueError("not a kombu message")
            except ValueError as exc:
                self._set_aside(
                    "message file", source, claimed, exc, os.path.basename(claimed),
                    "Its task did not run: the outbox relay resends notifications, "
                    "beat runs its tasks again.",
                )  # fmt: skip
                continue
            if not self.store_processed:
                os.remove(claimed)
            return message
        raise Empty()

    def _read(self, path: str) -> bytes:
        try:
            with open(path, "rb") as file:
                # Waits for a producer still holding its exclusive lock while it writes.
                filesystem.lock(file, filesystem.LOCK_SH)
                try:
                    return file.read()
                finally:
                    filesystem.unlock(file)
        except OSError as exc:
            raise ChannelError(f"Cannot read file {path!r} from queue.") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        # A worker declares each binding it consumes when it starts, so an exchange table
        # that cannot be decoded is set aside and this binding starts a new one.
        self._with_decodable_table(
            exchange, super()._queue_bind, exchange, routing_key, pattern, queue
        )

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs) -> None:
        self._with_decodable_table(
            exchange, super()._delete, queue, exchange, routing_key, pattern, *args, **kwargs
        )

    def _with_decodable_table(self, exchange: str, action, *args, **kwargs) -> Any:
        table = self._exchange_file(exchange)
        deadline = time.monotonic() + EMPTY_FILE_GRACE_SECONDS
        while True:
            try:
                return action(*args, **kwargs)
            except ValueError as exc:
                if _maybe_being_written(str(table)) and time.monotonic() < deadline:
                    time.sleep(0.1)  # a producer between creating the file and writing it
                    continue
                unique = f"{table.name}.{time.time_ns()}"
                self._set_aside(
                    "exchange table", str(table), str(table), exc, unique,
                    "Workers declare their bindings again when they start.",
                )  # fmt: skip
                break
        return action(*args, **kwargs)

    def _set_aside(
        self, what: str, source: str, current: str, error: Exception, name: str, outcome: str
    ) -> None:
        """Move the undecodable file `source` (now at `current`) to the corrupt folder."""
        self.corrupt_folder.mkdir(parents=True, exist_ok=True)
        target = self.corrupt_folder / name
        try:
            shutil.move(current, target)
        except OSError:
            logger.warning(
                "Broker %s %s could not be decoded (%s) nor moved to %s; it was removed. %s",
                what,
                source,
                error,
                self.corrupt_folder,
                outcome,
                exc_info=True,
            )
            with contextlib.suppress(OSError):
                os.remove(current)
            return
        logger.warning(
            "Broker %s %s could not be decoded (%s); moved to %s. %s",
            what,
            source,
            error,
            target,
            outcome,
        )


class Transport(filesystem.Transport):
    Channel = Channel


def _maybe_being_written(path: str) -> bool:
    try:
        stat = os.stat(path)
    except OSError:
        return True  # gone already: another consumer took it
    return stat.st_size == 0 and time.time() - stat.st_mtime < EMPTY_FILE_GRACE_SECONDS
