"""Entry points: pick the parser by file suffix, enforce limits, add metadata."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePath

from haoban.errors import EmptyFile, FileTooLarge, NotFound, ParseError, UnsupportedFormat

from .base import Extracted, ParsedDocument, detail, strip_controls
from .docx import parse_docx
from .html import parse_html
from .metadata import extract_metadata
from .ofd import parse_ofd
from .pdf import parse_pdf
from .text import parse_md, parse_txt

Parser = Callable[[bytes, str, int], Extracted]  # (data, file name, max_chars)


def _no_limit(parse: Callable[[bytes, str], Extracted]) -> Parser:
    """Adapt a parser whose output size is bounded by its input; the text limit is checked after."""
    return lambda data, name, _max_chars: parse(data, name)


# suffix -> (format name, parser)
_PARSERS: dict[str, tuple[str, Parser]] = {
    ".pdf": ("pdf", parse_pdf),
    ".docx": ("docx", _no_limit(parse_docx)),
    ".html": ("html", _no_limit(parse_html)),
    ".htm": ("html", _no_limit(parse_html)),
    ".txt": ("txt", _no_limit(parse_txt)),
    ".md": ("md", _no_limit(parse_md)),
    ".ofd": ("ofd", _no_limit(parse_ofd)),
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_PARSERS)
_SUPPORTED_TEXT = "PDF、Word（.docx）、OFD、网页（.html/.htm）、纯文本（.txt）、Markdown（.md）"
# Formats whose files hold page images when there is no text layer.
_PAGED = {"pdf", "ofd"}
_UNMAPPED = re.compile("[\ufffd\ue000-\uf8ff]")
_WHITESPACE = re.compile(r"\s")
_MAX_UNMAPPED_SHARE = 0.3
# A declared title must appear within this many characters from the start of the text.
_TITLE_CHECK_CHARS = 3000


def _squash(text: str) -> str:
    return _WHITESPACE.sub("", text)


def _garbled(text: str) -> bool:
    """Text from a PDF or OFD whose fonts lack a usable Unicode mapping comes out as U+FFFD or
    private-use characters; a text layer that is mostly such characters is as good as none."""
    visible = len(text) - len(_WHITESPACE.findall(text))
    return visible > 0 and len(_UNMAPPED.findall(text)) / visible > _MAX_UNMAPPED_SHARE


def _format_for(name: str) -> tuple[str, Parser]:
    suffix = PurePath(name).suffix.lower()
    if suffix not in _PARSERS:
        shown = suffix or "（无扩展名）"
        raise UnsupportedFormat(
            f"不支持的文件格式 {shown}：“{name}”。支持的格式：{_SUPPORTED_TEXT}",
            detail=detail(name, suffix=suffix, supported=sorted(SUPPORTED_SUFFIXES)),
        )
    return _PARSERS[suffix]


def _too_large(name: str, size: int, max_bytes: int) -> FileTooLarge:
    return FileTooLarge(
        f"“{name}”大小为 {size / 1048576:.1f} MB，超过上限 {max_bytes / 1048576:.1f} MB",
        detail=detail(name, size=size, max_bytes=max_bytes),
    )


def parse_bytes(data: bytes, filename: str, *, max_bytes: int, max_chars: int = 5_000_000) -> ParsedDocument:
    """Parse a file's content. Raises only haoban ParseError subclasses."""
    name = PurePath(filename).name or filename
    fmt, parser = _format_for(name)
    if len(data) > max_bytes:
        raise _too_large(name, len(data), max_bytes)
    if not data:
        raise EmptyFile(f"“{name}”是空文件（0 字节）", detail=detail(name, size=0))
    try:
        extracted = parser(bytes(data), name, max_chars)
    except ParseError:
        raise
    except Exception as exc:  # a parser bug must still surface as a parse failure, not a crash
        raise ParseError(f"“{name}”解析失败", detail=detail(name, exc)) from None

    text = strip_controls(extracted.text).strip("\n")
    if not text.strip():
        hint = "，可能是扫描件，需要先做文字识别(OCR)" if fmt in _PAGED else ""
        raise EmptyFile(f"“{name}”中没有可提取的文字{hint}", detail=detail(name, **extracted.extra))
    if fmt in _PAGED and _garbled(text):
        raise EmptyFile(
            f"“{name}”的文字层无法正确识别（字体编码缺失或损坏），可能需要先做文字识别(OCR)",
            detail=detail(name, **extracted.extra),
        )
    if len(text) > max_chars:
        raise FileTooLarge(
            f"“{name}”的文字有 {len(text)} 个字符，超过上限 {max_chars}",
            detail=detail(name, chars=len(text), max_chars=max_chars),
        )

    # Declared titles go stale (a Word template keeps the title of the document it was made from),
    # so one is used only when the start of the text bears it out; else only as a last resort.
    hint, fallback = extracted.title_hint, extracted.fallback_title
    if hint and _squash(hint) not in _squash(text[:_TITLE_CHECK_CHARS]):
        hint, fallback = None, hint
    meta = extract_metadata(text, hint)
    return ParsedDocument(
        text=text,
        format=fmt,
        title=meta["title"] or fallback,
        issuer=meta["issuer"],
        doc_number=meta["doc_number"],
        written_date=meta["written_date"],
        publish_date=extracted.publish_date or meta["publish_date"],
        extra=extracted.extra,
    )


def parse_file(path: Path, *, max_bytes: int, max_chars: int = 5_000_000) -> ParsedDocument:
    """Parse a file on disk; the size limit is checked before the file is read."""
    path = Path(path)
    _format_for(path.name)
    return parse_bytes(read_limited(path, max_bytes), path.name, max_bytes=max_bytes, max_chars=max_chars)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A file's bytes, refused with FileTooLarge before (or while) reading one past the limit."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(path.name, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise NotFound(
            f"文件不存在：{path}", code="FILE_NOT_FOUND", detail={"file": path.name, "path": str(path)}
        ) from None
    except OSError as exc:
        raise ParseError(f"无法读取文件“{path.name}”", detail=detail(path.name, exc)) from None
    if len(data) > max_bytes:
        raise _too_large(path.name, len(data), max_bytes)
    return data
