"""Photos from outside: the decoding work bounded from the header, before any pixel is decoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from sempelmas.services.files.uploads import ImageTooLarge, UploadError, reencode_image
from tests.hostile_files import camera_jpeg, mpo_photo, png_bomb, progressive_jpeg


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decoding fails the test: a refusal must come from the header alone."""

    def refuse(self):
        raise AssertionError("decoded before the refusal")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_a_png_that_decodes_to_353_mb_is_refused_from_its_header(app, no_decoding):
    data = png_bomb()
    assert len(data) < 400_000
    with pytest.raises(ImageTooLarge, match=r"9400 × 9400 piksel\. Gambar seperti ini paling banyak sekitar \d+ "
                                            r"megapiksel"):
        reencode_image(data)


def test_a_progressive_jpeg_is_refused_from_its_header_draft_does_not_shrink_it(app, no_decoding):
    with pytest.raises(ImageTooLarge, match="9400 × 9400 piksel"):
        reencode_image(progressive_jpeg(9400, "L"))


def test_a_48_megapixel_camera_jpeg_is_decoded_small_and_accepted(app):
    out = reencode_image(camera_jpeg((8000, 6000)))
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and img.size == (2000, 1500)


def test_an_mpo_photo_from_a_phone_is_accepted_as_its_first_picture(app):
    data = mpo_photo()
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    out = reencode_image(data)
    with Image.open(io.BytesIO(out)) as img:
        assert img.format == "JPEG" and img.size == (1600, 1200)
        red, green, blue = img.getpixel((800, 600))
        assert red > 200 and blue < 60  # the orange first picture, not the blue second one


def test_the_budget_is_a_setting(app):
    app.config["IMAGE_MAX_DECODE_MB"] = 4
    buf = io.BytesIO()
    Image.new("RGB", (1200, 1000), "white").save(buf, "PNG")
    with pytest.raises(ImageTooLarge, match="1200 × 1000 piksel"):
        reencode_image(buf.getvalue())
    app.config["IMAGE_MAX_DECODE_MB"] = 128
    assert reencode_image(buf.getvalue())[:2] == b"\xff\xd8"


def test_photos_of_one_request_share_a_budget(app):
    """Several photos in one form: the one that would pass the request's budget is refused, undecoded."""
    app.config["IMAGE_REQUEST_MAX_DECODE_MB"] = 40
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), (10, 120, 200)).save(buf, "PNG")  # ~23 MB to decode and shrink
    with app.test_request_context("/"):
        reencode_image(buf.getvalue())
        with pytest.raises(ImageTooLarge, match="Terlalu banyak gambar besar dalam satu kiriman"):
            reencode_image(buf.getvalue())
    with app.test_request_context("/"):  # the next request starts afresh
        reencode_image(buf.getvalue())


def test_other_formats_are_not_even_tried(app):
    buf = io.BytesIO()
    Image.new("RGB", (40, 40)).save(buf, "TIFF")
    with pytest.raises(UploadError, match="bukan foto yang valid"):
        reencode_image(buf.getvalue())
