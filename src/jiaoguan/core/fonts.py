"""The Chinese font every printed document embeds.

A document handed to a citizen (a credential, a penalty decision, an accident determination)
must print the same on any reader, so the font is embedded, as a subset, in the PDF: the file
named by ``JIAOGUAN_PDF_FONT``, else a TrueType Chinese font of the Debian font packages
(fonts-wqy-zenhei, fonts-wqy-microhei, fonts-droid-fallback, fonts-arphic-uming), else any font
``fc-list`` finds for Chinese. Without one the documents fall back to the reader's STSong-Light,
which is not embedded, and a warning is logged once.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_ENV = "JIAOGUAN_PDF_FONT"
EMBEDDED_FONT = "JiaoguanCJK"
FALLBACK_FONT = "STSong-Light"
DEBIAN_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
# Characters a usable font must draw: Chinese, and digits and letters that are easy to confuse.
_NEEDED = "交通事故认定书驾驶证罚款决定0Ol1"

logger = logging.getLogger(__name__)


def _system_font_files() -> list[str]:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    found = subprocess.run(  # noqa: S603 - the system's fc-list with fixed arguments
        [fc_list, ":lang=zh", "file"], capture_output=True, text=True, check=False, timeout=10
    ).stdout
    return sorted(line.strip().rstrip(":") for line in found.splitlines() if line.strip())


def _usable(path: str) -> TTFont | None:
    if not os.path.isfile(path):
        return None
    try:
        font = TTFont(EMBEDDED_FONT, path, subfontIndex=0)
    except (TTFError, OSError, ValueError, KeyError):
        return None  # a CFF-based OpenType font or a damaged file cannot be embedded
    if all(ord(char) in font.face.charToGlyph for char in _NEEDED):
        return font
    return None


@functools.cache
def _chosen() -> tuple[str, TTFont] | None:
    configured = os.environ.get(FONT_ENV, "")
    for path in [*([configured] if configured else []), *DEBIAN_FONT_FILES, *_system_font_files()]:
        font = _usable(path)
        if font is not None:
            return path, font
    logger.warning(
        "no TrueType Chinese font found (set %s or install fonts-wqy-zenhei): printed documents use "
        "STSong-Light, which is not embedded, and offline cards carry no Chinese text",
        FONT_ENV,
    )
    return None


def cjk_font_path() -> str | None:
    """The TrueType Chinese font file documents embed, or None when the machine has none."""
    chosen = _chosen()
    return chosen[0] if chosen else None


@functools.cache
def register_cjk_font() -> str:
    """Register the document font with the PDF library once and return its name."""
    chosen = _chosen()
    if chosen is None:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
        return FALLBACK_FONT
    pdfmetrics.registerFont(chosen[1])
    return EMBEDDED_FONT
