"""Create Image saves what the server really sent: the type is read from the bytes (then the
declared media type, then the requested format), the file named to match, and `data:` URLs are
decoded instead of downloaded."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from connector_testkit import covers, run_action
from studio.connectors.openai.actions.images import decode_data_url, sniff_image_type
from studio.connectors.openai.fake_server import image_sample, tiny_png

FORMATS = [("png", "image/png", "png"), ("jpeg", "image/jpeg", "jpg"), ("gif", "image/gif", "gif"),
           ("webp", "image/webp", "webp"), ("svg", "image/svg+xml", "svg")]


@covers("image.generate")
@pytest.mark.parametrize("fmt,media_type,ext", FORMATS, ids=[f[0] for f in FORMATS])
async def test_b64_images_are_saved_as_what_their_bytes_are(fake_server, client, tmp_path, fmt, media_type, ext):
    fake_server.image_format = fmt  # whatever the node asked for (png, the default)
    output, _ = await run_action("image.generate", {"prompt": "a fox", "model": "gpt-image-1"}, tmp_path, client)
    [image] = output["images"]
    assert Path(image["path"]).name == f"image-1.{ext}" and image["media_type"] == media_type
    assert Path(image["path"]).read_bytes() == image_sample(fmt)[0]


@covers("image.generate")
async def test_data_urls_are_decoded_not_downloaded(fake_server, client, tmp_path):
    fake_server.image_data_urls = True
    fake_server.image_format = "jpeg"
    output, _ = await run_action("image.generate", {"prompt": "a fox", "model": "dall-e-2", "n": 2}, tmp_path, client)
    assert fake_server.requests_to("/images/generations") and len(fake_server.requests) == 1  # nothing fetched
    for index, image in enumerate(output["images"], start=1):
        assert Path(image["path"]).name == f"image-{index}.jpg" and image["media_type"] == "image/jpeg"
        assert Path(image["path"]).read_bytes() == image_sample("jpeg")[0]
        assert "url" not in image  # the data: URL was the image itself, not a link to keep


@covers("image.generate")
async def test_a_downloaded_url_is_typed_by_its_bytes(fake_server, client, tmp_path):
    fake_server.image_format = "webp"
    output, _ = await run_action("image.generate", {"prompt": "a fox", "model": "dall-e-3"}, tmp_path, client)
    [image] = output["images"]
    assert image["url"].startswith("http://127.0.0.1")
    assert Path(image["path"]).name == "image-1.webp" and image["media_type"] == "image/webp"


def test_sniffing_and_the_fallbacks():
    assert sniff_image_type(tiny_png()) == "image/png"
    assert sniff_image_type(b"\xef\xbb\xbf  <!-- drawn -->\n<!DOCTYPE svg PUBLIC '-//W3C//DTD SVG 1.1//EN'>\n<svg/>") \
        == "image/svg+xml"
    assert sniff_image_type(b"<html><svg></svg></html>") is None  # an SVG inside HTML is not an SVG file
    assert sniff_image_type(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    data = base64.b64encode(image_sample("gif")[0]).decode()
    assert decode_data_url(f"data:image/gif;base64,{data}") == (image_sample("gif")[0], "image/gif")
    assert decode_data_url("data:,hello%20there") == (b"hello there", None)
    from studio.connectors.openai.actions.images import _image_type

    assert _image_type(b"\x00unknown", "image/avif; q=1", "png") == "image/avif"  # the declared type
    assert _image_type(b"\x00unknown", "application/octet-stream", "jpeg") == "image/jpeg"  # the requested one
    assert _image_type(tiny_png(), "image/jpeg", "jpeg") == "image/png"  # the bytes win
