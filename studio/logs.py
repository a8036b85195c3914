"""Logging for the app and `studio serve`: stderr plus a rotating file in the user's log folder,
with a filter that scrubs secrets from every record before any handler sees it."""

from __future__ import annotations

import logging
import logging.handlers
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
        message = record.getMessage()
        cleaned = redact_text(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, so the formatter never prints the raw one.
            cleaned += "\n" + redact_text(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, ()
        return True


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
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT,
                                             encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler._studio = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
    return log_file
