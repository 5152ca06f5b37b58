"""Placeholder ID photos for demo and test data (证件照占位图): no files, no network.

A drawn head-and-shoulders silhouette on a light background, in the 26 x 32 mm (13:16)
proportion of a licence photo; the seed picks the background, clothing and hair colours
and small shape differences, so each person gets a different but stable picture.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

PORTRAIT_SIZE = (260, 320)

_BACKGROUNDS = ((255, 255, 255), (214, 233, 250), (236, 240, 245), (206, 224, 242))
_CLOTHES = ((38, 52, 84), (70, 70, 74), (30, 64, 110), (92, 42, 48), (40, 86, 72), (20, 20, 24))
_HAIR = ((24, 20, 18), (48, 36, 30), (70, 56, 44), (34, 34, 38))
_SKIN = ((242, 212, 186), (232, 196, 164), (222, 184, 150), (246, 222, 200))


def placeholder_portrait(seed: str, *, size: tuple[int, int] = PORTRAIT_SIZE) -> bytes:
    """A PNG ID-photo placeholder for ``seed`` (e.g. a document number); same seed, same bytes."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    width, height = size

    def pick(table: tuple[tuple[int, int, int], ...], at: int) -> tuple[int, int, int]:
        return table[digest[at] % len(table)]

    image = Image.new("RGB", size, pick(_BACKGROUNDS, 0))
    draw = ImageDraw.Draw(image)
    centre = width / 2
    head_w = width * (0.36 + digest[4] % 6 / 100)
    head_h = head_w * 1.28
    head_top = height * 0.16
    shoulders_top = head_top + head_h * 0.92
    # Shoulders and chest: a wide rounded block reaching past the bottom edge.
    draw.rounded_rectangle(
        (width * 0.06, shoulders_top, width * 0.94, height * 1.2),
        radius=int(width * 0.22),
        fill=pick(_CLOTHES, 1),
    )
    # Neck, then the head over it.
    skin = pick(_SKIN, 3)
    draw.rectangle(
        (centre - head_w * 0.2, head_top + head_h * 0.7, centre + head_w * 0.2, shoulders_top + 8), fill=skin
    )
    # A collar keeps it reading as a formal photo.
    draw.polygon(
        [(centre - head_w * 0.32, shoulders_top + 4), (centre, shoulders_top + head_h * 0.28),
         (centre + head_w * 0.32, shoulders_top + 4)],
        fill=(250, 250, 250),
    )  # fmt: skip
    head = (centre - head_w / 2, head_top, centre + head_w / 2, head_top + head_h)
    draw.ellipse(head, fill=skin)
    # Hair: the top of an ellipse over the head, its depth varying with the seed.
    hair_depth = head_h * (0.28 + digest[5] % 10 / 100)
    draw.chord(
        (head[0] - 4, head_top - 8, head[2] + 4, head_top + hair_depth * 2),
        start=180,
        end=360,
        fill=pick(_HAIR, 2),
    )
    # Eyes and mouth, small and neutral, so it is a face and not a blank shape.
    eye_y = head_top + head_h * 0.5
    for side in (-1, 1):
        x = centre + side * head_w * 0.2
        draw.ellipse((x - 4, eye_y - 3, x + 4, eye_y + 3), fill=(40, 34, 30))
    mouth_y = head_top + head_h * 0.77
    draw.line((centre - head_w * 0.12, mouth_y, centre + head_w * 0.12, mouth_y), fill=(150, 80, 70), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
