"""智能比对: versions of a 公文 compared sentence by sentence, with character diffs inside changed sentences
and moves (a sentence taken out in one place and put back, unchanged or nearly so, elsewhere).

``compare(versions)`` gives one ``PairDiff`` per consecutive pair (v1→v2, v2→v3, …) and a summary. Each
pair is a list of side-by-side ``Row``s in reading order: equal, insert (right only), delete (left only),
replace (both, with character ops), move (two rows sharing a ``move_id``: the left-only row where it was,
the right-only row where it went). ``PairDiff.side_by_side()`` flattens rows into segments per side for a
web page to wrap in <ins>/<del>.

``compare_docx(old, new)`` writes the new version as DOCX with tracked revisions (w:ins / w:del with
author and date), so Word and WPS show them as 修订 that can be accepted or rejected.

Algorithm (stdlib difflib only; sentences are short, so its quadratic worst case stays small):
1. split into sentences (haoban.text.sentences, the same splitter the knowledge engine uses);
2. align the sentence sequences with SequenceMatcher on whitespace-free sentence text;
3. inside each replaced block, pair sentences by similarity (order-preserving dynamic programming for
   small blocks, greedy in order for large ones); unpaired ones are deletions and insertions;
4. a deletion and an insertion with identical text, or similarity ≥ ``move_threshold``, become a move;
5. character opcodes (SequenceMatcher on characters) for replaced pairs and near-identical moves.
"""

from __future__ import annotations

import difflib
import io
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from haoban.errors import InvalidInput
from haoban.text.sentences import split_sentences

MAX_VERSIONS = 10
MAX_CHARS = 500_000  # per version, as for a 公文 with its attachments
PAIR_THRESHOLD = 0.5  # two sentences this similar are one sentence changed, not one deleted + one inserted
MOVE_THRESHOLD = 0.85
_DP_LIMIT = 80  # replaced blocks up to this many sentences per side are paired optimally

Op = Literal["equal", "insert", "delete", "replace", "move"]


class CharOp(BaseModel):
    """A piece of a changed sentence: equal on both sides, or only on the left (delete) / right (insert)."""

    op: Literal["equal", "insert", "delete"]
    text: str


class Row(BaseModel):
    op: Op
    left: str | None = None
    right: str | None = None
    left_index: int | None = None  # sentence number in the left version
    right_index: int | None = None
    left_span: tuple[int, int] | None = None  # character span in the left text
    right_span: tuple[int, int] | None = None
    chars: list[CharOp] = []  # replace, and moves that changed a little
    move_id: int | None = None
    similarity: float = 1.0


class Stats(BaseModel):
    equal_sentences: int = 0
    inserted_sentences: int = 0
    deleted_sentences: int = 0
    changed_sentences: int = 0
    moved_sentences: int = 0
    inserted_chars: int = 0  # whole inserted sentences plus characters inserted inside changed ones
    deleted_chars: int = 0
    moved_chars: int = 0

    def add(self, other: Stats) -> None:
        for name in Stats.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class PairDiff(BaseModel):
    left_name: str
    right_name: str
    rows: list[Row]
    stats: Stats

    def side_by_side(self) -> list[dict]:
        """Rows as plain data for a two-column view: {op, move_id, left: [[op, text], …], right: […]}, where
        a side is empty when the sentence is not on it; ops inside are equal / insert / delete."""
        out = []
        for row in self.rows:
            if row.chars:
                left = [[c.op, c.text] for c in row.chars if c.op != "insert"]
                right = [[c.op, c.text] for c in row.chars if c.op != "delete"]
                if row.op == "move":  # a move row shows only its own side
                    left = left if row.left is not None else []
                    right = right if row.right is not None else []
            else:
                mark = {"insert": "insert", "delete": "delete"}.get(row.op, "equal")
                left = [[mark, row.left]] if row.left is not None else []
                right = [[mark, row.right]] if row.right is not None else []
            out.append({"op": row.op, "move_id": row.move_id, "left_index": row.left_index,
                        "right_index": row.right_index, "left": left, "right": right})
        return out


class CompareReport(BaseModel):
    names: list[str]
    pairs: list[PairDiff]
    summary: Stats = Field(description="各相邻版本对的合计")


# --- comparing -------------------------------------------------------------------------------------------


class _Sentence:
    __slots__ = ("text", "key", "span")

    def __init__(self, text: str, span: tuple[int, int]):
        self.text = text
        self.key = re.sub(r"\s+", "", text)
        self.span = span


