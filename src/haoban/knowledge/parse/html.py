"""HTML pages, as saved from government websites."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from haoban.errors import CorruptFile

from .base import Extracted, corrupt, strip_controls, useful_title
from .metadata import parse_date
from .text import checked, codec_name, decode

# Parts of a page that are navigation or decoration, not the document.
_DROP = frozenset("script style nav header footer noscript template iframe object svg select".split())
# Elements that start a new line of text.
_BLOCK = frozenset(
    "address article aside blockquote caption center dd details dialog div dl dt fieldset figcaption figure "
    "form h1 h2 h3 h4 h5 h6 hr li main ol p pre section summary table tbody thead tfoot tr ul".split()
)
_LINE, _CELL = "\x1e", "\x1f"  # markers; control characters are stripped from the page first
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._-]+)""",
    re.I,
)
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
# A source-code line break between two Chinese characters is not a space in the rendered page.
_CJK_BREAK = re.compile(rf"(?<={_CJK})[ \t\r\f]*\n[ \t\r\f\n]*(?={_CJK})")
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
# Site names appended to <title>: "标题_中国政府网", "标题 - 某某市人民政府".
_TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜| - | — |--)\s*")
_SITE_NAME = re.compile(r"(网|网站|门户|首页|平台)$")


def _decode_html(data: bytes, name: str) -> tuple[str, str]:
    """Use the charset the page declares when it decodes cleanly, else detect it like plain text."""
    found = _DECLARED.search(data[:4096])
    declared = codec_name((found.group(1) or found.group(2)).decode("ascii")) if found else None
    if declared and declared.startswith(("utf-16", "utf-32")):
        declared = None  # a page whose bytes we could read the declaration from is not UTF-16
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # pages often declare one encoding and use another
        try:
            return decode(data, name)
        except CorruptFile:
            # Nothing fits cleanly: read it as declared, as a browser would, unless it is binary.
            return checked(data.decode(declared, errors="replace"), declared, name)
    return decode(data, name)


def _meta(soup: BeautifulSoup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"name": re.compile(rf"^(?:{key})$", re.I)})
    value = tag.get("content") if isinstance(tag, Tag) else None
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _title_candidates(soup: BeautifulSoup) -> list[str]:
    """Titles the page declares, most trusted first: ArticleTitle meta, <title>, first <h1>."""
    found = [_meta(soup, "ArticleTitle")]
    if soup.title and soup.title.string:
        # "标题_中国政府网": keep the longest part that is not the site's own name.
        parts = [p for p in _TITLE_SPLIT.split(soup.title.string.strip()) if p and not _SITE_NAME.search(p)]
        found.append(max(parts, key=len) if parts else None)
    h1 = soup.find("h1")
    found.append(h1.get_text("", strip=True) if h1 else None)
    return [title for title in map(useful_title, found) if title]


def _pick_title(candidates: list[str], body: str) -> tuple[str | None, str | None]:
    """(title hint, fallback): the first candidate the body repeats, else the first one as fallback."""
    squashed = _SPACES.sub("", body)
    for title in candidates:
        if _SPACES.sub("", title) in squashed:
            return title, None
    return None, candidates[0] if candidates else None


def _body_text(soup: BeautifulSoup) -> str:
    """Text with line breaks at block elements and " | " between table cells.

    Walks the tree with an explicit stack: no recursion limit on deep pages, and no edits to the
    tree (bs4 insertions cost time linear in the number of siblings, which is quadratic overall).
    """
    root = soup.body or soup
    pieces: list[str] = []
    stack = [iter(root.contents)]
    closers = [""]  # what to emit when the matching stack entry runs out
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            pieces.append(closers.pop())
        elif isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, processing instructions
                pieces.append(str(node))
        elif isinstance(node, Tag) and node.name not in _DROP:
            if node.name == "br":
                pieces.append(_LINE)
                continue
            block = node.name in _BLOCK
            pieces.append(_LINE if block else "")
            stack.append(iter(node.contents))
            closers.append(_LINE if block else _CELL if node.name in ("td", "th") else "")
    raw = _CJK_BREAK.sub("", "".join(pieces))
    lines = []
    for line in raw.split(_LINE):
        cells = [_SPACES.sub(" ", cell).strip(" \u3000") for cell in line.split(_CELL)]
        text = " | ".join(cell for cell in cells if cell)
        if text:
            lines.append(text)
    return "\n".join(lines)


def parse_html(data: bytes, name: str) -> Extracted:
    text, encoding = _decode_html(data, name)
    try:
        soup = BeautifulSoup(strip_controls(text), "lxml")
        candidates = _title_candidates(soup)
        published = parse_date(_meta(soup, "PubDate|publishdate|firstpublishedtime") or "")
        source = _meta(soup, "ContentSource")
        body = _body_text(soup)
        title, fallback = _pick_title(candidates, body)
    except Exception as exc:  # lxml and bs4 rarely fail, but a parser must only raise ParseError
        raise corrupt(name, "HTML", exc) from None
    extra: dict = {"encoding": encoding}
    if source:
        extra["source"] = source
    return Extracted(
        text=body, title_hint=title, fallback_title=fallback, publish_date=published, extra=extra
    )
