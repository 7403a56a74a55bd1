"""I13 rendering on its own (files/previews.py), for what the HTTP tests do not vary: JPEG output
with transparency flattened onto white, the size setting, animated GIFs, text line endings."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sixty.files.previews import PreviewFailed, PreviewOptions, render
from tests.factories.previews import photo, png_bomb, transparent_png


def test_jpeg_output_flattens_transparency_onto_white() -> None:
    rendered = render(transparent_png(), "image/png", PreviewOptions(image_format="jpeg", size=100))
    assert rendered.content_type == "image/jpeg"
    image = Image.open(io.BytesIO(rendered.data))
    assert image.format == "JPEG"
    assert image.size == (100, 100)
    red, green, blue = image.convert("RGB").getpixel((95, 50))  # type: ignore[misc]
    assert min(red, green, blue) > 230  # was transparent: white
    assert image.convert("RGB").getpixel((5, 50))[1] > 150  # type: ignore[index]


def test_a_small_image_is_never_enlarged() -> None:
    rendered = render(photo(120, 60), "image/jpeg", PreviewOptions(size=256))
    assert (rendered.width, rendered.height) == (120, 60)


def test_an_animated_gif_previews_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rendered = render(out.getvalue(), "image/gif", PreviewOptions())
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    assert getattr(image, "n_frames", 1) == 1
    red, _green, blue = image.getpixel((32, 32))  # type: ignore[misc]
    assert red > 200
    assert blue < 60


def test_the_pixel_limit_is_a_setting() -> None:
    with pytest.raises(PreviewFailed) as failure:
        render(photo(400, 200), "image/jpeg", PreviewOptions(max_pixels=400 * 200 - 1))
    assert failure.value.reason == "too_many_pixels"
    assert render(photo(400, 200), "image/jpeg", PreviewOptions(max_pixels=400 * 200)).width == 256
    with pytest.raises(PreviewFailed):
        render(png_bomb(20_000, 20_000), "image/png", PreviewOptions())


def test_text_line_endings_and_a_bom_are_normalised() -> None:
    data = "\ufeffone\r\ntwo\rthree\nfour".encode()
    rendered = render(data, "text/plain", PreviewOptions(text_lines=3))
    assert rendered.data.decode() == "one\ntwo\nthree"


def test_invalid_utf8_inside_a_text_becomes_replacement_characters() -> None:
    rendered = render(b"caf\xe9 au lait\n", "text/plain", PreviewOptions())
    assert rendered.data.decode() == "caf\ufffd au lait\n"


def test_a_type_without_previews_is_refused() -> None:
    with pytest.raises(PreviewFailed) as failure:
        render(b"ID3", "audio/mpeg", PreviewOptions())
    assert failure.value.reason == "unsupported"
