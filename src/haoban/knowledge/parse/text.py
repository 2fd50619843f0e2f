"""Plain text and Markdown, and the encoding detection that HTML shares.

Markdown is kept as written (the "#" of headings included): chunk spans index into the stored text,
and the heading marks are useful structure for the chunker. Only the first heading, without its
"#", is offered as the title.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from haoban.errors import CorruptFile

from .base import Extracted, detail, squeeze_blank_lines, strip_controls

# Chinese files often claim GB2312 or GBK while using characters only GB18030 (a superset) has.
ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030"}
# Share of undecodable bytes up to which a file counts as text with some damage.
_MAX_DAMAGED_SHARE = 0.01
# More control characters than this share of the text means it is not text at all.
_MAX_CONTROL_SHARE = 0.01
# Control characters that do not belong in text (newline, CR, tab and form feed do).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def codec_name(label: str) -> str | None:
    """Python's name for an encoding label from a file, or None if Python does not know it."""
    label = ENCODING_ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes of unknown encoding: BOM, then strict UTF-8, then strict GB18030, then a guess.

    Returns the text and the encoding used. Binary data raises CorruptFile.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return checked(_decode_or_fail(data, encoding, name), encoding, name)
    if b"\x00" in data:  # no text encoding we accept without a BOM contains NUL bytes
        raise _not_text(name)
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Big5 and other double-byte text often decodes as GB18030 too, into nonsense that
        # includes private-use characters; real GB text essentially never has them.
        if encoding == "gb18030" and _PRIVATE_USE.search(text):
            continue
        return checked(text, encoding, name)
    best = from_bytes(data).best()
    if best is not None and best.encoding is not None:
        return checked(str(best), best.encoding, name)
    # A UTF-8 or GB18030 file with a few damaged bytes: keep it, with U+FFFD for the damage.
    for encoding in ("utf-8", "gb18030"):
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") <= len(text) * _MAX_DAMAGED_SHARE and not _PRIVATE_USE.search(text):
            return checked(text, encoding, name)
    raise _not_text(name)


def _decode_or_fail(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise _not_text(name) from None


def checked(text: str, encoding: str, name: str) -> tuple[str, str]:
    """Refuse decoded "text" that is full of control characters, i.e. binary data."""
    controls = len(_CONTROLS.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_SHARE:
        raise _not_text(name)
    return text, encoding


def _not_text(name: str) -> CorruptFile:
    return CorruptFile(f"“{name}”无法识别为文本文件（可能是二进制文件或编码已损坏）", detail=detail(name))


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def parse_txt(data: bytes, name: str) -> Extracted:
    text, encoding = decode(data, name)
    return Extracted(text=squeeze_blank_lines(strip_controls(text)), extra={"encoding": encoding})


def parse_md(data: bytes, name: str) -> Extracted:
    result = parse_txt(data, name)
    # Only a heading among the first few lines names the document; later ones name sections.
    first_lines = [line for line in result.text.split("\n") if line.strip()][:5]
    for line in first_lines:
        match = _MD_HEADING.match(line)
        if match:
            result.title_hint = match.group(1)
            break
    return result