def _sentences(text: str) -> list[_Sentence]:
    return [_Sentence(text[a:b], (a, b)) for a, b in split_sentences(text)]


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    # Cheap upper bound first: most candidate pairs in a block are unrelated.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < PAIR_THRESHOLD or matcher.quick_ratio() < PAIR_THRESHOLD:
        return matcher.quick_ratio() * 0.5
    return matcher.ratio()


def char_ops(a: str, b: str) -> list[CharOp]:
    """Character-level edit of ``a`` into ``b`` (equal / delete / insert pieces in order)."""
    out: list[CharOp] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(CharOp(op="equal", text=a[i1:i2]))
        else:
            if i2 > i1:
                out.append(CharOp(op="delete", text=a[i1:i2]))
            if j2 > j1:
                out.append(CharOp(op="insert", text=b[j1:j2]))
    return out


def _pair_block(left: list[_Sentence], right: list[_Sentence]) -> list[tuple[int | None, int | None, float]]:
    """Order-preserving pairing of a replaced block: (i, j, similarity), (i, None) deleted, (None, j)
    inserted, in reading order."""
    n, m = len(left), len(right)
    if n <= _DP_LIMIT and m <= _DP_LIMIT:
        sim = [[_similarity(left[i].key, right[j].key) for j in range(m)] for i in range(n)]
        # best[i][j]: best total similarity pairing left[i:] with right[j:]
        best = [[0.0] * (m + 1) for _ in range(n + 1)]
        for i in range(n - 1, -1, -1):
            for j in range(m - 1, -1, -1):
                take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] >= PAIR_THRESHOLD else -1.0
                best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
        out: list[tuple[int | None, int | None, float]] = []
        i = j = 0
        while i < n and j < m:
            if sim[i][j] >= PAIR_THRESHOLD and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
                out.append((i, j, sim[i][j]))
                i, j = i + 1, j + 1
            elif best[i][j] == best[i + 1][j]:
                out.append((i, None, 0.0))
                i += 1
            else:
                out.append((None, j, 0.0))
                j += 1
        out += [(k, None, 0.0) for k in range(i, n)]
        out += [(None, k, 0.0) for k in range(j, m)]
        return out
    # Large blocks (a rewritten section): walk both in order, pairing neighbours that are similar.
    out = []
    i = j = 0
    while i < n and j < m:
        s = _similarity(left[i].key, right[j].key)
        if s >= PAIR_THRESHOLD:
            out.append((i, j, s))
            i, j = i + 1, j + 1
        elif j + 1 < m and _similarity(left[i].key, right[j + 1].key) >= PAIR_THRESHOLD:
            out.append((None, j, 0.0))
            j += 1
        else:
            out.append((i, None, 0.0))
            i += 1
    out += [(k, None, 0.0) for k in range(i, n)]
    out += [(None, k, 0.0) for k in range(j, m)]
    return out


