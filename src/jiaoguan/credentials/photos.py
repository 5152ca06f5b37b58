"""The e-licence photo (电子驾驶证照片): its fixed form, its digest, and finding it again offline.

Pure functions with Pillow, no ORM. An approved application photo is brought to one form
(RGB, ``CARD_PHOTO_SIZE``, cropped to fill) and stored as PNG. Its digest is taken over the
pixels, not the file bytes, so any lossless copy of the same picture gives the same value:
the photo inside the holder's offline card (a PNG) can be checked by an offline verifier
against the digest signed into the token, without the network (D1, E4).
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageOps, UnidentifiedImageError

CARD_PHOTO_SIZE = (240, 300)  # 4:5, drawn 1:1 into the offline card
DIGEST_BYTES = 16  # 128 bits: no second photo can be made to match, and the QR stays small
_DIGEST_LABEL = b"jiaoguan DL1 photo v1"

# Where the photo sits in the offline card PNG (render.offline_card_png): left, top.
CARD_PHOTO_ORIGIN = (32, 112)


def card_photo(photo: bytes) -> bytes:
    """The photo in the fixed e-licence form, as PNG; raises ValueError for a file that is not an image."""
    try:
        with Image.open(io.BytesIO(photo)) as image:
            upright = ImageOps.exif_transpose(image)
            fitted = ImageOps.fit(upright.convert("RGB"), CARD_PHOTO_SIZE, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise ValueError("not an image") from error
    out = io.BytesIO()
    fitted.save(out, format="PNG")
    return out.getvalue()


def pixels_digest(image: Image.Image) -> bytes:
    """The photo digest of a picture already in the fixed form (``CARD_PHOTO_SIZE``)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    header = _DIGEST_LABEL + width.to_bytes(2, "big") + height.to_bytes(2, "big")
    return hashlib.sha256(header + rgb.tobytes()).digest()[:DIGEST_BYTES]


def photo_digest(card_png: bytes) -> bytes:
    """The digest signed into the token for a photo in the fixed form (from ``card_photo``)."""
    with Image.open(io.BytesIO(card_png)) as image:
        return pixels_digest(image)


def digest_in_image(data: bytes) -> bytes | None:
    """The photo digest of an image a holder shows: the photo itself in the fixed form, or the
    offline card with the photo at ``CARD_PHOTO_ORIGIN``. None when neither can be read from it."""
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as image:
            image.load()
            if image.size == CARD_PHOTO_SIZE:
                return pixels_digest(image)
            left, top = CARD_PHOTO_ORIGIN
            width, height = CARD_PHOTO_SIZE
            if image.width < left + width or image.height < top + height:
                return None
            return pixels_digest(image.crop((left, top, left + width, top + height)))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
