"""Logging for the app and `studio serve`: stderr plus a rotating file in the user's log folder,
with a filter that scrubs secrets from every record before any handler sees it."""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

LOG_FILE_BYTES = 2 * 1024 * 1024
LOG_FILE_COUNT = 5

_SECRET_PATTERNS = [
    # Authorization: Bearer sk-... / api-key: ... in headers printed as text, dicts or JSON
    (re.compile(r"(?i)(['\"]?(?:authorization|api-key|x-api-key|openai-api-key)['\"]?\s*[:=]\s*['\"]?)"
                r"(?:bearer\s+)?[^\s'\",}]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-[REDACTED]"),
]


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys from free text: known header shapes, `sk-` keys, and any given secret."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets removed (args are merged first)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted_for", None) == self.secrets:
            return True  # another handler's filter already cleaned this record (the same secrets)
        message = record.getMessage()
        cleaned = redact_text(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so the formatter never prints the raw one.
            cleaned += "\n" + redact_text(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, ()
        record._redacted_for = self.secrets
        return True


class _FormatOnce(logging.Formatter):
    """A formatter that formats each record once, however many handlers (and the log file's
    size check) ask: `studio serve` logs a line per run, and formatting it three times (file
    size check, file, stderr) was a visible share of a webhook execution."""

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get("_formatted")
        if cached is not None and cached[0] is self:
            return cached[1]
        text = super().format(record)
        record._formatted = (self, text)
        return text


class _LogFile(logging.handlers.RotatingFileHandler):
    """The rotating log file, without the standard handler's two `stat` calls per record (is the
    file a regular one? asked once, when opened: only a regular file is rotated)."""

    def _open(self):  # type: ignore[override]
        self._regular = not os.path.exists(self.baseFilename) or os.path.isfile(self.baseFilename)
        return super()._open()

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self.stream is None:  # delay was set
            self.stream = self._open()
        if not self._regular or self.maxBytes <= 0:
            return False
        self.stream.seek(0, 2)  # another process may have written to the same file
        return self.stream.tell() + len(self.format(record)) + 1 >= self.maxBytes


def setup_logging(level: int = logging.INFO, *, log_file: Path | None = None, to_stderr: bool = True) -> Path:
    """Configure the `studio` logger once; returns the log file path."""
    if log_file is None:
        from studio.paths import log_dir

        log_file = log_dir() / "studio.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("studio")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_studio", False):
            logger.removeHandler(handler)
            handler.close()
    formatter = _FormatOnce("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        _LogFile(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT,
                                             encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler._studio = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
    return log_file
