"""Files made to hurt, built the way an attacker would (shared by the tests and bench/bench_hostile_files.py).

Every builder is deterministic and cheap to run; none needs the app.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zipfile
import zlib

from PIL import Image


def _last_trailer(pdf: bytes) -> tuple[int, bytes, bytes]:
    """(offset of the last xref section, /Size value, /Root reference) of a PDF with classic xref tables."""
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    trailer = re.findall(rb"trailer\s*<<(.*?)>>\s*startxref", pdf, re.S)[-1]
    size = re.search(rb"/Size (\d+)", trailer).group(1)
    root = re.search(rb"/Root (\d+ \d+ R)", trailer).group(1)
    return prev, size, root


def pdf_saved_again(pdf: bytes) -> bytes:
    """Not hostile: ``pdf`` with one small incremental save (a new title), as a PDF viewer adds a note."""
    from pyhanko.pdf_utils.generic import DictionaryObject, NameObject, pdf_string
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    writer.set_info(DictionaryObject({NameObject("/Title"): pdf_string("dibuka di pembaca PDF")}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_empty_updates(pdf: bytes, n: int = 2000) -> bytes:
    """``pdf`` followed by ``n`` incremental updates that change nothing (an empty xref section each):
    2,000 of them add ~160 KB, and pyHanko's check of the signature grows with their square."""
    prev, size, root = _last_trailer(pdf)
    out = bytearray(pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    for _ in range(n):
        start = len(out)
        out += (b"xref\n0 0\ntrailer\n<< /Size " + size + b" /Root " + root + b" /Prev " + str(prev).encode()
                + b" >>\nstartxref\n" + str(start).encode() + b"\n%%EOF\n")
        prev = start
    return bytes(out)


def pdf_with_junk(pdf: bytes, mb: int = 14) -> bytes:
    """``pdf`` with ``mb`` MB of zeros after its last ``%%EOF`` (under the 15 MB upload limit)."""
    return pdf + b"\n" + b"0" * (mb * 1024 * 1024)


def pdf_with_inflating_update(pdf: bytes, mb: int = 70) -> bytes:
    """``pdf`` plus one incremental update that moves the document catalogue into an object stream inflating
    to ``mb`` MB (a few tens of KB on disk, under pypdf's 75 MB stream limit): every reader must inflate it
    to find the catalogue. Passes the cheap counts (one revision, two objects more)."""
    prev, size, root = _last_trailer(pdf)
    root_num = int(root.split()[0])
    catalog = re.search(rb"\n" + str(root_num).encode() + rb" 0 obj\s*(<<.*?>>)\s*endobj", pdf, re.S).group(1)
    body = catalog + b" " * (mb * 1024 * 1024)
    header = f"{root_num} 0 ".encode()
    content = header + body
    packed = zlib.compress(content, 9)
    out = bytearray(pdf)
    if not out.endswith(b"\n"):
        out += b"\n"
    objstm = int(size)
    xref_num = objstm + 1
    objstm_at = len(out)
    out += (f"{objstm} 0 obj\n<< /Type /ObjStm /N 1 /First {len(header)} /Filter /FlateDecode "
            f"/Length {len(packed)} >>\nstream\n").encode() + packed + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = (bytes([2]) + objstm.to_bytes(4, "big") + (0).to_bytes(2, "big")  # the catalogue, compressed
            + bytes([1]) + objstm_at.to_bytes(4, "big") + (0).to_bytes(2, "big")
            + bytes([1]) + xref_at.to_bytes(4, "big") + (0).to_bytes(2, "big"))
    out += (f"{xref_num} 0 obj\n<< /Type /XRef /Size {xref_num + 1} /W [1 4 2] "
            f"/Index [{root_num} 1 {objstm} 2] /Root {root.decode()} /Prev {prev} /Length {len(rows)} >>\n"
            "stream\n").encode() + rows + b"\nendstream\nendobj\n"
    out += f"startxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


@functools.cache
def png_bomb(side: int = 9400) -> bytes:
    """An RGBA PNG of ``side`` × ``side``, one flat colour: 343 KB that decode to 353 MB (9,400² is 88
    megapixels, just under Pillow's 89-megapixel bomb warning). Written chunk by chunk, as an attacker's
    script would: no picture is ever held in memory here."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    first = b"\x00" + bytes((200, 30, 30, 255)) * side  # filter "none", then the pixels
    same = b"\x02" + b"\x00" * (side * 4)  # filter "up": every row repeats the one above
    idat = [packer.compress(first)] + [packer.compress(same) for _ in range(side - 1)] + [packer.flush()]
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(idat))
            + chunk(b"IEND", b""))


def progressive_jpeg(side: int = 9400, mode: str = "RGB") -> bytes:
    """A progressive JPEG of ``side`` × ``side``: libjpeg keeps every DCT coefficient of a progressive
    file in memory whatever the scale asked (~265 MB for 9,400² in colour, 177 MB in grey), so ``draft``
    does not bound it."""
    buf = io.BytesIO()
    Image.new(mode, (side, side), (200, 30, 30) if mode == "RGB" else 120).save(
        buf, "JPEG", progressive=True, quality=50)
    return buf.getvalue()


def camera_jpeg(size: tuple[int, int] = (8000, 6000), mode: str = "L") -> bytes:
    """A large baseline JPEG (a 48-megapixel phone's size): decoded at 1/4 scale, it is cheap."""
    buf = io.BytesIO()
    Image.new(mode, size, 120 if mode == "L" else (120, 140, 160)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def mpo_photo(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A multi-picture JPEG (MPO) of two frames, as phones with two cameras write it; the first frame is
    orange, the second blue."""
    first = Image.new("RGB", size, (230, 120, 20))
    second = Image.new("RGB", size, (20, 60, 230))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    return buf.getvalue()


def xlsx_bomb(uncompressed_mb: int = 600) -> bytes:
    """An XLSX (zip) whose sheet inflates to ``uncompressed_mb`` MB of XML from under 1 MB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types '
                    'xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            block = b" " * (1024 * 1024)
            for _ in range(uncompressed_mb):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def xlsx_lying_about_its_size(real_mb: int = 64, declared: int = 1000) -> bytes:
    """An XLSX whose sheet inflates to ``real_mb`` MB but whose zip headers say ``declared`` bytes."""
    buf = io.BytesIO()
    with (zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
          zf.open("xl/worksheets/sheet1.xml", "w") as sheet):
        block = b"<row><c><v>1</v></c></row>" * 40_000
        for _ in range(real_mb * 1024 * 1024 // len(block)):
            sheet.write(block)
    data = bytearray(buf.getvalue())
    local = data.index(b"PK\x03\x04")
    data[local + 22:local + 26] = struct.pack("<I", declared)
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", declared)
    return bytes(data)
