"""Structure-aware chunking for Chinese government text.

Two numbering systems are recognised at line starts, plus attachments and dotted outlines:
- regulations: 第X编 > 第X章 > 第X节 > 第X条; 款 are plain paragraphs inside an article, and
  （一）/1. lines under an article are its 项/目;
- 公文 (GB/T 9704 order): 一、 > （一） > 1. / 1、 > （1）;
- 应急预案-style outlines: "1 总则" > "1.1 编制目的" > "1.1.1 ...";
- "附件" / "附件1" / "附件：标题" lines start a new top-level section (the outline is reset).

Every heading kind has a fixed rank; a heading closes all open headings of equal or deeper rank,
so the heading path is the stack of enclosing headings. `chunk_text` packs whole sentences into
chunks section by section; see `_can_join` for when neighbouring sections share a chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haoban.text.sentences import LINE_BREAKS, split_sentences


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # char offset in the source text
    end: int  # exclusive; source[start:end] == text
    text: str
    heading_path: str  # "第三章 总则 > 第十二条"; "" when the chunk is outside any heading


@dataclass(frozen=True, slots=True)
class Heading:
    level: int  # depth in the outline, 1 = top
    start: int  # the heading's line, whitespace-trimmed: text[start:end]
    end: int
    label: str  # short display form, e.g. "第十二条【适用范围】" or "一、总体要求"


_RANK = {
    "附件": 0, "编": 1, "章": 2, "节": 3, "条": 4,
    "dec1": 5.1, "dec2": 5.2, "dec3": 5.3, "dec4": 5.4,
    "一、": 6, "（一）": 7, "1.": 8, "（1）": 9,
}  # fmt: skip
# A new heading of these kinds always starts a new chunk.
_HARD = frozenset({"附件", "编", "章", "节", "条", "dec1", "一、"})
# List-item kinds: small siblings are packed together freely (as is everything under a 条).
_ITEM = frozenset({"1.", "（1）", "dec3", "dec4"})
# Kinds whose numbering must run on (1, or up to 3 past the last one seen) to count as headings:
# this drops wrapped lines that happen to start with a number ("……分为\n二、…" after 五、).
_SEQUENTIAL = frozenset({"编", "章", "节", "条", "一、", "（一）", "1.", "（1）"})

_CN = "一二三四五六七八九十"
_CN_ALL = _CN + "百千零〇两"
_LB = re.escape(LINE_BREAKS)
_HEADING = re.compile(
    f"(?<![^{_LB}])[ \\t\\u3000\\xa0]*(?:"  # at a line start, after indentation
    f"第(?P<law>[{_CN_ALL}\\d]{{1,7}})(?P<law_kind>[编章节条])"
    f"|(?P<cn>[{_CN}]{{1,3}})、"
    f"|[（(](?P<pcn>[{_CN}]{{1,3}})[）)]"
    r"|(?P<ar>\d{1,3})(?:[.．](?!\d)|、)"
    r"|[（(](?P<par>\d{1,3})[）)]"
    r"|(?P<dec>\d{1,2}(?:[.．]\d{1,2}){0,3})(?=[ \t\u3000])"
    f"|附件(?P<att>[\\d{_CN}]{{0,3}})"
    ")"
)
_LINE_END = re.compile(f"[{_LB}]")
# After 第X条 with no space: these characters mean a reference ("第三条规定的"), not a heading.
_REFERENCE_NEXT = frozenset("规定的中至、，,。；;和或及所款项以前后起第")
_TITLE_END = re.compile(r"[。！？；：:;!?]")
_SENTENCE_END = re.compile(r"[。！？；!?;]")
_BLANK = re.compile(r"\s*")
_ATTACHMENT_MARK = re.compile(r"附件[\d一二三四五六七八九十]*[\s：:.．、]*")
_CN_DIGIT = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}


def _to_int(s: str) -> int:
    """'12', '十二', '二十三', '一百零五' -> int."""
    if s.isdecimal():
        return int(s)
    total = num = 0
    for ch in s:
        if ch in _CN_UNIT:
            total += (num or 1) * _CN_UNIT[ch]
            num = 0
        else:
            num = num * 10 + (_CN_DIGIT[ch] if ch in _CN_DIGIT else int(ch))
    return total + num


def _short(s: str, limit: int = 30) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass(slots=True)
class _Head:
    kind: str
    number: int
    start: int
    end: int
    label: str
    parent: int = -1
    level: int = 0
    path: str = ""
    item: bool = False  # a list item (packed with its siblings)
    article: int = -1  # the enclosing 第X条, if any


def _line_end(text: str, pos: int) -> int:
    m = _LINE_END.search(text, pos)
    return m.start() if m else len(text)


def _candidate(text: str, m: re.Match[str]) -> _Head | None:
    """Classify one regex hit, applying the checks that need only its own line."""
    marker = m.group().lstrip()  # without the indentation
    start = m.end() - len(marker)
    line_end = _line_end(text, m.end())
    rest = text[m.end() : line_end]
    end = line_end - (len(rest) - len(rest.rstrip()))
    nxt = rest[:1]
    group = m.lastgroup
    if group == "law_kind":
        kind = m.group("law_kind")
        if nxt and nxt in _REFERENCE_NEXT:
            return None
        if kind != "条":
            if end - start > 50:  # chapter lines are short titles
                return None
            return _Head(kind, _to_int(m.group("law")), start, end, _short(text[start:end]))
        label = marker
        title = rest.lstrip()
        close = title.find("】", 0, 30)
        if title.startswith("【") and close > 0:
            label += title[: close + 1]
        return _Head(kind, _to_int(m.group("law")), start, end, _short(label))
    if group == "att":
        if nxt and not (nxt.isspace() or nxt in "：:.．、") or end - start > 60:
            return None  # "附件中所列..." is running text
        return _Head("附件", 0, start, end, text[start:end])  # label finished in _outline
    if group == "dec":
        depth = marker.count(".") + marker.count("．") + 1
        title = rest.strip()
        if not title or title[0].isdecimal():
            return None  # table cells: "1 15172.500"
        if depth == 1 and (len(title) > 20 or len(title.split()) > 1 or _TITLE_END.search(title)):
            return None  # "1 总则" is a short bare title; table rows are not
        kind, number = f"dec{depth}", 0
    elif group == "cn":
        if nxt in _CN_ALL:
            return None  # "一、二线城市", "一、二、三产业"
        kind, number = "一、", _to_int(m.group(group))
    elif group == "pcn":
        kind, number = "（一）", _to_int(m.group(group))
    elif group == "ar":
        if nxt.isdecimal():
            return None  # "10、20万元"
        kind, number = "1.", int(m.group(group))
    else:
        kind, number = "（1）", int(m.group(group))
    stop = _TITLE_END.search(rest)
    return _Head(kind, number, start, end, _short(marker + (rest[: stop.start()] if stop else rest)))


def _outline(text: str) -> list[_Head]:
    cands = [h for m in _HEADING.finditer(text) if (h := _candidate(text, m))]
    cand_starts = {h.start for h in cands}
    # A dotted outline needs at least one "1.1" level; a lone "1 xxx" line is more likely a table row.
    if not any(h.kind.startswith("dec") and h.kind != "dec1" for h in cands):
        cands = [h for h in cands if h.kind != "dec1"]
    heads: list[_Head] = []
    stack: list[int] = []  # indexes into heads
    last: dict[str, int] = {}  # last number seen per kind
    for h in cands:
        if h.kind in _SEQUENTIAL and h.number != 1 and h.kind in last:
            if not last[h.kind] < h.number <= last[h.kind] + 3:
                continue
        if h.kind == "附件":
            last.clear()
            h.label = _attachment_label(text, h, cand_starts)
        last[h.kind] = h.number
        rank = _RANK[h.kind]
        while stack and _RANK[heads[stack[-1]].kind] >= rank:
            stack.pop()
        if stack:
            p = heads[stack[-1]]
            h.parent = stack[-1]
            h.path = f"{p.path} > {h.label}"
            h.article = stack[-1] if p.kind == "条" else p.article
            h.item = h.kind in _ITEM or h.article >= 0
        else:
            h.path = h.label
            h.item = h.kind in _ITEM
        stack.append(len(heads))
        h.level = len(stack)
        heads.append(h)
    return heads


def _attachment_label(text: str, h: _Head, heading_starts: set[int]) -> str:
    """'附件2' alone on its line takes the attachment's title from the next line when it is short."""
    if _ATTACHMENT_MARK.fullmatch(h.label) is None:
        return _short(h.label)  # the title is on the same line
    nxt = _BLANK.match(text, h.end).end()
    title = text[nxt : _line_end(text, nxt)].strip()
    if title and len(title) <= 40 and not _TITLE_END.search(title) and nxt not in heading_starts:
        return _short(f"{h.label.rstrip('：:.．、')} {title}")
    return _short(h.label)