def compare_pair(left_text: str, right_text: str, *, left_name: str = "v1", right_name: str = "v2",
                 move_threshold: float = MOVE_THRESHOLD) -> PairDiff:
    a, b = _sentences(left_text), _sentences(right_text)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, [s.key for s in a], [s.key for s in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                rows.append(Row(op="equal", left=a[i].text, right=b[j].text, left_index=i, right_index=j,
                                left_span=a[i].span, right_span=b[j].span))
            continue
        for i, j, s in _pair_block(a[i1:i2], b[j1:j2]):
            if i is not None and j is not None:
                li, rj = i1 + i, j1 + j
                rows.append(Row(op="replace", left=a[li].text, right=b[rj].text, left_index=li, right_index=rj,
                                left_span=a[li].span, right_span=b[rj].span, similarity=round(s, 3),
                                chars=char_ops(a[li].text, b[rj].text)))
            elif i is not None:
                li = i1 + i
                rows.append(Row(op="delete", left=a[li].text, left_index=li, left_span=a[li].span, similarity=0.0))
            else:
                rj = j1 + j
                rows.append(Row(op="insert", right=b[rj].text, right_index=rj, right_span=b[rj].span, similarity=0.0))
    _find_moves(rows, move_threshold)
    return PairDiff(left_name=left_name, right_name=right_name, rows=rows, stats=_stats(rows))


def _find_moves(rows: list[Row], threshold: float) -> None:
    """Deleted and inserted sentences that are the same sentence become a move (both rows get a move_id)."""
    deleted = [r for r in rows if r.op == "delete"]
    inserted = [r for r in rows if r.op == "insert"]
    if not deleted or not inserted:
        return
    by_key: dict[str, list[Row]] = {}
    for r in inserted:
        by_key.setdefault(re.sub(r"\s+", "", r.right or ""), []).append(r)
    move_id = 0
    pending: list[Row] = []
    for d in deleted:
        key = re.sub(r"\s+", "", d.left or "")
        candidates = by_key.get(key)
        if candidates and len(key) >= 2:
            _mark_move(d, candidates.pop(0), move_id, 1.0)
            move_id += 1
        else:
            pending.append(d)
    # Near-identical moves: compare only sentences of similar length (a move rarely changes the length).
    free = [r for r in inserted if r.op == "insert"]
    if len(pending) * len(free) > 250_000:  # pathological input: exact moves only
        return
    for d in pending:
        dl = len(d.left or "")
        if dl < 6:  # short fragments ("特此通知。") match too easily to call them moved
            continue
        best, best_s = None, threshold
        for r in free:
            if r.op != "insert" or abs(len(r.right or "") - dl) > dl * (1 - threshold) + 2:
                continue
            s = _similarity(d.left or "", r.right or "")
            if s >= best_s:
                best, best_s = r, s
        if best is not None:
            _mark_move(d, best, move_id, best_s)
            move_id += 1


def _mark_move(deleted: Row, inserted: Row, move_id: int, similarity: float) -> None:
    chars = [] if similarity >= 1.0 and deleted.left == inserted.right else char_ops(deleted.left or "", inserted.right or "")
    for row in (deleted, inserted):
        row.op = "move"
        row.move_id = move_id
        row.similarity = round(similarity, 3)
        row.chars = chars
    # Each side knows where the other went, for a "moved to / from" link.
    deleted.right_index, inserted.left_index = inserted.right_index, deleted.left_index


def _stats(rows: list[Row]) -> Stats:
    st = Stats()
    for r in rows:
        if r.op == "equal":
            st.equal_sentences += 1
        elif r.op == "insert":
            st.inserted_sentences += 1
            st.inserted_chars += len(r.right or "")
        elif r.op == "delete":
            st.deleted_sentences += 1
            st.deleted_chars += len(r.left or "")
        elif r.op == "replace":
            st.changed_sentences += 1
            st.inserted_chars += sum(len(c.text) for c in r.chars if c.op == "insert")
            st.deleted_chars += sum(len(c.text) for c in r.chars if c.op == "delete")
        elif r.op == "move" and r.left is not None:  # count each move once, on its left row
            st.moved_sentences += 1
            st.moved_chars += len(r.left)
            st.inserted_chars += sum(len(c.text) for c in r.chars if c.op == "insert")
            st.deleted_chars += sum(len(c.text) for c in r.chars if c.op == "delete")
    return st


def compare(versions: list[str], *, names: list[str] | None = None,
            move_threshold: float = MOVE_THRESHOLD) -> CompareReport:
    """Compare two or more versions: one PairDiff per consecutive pair, and their summed stats."""
    if not isinstance(versions, list) or len(versions) < 2:
        raise InvalidInput("比对至少需要两个版本", code="COMPARE_TOO_FEW")
    if len(versions) > MAX_VERSIONS:
        raise InvalidInput(f"一次最多比对 {MAX_VERSIONS} 个版本", code="COMPARE_TOO_MANY")
    for k, text in enumerate(versions):
        if not isinstance(text, str):
            raise InvalidInput(f"第 {k + 1} 个版本不是文本", code="COMPARE_BAD_INPUT")
        if len(text) > MAX_CHARS:
            raise InvalidInput(f"第 {k + 1} 个版本过长（{len(text)} 字），上限 {MAX_CHARS} 字", code="COMPARE_TOO_LONG")
    names = list(names) if names else [f"第{k + 1}稿" for k in range(len(versions))]
    if len(names) != len(versions):
        raise InvalidInput("版本名称的个数与版本个数不一致", code="COMPARE_BAD_NAMES")
    pairs = [
        compare_pair(versions[k], versions[k + 1], left_name=names[k], right_name=names[k + 1],
                     move_threshold=move_threshold)
        for k in range(len(versions) - 1)
    ]
    summary = Stats()
    for pair in pairs:
        summary.add(pair.stats)
    return CompareReport(names=names, pairs=pairs, summary=summary)


# --- DOCX with tracked revisions -------------------------------------------------------------------------


def compare_docx(old: str, new: str, *, author: str = "好办", when: datetime | None = None) -> bytes:
    """The new version as DOCX whose differences from the old are tracked revisions (修订): accepting all
    gives the new text, rejecting all gives the old. Paragraphs are lines; changed paragraphs carry
    character-level w:ins/w:del runs, added or removed paragraphs have their paragraph mark tracked too."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    if not isinstance(old, str) or not isinstance(new, str):
        raise InvalidInput("比对需要两段文本", code="COMPARE_BAD_INPUT")
    for label, text in (("原稿", old), ("新稿", new)):
        if len(text) > MAX_CHARS:
            raise InvalidInput(f"{label}过长（{len(text)} 字），上限 {MAX_CHARS} 字", code="COMPARE_TOO_LONG")
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = Document()
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    sect = body.find(qn("w:sectPr"))
    _set_default_font(document, qn, OxmlElement)
    counter = iter(range(1, 10**9))

    def el(tag: str, **attrs: str) -> OxmlElement:
        e = OxmlElement(tag)
        for k, v in attrs.items():
            e.set(qn(f"w:{k}"), v)
        return e

    def rev(tag: str) -> OxmlElement:
        return el(tag, id=str(next(counter)), author=author, date=stamp)

    def run(text: str, deleted: bool = False) -> OxmlElement:
        r = el("w:r")
        t = el("w:delText" if deleted else "w:t")
        t.text = text
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        r.append(t)
        return r

    def paragraph(pieces: list[tuple[str, str]], mark: str | None = None) -> None:
        """pieces: (op, text) with op equal/insert/delete; mark: None, "insert" or "delete" for the ¶."""
        p = el("w:p")
        if mark:
            ppr = el("w:pPr")
            rpr = el("w:rPr")
            rpr.append(rev("w:ins" if mark == "insert" else "w:del"))
            ppr.append(rpr)
            p.append(ppr)
        for op, text in pieces:
            if not text:
                continue
            if op == "equal":
                p.append(run(text))
            elif op == "insert":
                wrapper = rev("w:ins")
                wrapper.append(run(text))
                p.append(wrapper)
            else:
                wrapper = rev("w:del")
                wrapper.append(run(text, deleted=True))
                p.append(wrapper)
        sect.addprevious(p)

    old_paras, new_paras = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(None, old_paras, new_paras, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for text in new_paras[j1:j2]:
                paragraph([("equal", text)])
            continue
        left = [_Sentence(t, (0, 0)) for t in old_paras[i1:i2]]
        right = [_Sentence(t, (0, 0)) for t in new_paras[j1:j2]]
        for i, j, _ in _pair_block(left, right):
            if i is not None and j is not None:
                paragraph([(c.op, c.text) for c in char_ops(left[i].text, right[j].text)])
            elif i is not None:
                paragraph([("delete", left[i].text)], mark="delete")
            else:
                paragraph([("insert", right[j].text)], mark="insert")
    # A final untracked empty paragraph: the last paragraph mark of a document cannot be a revision.
    sect.addprevious(el("w:p"))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_default_font(document, qn, OxmlElement) -> None:
    rpr = document.styles["Normal"].element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("ascii", "hAnsi", "eastAsia"):
        fonts.set(qn(f"w:{attr}"), "仿宋_GB2312")


def revision_texts(docx: bytes) -> tuple[str, str]:
    """(text with all revisions accepted, text with all rejected), paragraphs joined by newlines; the
    trailing empty paragraph ``compare_docx`` adds is dropped."""
    from docx import Document
    from docx.oxml.ns import qn

    body = Document(io.BytesIO(docx)).element.body
    accepted: list[str] = [""]
    rejected: list[str] = [""]
    for p in body.iter(qn("w:p")):
        for r in p.iter(qn("w:r")):
            parent = r.getparent()
            inside_ins = parent.tag == qn("w:ins")
            inside_del = parent.tag == qn("w:del")
            text = "".join(t.text or "" for t in r if t.tag in (qn("w:t"), qn("w:delText")))
            if not inside_del:
                accepted[-1] += text
            if not inside_ins:
                rejected[-1] += text
        mark = p.find(f"{qn('w:pPr')}/{qn('w:rPr')}")
        mark_ins = mark is not None and mark.find(qn("w:ins")) is not None
        mark_del = mark is not None and mark.find(qn("w:del")) is not None
        # A paragraph mark that does not exist in a version joins the paragraph with the next one there.
        if not mark_del:
            accepted.append("")
        if not mark_ins:
            rejected.append("")
    # Each list ends with the empty paragraph opened after the last mark, and the trailing blank one.
    return "\n".join(accepted[:-2]), "\n".join(rejected[:-2])
