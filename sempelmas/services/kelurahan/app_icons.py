"""Icons of the installed app, drawn with Pillow from the profile's logo (or "SP" on the theme colour).

A home-screen icon is cropped by the launcher: a "maskable" icon keeps its content inside the central
circle of 80 % of its width (the safe zone), on a background that fills the whole square.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from sempelmas.models.profile import DEFAULT_BACKGROUND_COLOR, DEFAULT_THEME_COLOR, KelurahanProfile

ROOT = Path(__file__).resolve().parents[3]
FONT = ROOT / "static" / "fonts" / "DejaVuSerif-Bold.ttf"
#: sizes served: 96 (shortcuts), 180 (iOS home screen), 192 and 512 (the manifest's pair)
SIZES = (96, 180, 192, 512)
MASKABLE_SIZES = (192, 512)
#: the maskable safe zone is a circle of 80 % of the width; the square that fits in it is 80 %/√2 ≈ 56 %
SAFE_SQUARE = 0.56
#: an ordinary icon keeps a small margin round the logo
MARGIN = 0.06
_MAX_CACHED = 32
_cache: dict[tuple, bytes] = {}


def colours(profile: KelurahanProfile | None) -> tuple[str, str]:
    """(theme, background) of the app: the profile's, or the defaults before a profile exists."""
    if profile is None:
        return DEFAULT_THEME_COLOR, DEFAULT_BACKGROUND_COLOR
    return profile.theme_color or DEFAULT_THEME_COLOR, profile.background_color or DEFAULT_BACKGROUND_COLOR


def version(profile: KelurahanProfile | None) -> str:
    """Changes whenever the icons may change (a new logo or colours; any profile edit, to be safe)."""
    if profile is None:
        return "0"
    theme, background = colours(profile)
    stamp = profile.updated_at.isoformat() if profile.updated_at else ""
    key = f"{stamp}|{profile.logo_mime}|{theme}|{background}"
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def icon_png(size: int, maskable: bool, profile: KelurahanProfile | None,
             load_logo: Callable[[], bytes | None]) -> bytes:
    """The PNG for ``size`` px, drawn once per version of the profile and kept in memory
    (``load_logo`` reads the stored logo, only when the icon has to be drawn)."""
    key = (version(profile), size, maskable)
    hit = _cache.get(key)
    if hit is None:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        theme, background = colours(profile)
        logo = load_logo() if profile is not None and profile.logo_mime else None
        hit = _cache[key] = draw(size, maskable, theme, background, logo)
    return hit


def draw(size: int, maskable: bool, theme: str, background: str, logo: bytes | None) -> bytes:
    """A square icon: the logo on the background colour, or "SP" on the theme colour."""
    if logo:
        image = Image.new("RGB", (size, size), background)
        try:
            with Image.open(io.BytesIO(logo)) as src:
                picture = src.convert("RGBA")
        except (OSError, ValueError):  # a stored logo Pillow cannot read: the plain icon instead
            return draw(size, maskable, theme, background, None)
        box = round(size * (SAFE_SQUARE if maskable else 1 - 2 * MARGIN))
        picture = ImageOps.contain(picture, (box, box), Image.Resampling.LANCZOS)  # a small logo grows too
        image.paste(picture, ((size - picture.width) // 2, (size - picture.height) // 2), picture)
    else:
        image = Image.new("RGB", (size, size), theme)
        pen = ImageDraw.Draw(image)
        font = ImageFont.truetype(str(FONT), round(size * (0.30 if maskable else 0.44)))
        pen.text((size / 2, size / 2), "SP", fill=_ink_on(theme), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _ink_on(colour: str) -> str:
    """White on a dark colour, near-black on a light one (WCAG relative luminance)."""
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # contrast with white (1.05 / (L + .05)) against contrast with #1c1c1c ((L + .05) / 0.0616)
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0616 else "#1c1c1c"
