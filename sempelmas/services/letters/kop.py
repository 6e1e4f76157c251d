"""The kop surat (letterhead) from the kelurahan profile, with its logo: on letters and on every other
printed document (reports, the survey's IKM report)."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

from sempelmas.domain.letter_format import place_name
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.letters.pdf import FONT_FAMILY, PAPER

#: the logo is printed about 2 cm tall: a few hundred pixels are plenty and keep the PDF small
LOGO_MAX_PX = 240


def kop(profile) -> SimpleNamespace:
    """The kop's lines: government, district, village (upper case), address, contact, regency."""
    kind = "KOTA" if (profile.regency_kind or "kota") == "kota" else "KABUPATEN"
    village_kind = "KELURAHAN" if (profile.village_kind or "kelurahan") == "kelurahan" else "DESA"
    contact = []
    if profile.phone:
        contact.append(f"Telp. {profile.phone}")
    if profile.email:
        contact.append(f"E-mail: {profile.email}")
    if profile.website:
        contact.append(f"Laman: {profile.website}")
    address = profile.address or ""
    if profile.postcode:
        address = f"{address} Kode Pos {profile.postcode}".strip()
    return SimpleNamespace(
        government=f"PEMERINTAH {kind} {profile.regency_name}".upper(),
        district=f"KECAMATAN {profile.district_name}".upper(),
        village=f"{village_kind} {profile.village_name}".upper(),
        address=address, contact="  ·  ".join(contact),
        regency=f"{kind.capitalize()} {place_name(profile.regency_name)}",
    )


_logo_cache: dict[tuple, str] = {}


def logo_uri(profile) -> str | None:
    """The profile's logo, downscaled and as a data URI (cached per logo)."""
    from sempelmas.services.kelurahan import profile as profile_service

    found = getattr(profile, "_demo_logo", None)
    if found is None and isinstance(profile, KelurahanProfile):
        found = profile_service.logo()
    if not found:
        return None
    data, _mime = found
    key = (len(data), hash(data))
    uri = _logo_cache.get(key)
    if uri is None:
        from PIL import Image

        img = Image.open(io.BytesIO(data))
        img = img.convert("RGB")
        img.thumbnail((LOGO_MAX_PX, LOGO_MAX_PX))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85, optimize=True)
        uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        if len(_logo_cache) > 8:
            _logo_cache.clear()
        _logo_cache[key] = uri
    return uri


def kop_context(profile=None) -> dict:
    """The kop surat of other printed documents (reports): ``kop``, ``logo``, ``profile``, ``font``, ``paper``."""
    profile = profile or placeholder_profile()
    paper = getattr(profile, "paper_size", None) if getattr(profile, "paper_size", None) in PAPER else "A4"
    return {"kop": kop(profile), "logo": logo_uri(profile), "profile": profile, "font": FONT_FAMILY,
            "paper": PAPER[paper], "paper_name": paper}


def placeholder_profile() -> KelurahanProfile:
    """An unsaved profile of dashes, for documents printed before the profile exists."""
    return KelurahanProfile(village_kind="kelurahan", province_name="", regency_kind="kota", regency_name="-",
                            district_name="-", village_name="-", region_code="", address="", timezone="WIB",
                            paper_size="A4")
