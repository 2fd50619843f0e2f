"""Shared pieces of the parsers: the result types, error helpers and text clean-up."""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from haoban.errors import CorruptFile, FileTooLarge

# Longest reason string copied from a library exception into an error's detail.
_REASON_CHARS = 200
# Zip containers (DOCX, OFD) are refused when they would inflate past these sizes: a guard against
# zip bombs, since the libraries read whole parts into memory.
MAX_UNZIPPED_PART = 256 * 1024 * 1024
MAX_UNZIPPED_TOTAL = 1024 * 1024 * 1024


@dataclass
class ParsedDocument:
    """A parsed file: its plain text (paragraphs separated by "\\n") and 公文 metadata."""

    text: str
    format: str
    title: str | None = None
    issuer: str | None = None
    doc_number: str | None = None
    written_date: datetime.date | None = None
    publish_date: datetime.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Other names the document goes by (an FAQ pair's similar questions), searchable like the title.
    aliases: list[str] = field(default_factory=list)


@dataclass
class Extracted:
    """What a format parser hands back; metadata extraction fills in the rest."""

    text: str
    title_hint: str | None = (
        None  # declared by the file (DOCX core properties, <title>…); wins if the text has it
    )
    fallback_title: str | None = None  # used only when the text yields no title (PDF metadata)
    publish_date: datetime.date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def detail(name: str, exc: BaseException | None = None, **more: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"file": name, **more}
    if exc is not None:
        info["reason"] = f"{type(exc).__name__}: {exc}"[:_REASON_CHARS]
    return info


def corrupt(name: str, what: str, exc: BaseException | None = None) -> CorruptFile:
    return CorruptFile(f"“{name}”不是有效的{what}文件，可能已损坏", detail=detail(name, exc))


def check_zip(data: bytes, name: str, what: str) -> zipfile.ZipFile:
    """Open a zip container and refuse ones that would inflate to an unreasonable size."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # BadZipFile mostly; NotImplementedError for bogus version fields
        raise corrupt(name, what, exc) from None
    total = sum(info.file_size for info in infos)
    if total > MAX_UNZIPPED_TOTAL or any(info.file_size > MAX_UNZIPPED_PART for info in infos):
        raise FileTooLarge(f"“{name}”解压后过大，已拒绝处理", detail=detail(name, unzipped_bytes=total))
    return archive


# Titles that authoring tools write on their own and that say nothing about the document.
_JUNK_TITLE = re.compile(
    r"^(?:microsoft\s+word|untitled|无标题|文档\d*$|document\d*$|新建)|\.(?:docx?|wps|pdf|ofd|txt|html?)$",
    re.IGNORECASE,
)


def useful_title(value: str | None) -> str | None:
    """A declared title worth keeping, or None for empty or tool-generated ones."""
    if not value:
        return None
    value = " ".join(value.split())
    if len(value) < 2 or _JUNK_TITLE.match(value) or re.fullmatch(r"[\W\d_]+", value):
        return None
    return value


# Unicode category Cc, minus newline and tab.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# CRLF, CR, vertical tab (Word's soft line break) and form feed (page break) all end a line.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c]")


def normalise_newlines(text: str) -> str:
    return _LINE_BREAKS.sub("\n", text)


def strip_controls(text: str) -> str:
    """Normalise line breaks to "\\n", then drop all other control characters except tab."""
    return _CONTROLS.sub("", normalise_newlines(text))


def squeeze_blank_lines(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines to one; used for plain text."""
    lines = [line.rstrip() for line in normalise_newlines(text).split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


# --- Clean-up of text that comes from page layout (PDF, OFD) --------------------------------

# Page numbers on their own line, as printed on 公文: "— 1 —", "- 2 -", "第3页 共10页", "3/10".
_PAGE_NUMBER = re.compile(
    r"^(?:[—–\-－─―~～]+\s*\d{1,4}\s*[—–\-－─―~～]+"
    r"|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"
    r"|共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页"
    r"|\d{1,4}\s*/\s*\d{1,4})$"
)
# A line ending in one of these closes a sentence or introduces a list: never glue the next line on.
_LINE_END = tuple("。！？；：」”’!?;:…")
# A next line that starts like a heading, list item or signature part starts a new paragraph.
_HEADING = re.compile(
    r"^(?:第[一二三四五六七八九十百零〇\d]+[章节条款部分编]"
    r"|[一二三四五六七八九十]+、"
    r"|[（(][一二三四五六七八九十\d]+[）)]"
    r"|\d+(?:\.\d+)*[\.．、]"
    r"|[①-⑳]"
    r"|[A-Za-z][\.．、]"
    r"|附件|附：|附表|抄送|主送|联系人|（此件|\(此件)"
)
# Lines that stand alone in a 公文 even when the line above runs to the margin: 发文字号, 成文日期.
_DATE_TEXT = (
    r"(?:\d{4}|[〇○零一二三四五六七八九]{4})年[\d一二三四五六七八九十]{1,3}月[\d一二三四五六七八九十]{1,3}日"
)
_DATE_ONLY = re.compile(rf"^{_DATE_TEXT}$")
_STANDALONE = re.compile(rf"^(?:[\u4e00-\u9fff]{{1,12}}〔\d{{4}}〕\d+号|{_DATE_TEXT})$")
_SPACED_CJK = re.compile(r"[\u4e00-\u9fff][ \t\u3000]+[\u4e00-\u9fff]")
# Body lines must reach this share of the usual full line before we take them as wrapped.
_FULL_LINE = 0.8
# Below this width (in Chinese characters) lines are too short to tell wrapping apart from layout.
_MIN_BODY_WIDTH = 15.0
# With fewer full-width lines than this there is no telling what a full line is: join nothing.
_MIN_FULL_LINES = 3


# Characters that take half the width of a Chinese character: Latin, digits, half-width forms.
_NARROW = re.compile(r"[\x00-\u10ff\uff61-\uffdc\uffe8-\uffee]")


def display_width(line: str) -> float:
    """Width in Chinese-character units: narrow characters count 0.5, all others 1."""
    return len(line) - 0.5 * len(_NARROW.findall(line))


def _typical_width(widths: list[float]) -> float:
    """The width of a full body line (a high percentile), or 0 when there are too few to tell."""
    widths = sorted(widths)
    if not widths:
        return 0.0
    full = widths[int(len(widths) * 0.9)]
    if sum(1 for width in widths if width >= full * _FULL_LINE) < _MIN_FULL_LINES:
        return 0.0
    return full


@dataclass
class _Line:
    text: str  # stripped
    indented: bool
    width: float  # including the indentation, which takes room on the page too


def clean_layout_text(text: str) -> str:
    """Tidy text that was pulled off laid-out pages.

    Normalises line endings and spaces, drops empty and page-number lines, then joins lines that a
    page hard-wrapped in the middle of a Chinese paragraph. The join is deliberately cautious: the
    line must be (nearly) full width and must not end a sentence, and the next line must not start
    with indentation or a heading, so titles, signatures and lists stay on their own lines.
    """
    lines: list[_Line] = []
    for raw in strip_controls(text).split("\n"):
        raw = raw.rstrip()
        stripped = raw.lstrip()
        if stripped and not _PAGE_NUMBER.match(stripped):
            lines.append(_Line(stripped, raw.startswith(("  ", "\u3000", "\t")), display_width(raw)))

    full = _typical_width([line.width for line in lines])
    out: list[str] = []
    for i, line in enumerate(lines):
        signature = i + 1 < len(lines) and _DATE_ONLY.match(lines[i + 1].text)  # the line above a 成文日期
        if out and full >= _MIN_BODY_WIDTH and not signature and _continues(lines[i - 1], line, full):
            out[-1] += line.text
        else:
            out.append(line.text)
    return "\n".join(out)


def _continues(previous: _Line, line: _Line, full: float) -> bool:
    """Is ``line`` the rest of the paragraph that ``previous`` (as printed, before joining) started?"""
    before, after = previous.text, line.text
    if line.indented or before.endswith(_LINE_END) or _HEADING.match(after) or _STANDALONE.match(after):
        return False
    if before.startswith("附件"):  # attachment lists come one per line, and the signature follows
        return False
    # Spaces between Chinese characters (after any "第一条 " style heading) mark name lists and
    # table rows, not running prose.
    if any(_SPACED_CJK.search(_HEADING.sub("", text, count=1)) for text in (before, after)):
        return False
    # Latin words wrapped at a line end need a space; leave such lines alone rather than guess.
    if before[-1].isascii() and before[-1].isalpha() and after[0].isascii() and after[0].isalpha():
        return False
    return previous.width >= full * _FULL_LINE
