"""Logs rotate and never contain a key, whatever shape it is logged in."""

import logging

from studio.logs import LOG_FILE_COUNT, redact_text, setup_logging

KEY = "sk-test-0123456789abcdefghijklmnop"


def test_redact_text_covers_header_shapes_and_bare_keys():
    samples = [
        f"Authorization: Bearer {KEY}",
        f"{{'authorization': 'Bearer {KEY}'}}",
        f'{{"api-key": "{KEY}"}}',
        f"the key {KEY} was refused",
    ]
    for text in samples:
        cleaned = redact_text(text)
        assert KEY not in cleaned and "REDACTED" in cleaned, cleaned


def test_redact_text_removes_an_explicit_secret_of_any_shape():
    assert redact_text("token=abc123xyz here", ("abc123xyz",)) == "token=[REDACTED] here"


def test_log_file_is_redacted_and_rotates(tmp_path):
    log_file = setup_logging(log_file=tmp_path / "logs" / "studio.log", to_stderr=False)
    log = logging.getLogger("studio.test")
    log.info("request headers %s", {"Authorization": f"Bearer {KEY}"})
    try:
        raise RuntimeError(f"boom with {KEY}")
    except RuntimeError:
        log.exception("failed")
    for handler in logging.getLogger("studio").handlers:
        handler.flush()
    text = log_file.read_text()
    assert "request headers" in text and "boom with" in text
    assert KEY not in text

    handler = next(h for h in logging.getLogger("studio").handlers if hasattr(h, "maxBytes"))
    handler.maxBytes = 200
    for i in range(50):
        log.info("line %d %s", i, "x" * 50)
    rotated = sorted(p.name for p in log_file.parent.iterdir())
    assert "studio.log.1" in rotated and len(rotated) <= LOG_FILE_COUNT + 1
