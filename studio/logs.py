"""Logging for the app and `studio serve`: stderr plus a rotating file in the user's log folder,
with a filter that scrubs secrets from every record before any handler sees it."""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

LOG_FILE_BYTES = 2 * 1024 * 1024
LOG_FILE_COUNT = 5

_SECRET_PATTERNS = [
    # Authorization: Bearer sk-... / api-key: ... in headers printed as text, dicts or JSON
    (re.compile(r"(?i)(['\"]?(?:authorization|api-key|x-api-key|openai-api-key)['\"]?\s*[:=]\s*['\"]?)"
                r"(?:bearer\s+)?[^\s'\",}]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-[REDACTED]"),
]

# Each pattern above needs one of these words (with the same case rules): text without any is left as it is.
_SECRET_WORD = re.compile(r"(?i:authorization|api-key|bearer)|sk-")


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys from free text: known header shapes, `sk-` keys, and any given secret."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    if _SECRET_WORD.search(text) is None:  # most text (a log line per run): one scan, no rewrite
        return text
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
    """A formatter that formats each record once, however many handlers ask (the log file and
    stderr): `studio serve` logs a line per run."""

    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging's, with the date and time text made once per second, not per line."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(record.created)))
            self._second = cached  # one assignment: handlers on other threads see either value
        return self.default_msec_format % (cached[1], record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get("_formatted")
        if cached is not None and cached[0] is self:
            return cached[1]
        text = super().format(record)
        record._formatted = (self, text)
        return text


def at_end_of_turn(scheduled_on: asyncio.AbstractEventLoop | None, callback: Any) -> asyncio.AbstractEventLoop | None:
    """Call `callback` once the running event loop's current turn ends (unless it is already
    scheduled on that loop, `scheduled_on`); returns the loop, or None when no loop runs here."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if scheduled_on is not loop:
        loop.call_soon(callback)
    return loop


class _WrittenPerLoopTurn:
    """A stream handler's lines, written together: records emitted on a running event loop are
    written (and flushed) once that loop's current turn ends, one write for all of them; records
    emitted anywhere else are written at once. `studio serve` logs a line per run, and a write and
    a flush per line (the file's and stderr's) were a visible share of a webhook execution. What a
    killed process can lose is the lines of the loop turn it was in; `flush()` writes them now."""

    _lines: list[str]
    _flush_on: asyncio.AbstractEventLoop | None = None  # the loop that will write the lines

    def _write(self, text: str) -> None:
        """Called with the handler's lock held."""
        self._lines.append(text)
        self._flush_on = at_end_of_turn(self._flush_on, self._loop_turn_ended)
        if self._flush_on is None:
            self._write_lines()

    def _loop_turn_ended(self) -> None:
        self.acquire()
        try:
            self._flush_on = None
            self._write_lines()
        except Exception as exc:  # noqa: BLE001 - as logging does: say so on stderr, never raise
            sys.stderr.write(f"--- Logging error: could not write log lines: {exc!r}\n")
        finally:
            self.release()

    def _write_lines(self) -> None:
        if self._lines and self.stream is not None:
            text = "".join(self._lines)
            self._lines.clear()
            self.stream.write(text)
            self.stream.flush()
            self._written()

    def _written(self) -> None:
        """After each write (the log file counts its size here)."""

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_lines()
        finally:
            self.release()
        super().flush()

    def close(self) -> None:
        try:
            self.flush()  # a handler replaced by setup_logging writes what it holds first
        except (OSError, ValueError):  # its stream is gone already (as logging.shutdown allows)
            pass
        super().close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit_text(self.format(record) + self.terminator)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging's own rule: report on stderr, never raise
            self.handleError(record)

    def _emit_text(self, text: str) -> None:
        self._write(text)


class _Stderr(_WrittenPerLoopTurn, logging.StreamHandler):
    def __init__(self) -> None:
        super().__init__()
        self._lines = []


class _LogFile(_WrittenPerLoopTurn, logging.handlers.RotatingFileHandler):
    """The rotating log file. Its size is counted as lines are written (and read back from the
    file after each write, since other processes may log to it too), instead of the standard
    handler's two `stat` calls, a seek and a second formatting per record; whether the file is a
    regular one (only those rotate) is asked once, when it is opened."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lines = []
        self._size = 0
        super().__init__(*args, **kwargs)

    def _open(self):  # type: ignore[override]
        self._regular = not os.path.exists(self.baseFilename) or os.path.isfile(self.baseFilename)
        stream = super()._open()
        stream.seek(0, 2)
        self._size = stream.tell()
        return stream

    def _written(self) -> None:
        self._size = self.stream.tell()

    def _emit_text(self, text: str) -> None:
        if self.stream is None:  # delay was set
            self.stream = self._open()
        if self._regular and 0 < self.maxBytes <= self._size + len(text):
            self._write_lines()  # what is waiting belongs to the file being rotated
            self.doRollover()
            if self.stream is None:
                self.stream = self._open()
        self._size += len(text)
        self._write(text)


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
    # The lines show none of the calling frame, thread or process: a record need not look them
    # up (logging's documented optimisation; `studio serve` logs a line per run).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logMultiprocessing = False
    formatter = _FormatOnce("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        _LogFile(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_COUNT,
                                             encoding="utf-8")]
    if to_stderr:
        handlers.append(_Stderr())
    for handler in handlers:
        handler._studio = True  # type: ignore[attr-defined]
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        logger.addHandler(handler)
    return log_file
