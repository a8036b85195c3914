"""Small real payloads the fake server answers with: images of each type and audio-looking bytes."""

from __future__ import annotations

import struct
import zlib



def tiny_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A valid PNG image of one colour."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# Small files of each image type Create Image may answer with (only their first bytes matter).
IMAGE_SAMPLES: dict[str, tuple[bytes, str]] = {
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9", "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif"),
    "webp": (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00",
             "image/webp"),
    "svg": (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
            b'<rect width="4" height="4" fill="#2878c8"/></svg>\n', "image/svg+xml"),
}


def image_sample(fmt: str) -> tuple[bytes, str]:
    """(bytes, media type) of a small image in `fmt` ("png", "jpeg"/"jpg", "gif", "webp", "svg")."""
    fmt = "jpeg" if fmt == "jpg" else fmt
    return IMAGE_SAMPLES.get(fmt) or (tiny_png(), "image/png")


def _wav(samples: int) -> bytes:
    data = b"\x00\x00" * samples
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16) + b"data" + struct.pack("<I", len(data)) + data)


def speech_bytes(text: str, fmt: str) -> bytes:
    """Audio-looking bytes whose length grows with the text (a real WAV for "wav")."""
    body = text.encode("utf-8")
    if fmt == "wav":
        return _wav(240 * max(1, len(text)))
    magic = {"mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00", "opus": b"OggS\x00\x02", "aac": b"\xff\xf1\x50\x80",
             "flac": b"fLaC\x00\x00\x00\x22", "pcm": b""}.get(fmt, b"")
    return magic + body + b"\x00" * 64
