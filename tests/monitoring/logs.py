"""Log lines as production writes them, and a task that writes one, for the tests of
the request id (here and in tests/integration/)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator

from portal.celery import app as celery_app
from portal.monitoring import request_id
from portal.settings.base import logging_config

logger = logging.getLogger("tests.monitoring")


@celery_app.task(name="tests.monitoring.log_a_line")
def log_a_line() -> str | None:
    logger.warning("In the task")
    return request_id.current()


@contextlib.contextmanager
def json_log_lines() -> Iterator[Callable[[], list[dict]]]:
    """The root logger's lines in production's JSON format, parsed, while it lasts."""
    config = logging_config("json", "INFO")
    configurator = logging.config.DictConfigurator(config)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configurator.configure_formatter(config["formatters"]["json"]))
    handler.addFilter(configurator.configure_filter(config["filters"]["request_id"]))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
