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


def _studio_handlers():
    return logging.getLogger("studio").handlers


async def test_lines_logged_on_a_loop_are_written_together_when_its_turn_ends(tmp_path, capsys):
    import asyncio

    log_file = setup_logging(log_file=tmp_path / "logs" / "studio.log")
    log = logging.getLogger("studio.serve")
    for i in range(3):
        log.info("run %d of %r: succeeded with %s", i, "flow", f"Bearer {KEY}")
    assert "run 0" not in log_file.read_text()  # still waiting for the end of this turn
    await asyncio.sleep(0)
    text = log_file.read_text()
    err = capsys.readouterr().err
    for shown in (text, err):
        lines = [line for line in shown.splitlines() if "studio.serve" in line]
        assert [line.split(": ", 1)[1].split(" with ")[0] for line in lines] == [
            f"run {i} of 'flow': succeeded" for i in range(3)]
        assert KEY not in shown and "REDACTED" in shown


def test_lines_left_by_a_closed_loop_are_written_by_the_next_line_or_a_flush(tmp_path):
    import asyncio

    log_file = setup_logging(log_file=tmp_path / "logs" / "studio.log", to_stderr=False)
    log = logging.getLogger("studio.serve")
    loop = asyncio.new_event_loop()

    async def last_words() -> None:
        log.info("said on a loop that then closed")

    loop.run_until_complete(last_words())
    loop.close()  # its turn's callbacks may never have run
    log.info("said after it, with no loop")
    lines = [line for line in log_file.read_text().splitlines() if "studio.serve" in line]
    assert [line.split(": ", 1)[1] for line in lines] == ["said on a loop that then closed",
                                                           "said after it, with no loop"]

    async def pending() -> None:
        log.info("flushed at once")
        for handler in _studio_handlers():
            handler.flush()
        assert "flushed at once" in log_file.read_text()

    asyncio.run(pending())


def test_the_log_file_rotates_by_its_size_when_lines_are_written_per_loop_turn(tmp_path):
    import asyncio

    log_file = setup_logging(log_file=tmp_path / "logs" / "studio.log", to_stderr=False)
    handler = next(h for h in _studio_handlers() if hasattr(h, "maxBytes"))
    handler.maxBytes = 400
    log = logging.getLogger("studio.serve")

    async def many() -> None:
        for i in range(40):
            log.info("line %d %s", i, "x" * 40)
            if i % 5 == 4:
                await asyncio.sleep(0)

    asyncio.run(many())
    for h in _studio_handlers():
        h.flush()
    files = sorted(log_file.parent.iterdir())
    assert len(files) == LOG_FILE_COUNT + 1
    assert all(f.stat().st_size <= 400 for f in files)
    assert "line 39 " in log_file.read_text()


async def test_lines_waiting_for_the_loop_turn_are_written_when_logging_is_set_up_again(tmp_path, capsys):
    log_file = setup_logging(log_file=tmp_path / "logs" / "studio.log")
    logging.getLogger("studio.serve").info("the last line before set-up again")
    setup_logging(log_file=tmp_path / "logs" / "studio.log")  # closes the handlers holding it
    assert "the last line before set-up again" in log_file.read_text()
    assert "the last line before set-up again" in capsys.readouterr().err


def test_redact_text_skips_only_text_no_pattern_could_match():
    from studio.logs import _SECRET_PATTERNS

    def every_pattern(text: str) -> str:
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    samples = ["run 0123 of 'bench' (webhook): succeeded in 3 ms", "AUTHORIZATION=abcdefgh", "Authorızation: abcdefgh",
               "x-API-KEY: 'k1234567'", "BeArEr abcdefgh12", "key sk-abcdefgh12", "SK-abcdefgh12 stays", ""]
    for text in samples:
        assert redact_text(text) == every_pattern(text), text
    assert "abcdefgh" not in redact_text("Authorızation: abcdefgh")  # a dotless i matches as the patterns do