def detect_headings(text: str) -> list[Heading]:
    """The heading lines of `text`, in order, with their outline depth and a display label."""
    return [Heading(h.level, h.start, h.end, h.label) for h in _outline(text)]


@dataclass(slots=True)
class _Section:
    head: int  # index into the outline, -1 for text before the first heading
    spans: list[tuple[int, int]]  # its sentences (long ones already cut into pieces)
    hard: bool = False  # starts with a heading that must open a new chunk
    item: bool = False
    bare: bool = False  # only short title lines, no body (a table of contents is a run of these)


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most `size` chars.

    Only sentences longer than 2*size come here (tables flattened into one line, run-on
    lists): each piece ends after the last clause mark (，、：,:) inside the next `size`
    chars, or, when there is none, hard at `size` chars. Whitespace at piece edges is dropped.
    """
    out = []
    pos = start
    while pos < end:
        limit = min(pos + size, end)
        cut = limit
        if limit < end:
            best = max(text.rfind(c, pos, limit) for c in "，、：,:")
            if best >= pos:
                cut = best + 1
        seg = text[pos:cut]
        if stripped := seg.strip():
            a = pos + len(seg) - len(seg.lstrip())
            out.append((a, a + len(stripped)))
        pos = cut
    return out


def _sections(text: str, heads: list[_Head], size: int, pieces: set[tuple[int, int]]) -> list[_Section]:
    """Group sentences by the heading they fall under; add the pieces of cut sentences to `pieces`."""
    sections = [_Section(-1, [])]
    hi = 0
    item_end = -1  # end of the current 项 line inside an article
    for a, b in split_sentences(text):
        # A heading starts at a line start, which always starts a sentence.
        while hi < len(heads) and heads[hi].start <= a:
            h = heads[hi]
            sections.append(_Section(hi, [], h.kind in _HARD, h.item))
            item_end = h.end if h.article >= 0 else -1
            hi += 1
        if 0 <= item_end <= a:
            # 项 inside an article are one line each; a paragraph after them is the article's
            # next 款, so it goes back under the article.
            sections.append(_Section(heads[sections[-1].head].article, [], False, True))
            item_end = -1
        spans = sections[-1].spans
        if b - a > 2 * size:
            cut = _pieces(text, a, b, size)
            spans.extend(cut)
            pieces.update(cut)
        else:
            spans.append((a, b))
    sections = [s for s in sections if s.spans]
    # A title line with no body of its own ("第一章 总则" right before "第一条") goes in front of
    # its first child rather than into a tiny chunk of its own, and the child's path is used.
    # List items are left alone: they join their parent's chunk under the parent's path.
    merged: list[_Section] = []
    for s in sections:
        if _title_only(heads, s):
            h = heads[s.head]
            s.bare = h.end - h.start <= 40 and not _SENTENCE_END.search(text, h.start, h.end)
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and _title_only(heads, prev)
            and prev.spans[-1][1] - prev.spans[0][0] <= size // 2
            and not s.item
            and _is_under(heads, s.head, prev.head)
        ):
            s.spans[:0] = prev.spans
            s.hard = s.hard or prev.hard
            s.bare = s.bare and prev.bare
            merged[-1] = s
        else:
            merged.append(s)
    return merged


def _title_only(heads: list[_Head], s: _Section) -> bool:
    """Whether the section is just its heading line (an article's line is body text, not a title)."""
    return s.head >= 0 and heads[s.head].kind != "条" and s.spans[-1][1] <= heads[s.head].end


def _is_under(heads: list[_Head], h: int, ancestor: int) -> bool:
    """Whether heading `h` is `ancestor` or lies inside it (-1 = the whole document)."""
    while h != ancestor:
        if h < 0:
            return False
        h = heads[h].parent
    return True


def _can_join(
    heads: list[_Head], first: _Section, s: _Section, cur: list[tuple[int, int]], size: int
) -> bool:
    """Whether section `s` may be appended to the chunk `cur`, whose first section is `first`.

    Hard headings (附件/编/章/节/条/dec1/一、) always open a chunk, and so does anything when the
    chunk began before the first heading. Otherwise `s` must fit whole, sit under the same parent
    as `first` (as its sibling or a descendant), and be a list item (1./（1）, or anything under a
    条) or join a chunk still under size/4 chars. The chunk keeps the path of `first`: list items
    are cited at their first item, and a （一） section is only ever merged into a tiny one.
    """
    if s.hard or first.head < 0 or s.spans[-1][1] - cur[0][0] > size:
        return False
    if not _is_under(heads, s.head, heads[first.head].parent):
        return False
    return s.item or cur[-1][1] - cur[0][0] < size // 4


def _overlap(
    cur: list[tuple[int, int]], nxt: tuple[int, int], size: int, overlap: int, pieces: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Trailing whole sentences of `cur` (never all of it) to repeat before `nxt`: at most
    `overlap` chars, and short enough that the next chunk still fits in `size`."""
    end = cur[-1][1]
    j = len(cur) - 1
    while j >= 1 and end - cur[j][0] <= overlap and nxt[1] - cur[j][0] <= size and cur[j] not in pieces:
        j -= 1
    return cur[j + 1 :]


def chunk_text(text: str, size: int = 400, overlap: int = 80) -> list[Chunk]:
    """Split `text` into chunks of whole sentences, about `size` chars, following its headings.

    Chunks are at most `size` chars, except one holding a single sentence of up to 2*size chars
    (longer sentences are cut into pieces, see `_pieces`). Consecutive chunks cut from the same
    section repeat up to `overlap` chars of whole trailing sentences; chunks never overlap across
    sections. Each chunk carries the heading path of its first section.
    """
    if size < 1 or overlap < 0:
        raise ValueError(f"need size >= 1 and overlap >= 0, got size={size}, overlap={overlap}")
    heads = _outline(text)
    chunks: list[Chunk] = []
    cur: list[tuple[int, int]] = []
    first = _Section(-1, [])

    def emit() -> None:
        a, b = cur[0][0], cur[-1][1]
        path = heads[first.head].path if first.head >= 0 else ""
        chunks.append(Chunk(a, b, text[a:b], path))

    pieces: set[tuple[int, int]] = set()  # parts of over-long sentences: never repeated as overlap
    titles_only = False  # the chunk so far is only bare title lines
    for s in _sections(text, heads, size, pieces):
        if cur and (
            _can_join(heads, first, s, cur, size)
            # A table of contents (a run of bare titles) is kept together in one chunk.
            or (titles_only and s.bare and s.spans[-1][1] - cur[0][0] <= size)
        ):
            cur.extend(s.spans)
            titles_only = titles_only and s.bare
            continue
        if cur:
            emit()
        cur, first, titles_only = [], s, s.bare
        for span in s.spans:
            if cur and span[1] - cur[0][0] > size:
                emit()
                cur = _overlap(cur, span, size, overlap, pieces) if overlap else []
            cur.append(span)
    if cur:
        emit()
    return chunks
