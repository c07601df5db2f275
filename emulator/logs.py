"""Logging set-up: one handler on stderr, text or JSON lines, configured once at start-up.

Log calls that carry structured data pass it as `extra={"fields": {...}}` (names a user
searches for: operation, status, ms, request_id, job, kind, from, to, ...). The text format
prints the message only (the message already names what matters); the JSON format prints
one object per line with `time`, `level`, `logger`, `message` and every field.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `record.fields` (a dict) is merged in."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Replaces the root logger's handlers with one stderr handler. level: one of LEVELS;
    fmt: "text" or "json". Third-party loggers stay at warning unless level is debug."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING if level != "debug" else logging.DEBUG)
    logging.getLogger("emulator").setLevel(level.upper())
    # hypercorn logs its own errors through "hypercorn.error"; keep them, at warning.
    logging.getLogger("hypercorn.error").setLevel(logging.WARNING if level != "debug" else logging.DEBUG)
