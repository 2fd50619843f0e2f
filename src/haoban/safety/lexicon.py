"""Sensitive-word checks: operator-managed lexicons by category, matched with Aho-Corasick (pyahocorasick).

Text and terms are both *folded* before matching, one original character to at most one folded one:
full-width and compatibility forms → NFKC, upper → lower case, look-alike Cyrillic/Greek letters → Latin,
traditional → simplified characters (OpenCC's character table, via opencc-python-reimplemented), and
spaces, punctuation, symbols, zero-width and combining characters dropped. Each folded character remembers
its original position, so every match reports its span on the ORIGINAL text. Terms flagged "pinyin" are
also matched by their full pinyin and (three characters or more) their initials (pypinyin).

An allow-list entry that covers a hit suppresses it: "打击赌博" on the allow-list keeps a lexicon term
"赌博" from firing inside it, so policy text (禁毒、反诈宣传) is not stopped.

The compiled automaton is cached per process and rebuilt when the lexicon's version counter (one row in the
database, bumped by every change) moves, so several API workers pick up an edit on their next check.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any, Literal

import ahocorasick
import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update

from haoban.errors import Conflict, InvalidInput, NotFound
from haoban.safety.auth import PLATFORM, SYSTEM, Actor, authorize
from haoban.safety.lexicon_store import (
    ACTIONS,
    Action,
    Entry,
    LexiconCategory,
    LexiconMeta,
    LexiconTerm,
    check_entry,
    detect_format,
    dump_entries,
    parse_entries,
    read_starter,
)
from haoban.store.db import Database
from haoban.store.models import new_id
from haoban.text.normalize import t2s_chars

Decision = Literal["pass", "mask", "review", "block"]
_SEVERITY = {"pass": 0, "mask": 1, "review": 2, "block": 3}
MAX_GAP = 3  # at most this many dropped characters between two characters of a term ("赌 . 博")
MAX_MATCHES = 1000  # matches reported in full per check; the rest are only counted
_LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029")

# Letters from other scripts drawn like Latin ones (after lower-casing); used to dodge keyword filters.
_HOMOGLYPHS = dict(
    zip(
        "аъвеһіјкӏмнорԛѕтуwхԁɡαβεικνοτυχϲϳѵ",
        "abbehijklmhopqstywxdgabeikvotuxcjv",
        strict=True,
    )
)
_ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")


# ---- folding -----------------------------------------------------------------------------------------




def _fold_char(c: str) -> str | None:
    """The folded form of one character, or None when it is dropped."""
    n = unicodedata.normalize("NFKC", c) if unicodedata.decomposition(c) else c
    if len(n) != 1:
        n = c  # expansions (㎏ → kg) would break the one-to-one position map
    if unicodedata.category(n)[0] in "ZPSCM":
        return None
    low = n.lower()
    n = low if len(low) == 1 else n
    n = _HOMOGLYPHS.get(n, n)
    return t2s_chars().get(n, n)


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: folded code point and whether it is kept. Built once per process (~0.3 s)."""
    lut = np.arange(0x110000, dtype=np.uint32)
    keep = np.ones(0x110000, dtype=bool)
    keep[0xD800:0xE000] = False
    # Planes 4–13 are unassigned; tags and variation selectors (E0000–E0FFF) are invisible and dropped.
    ranges = (range(0, 0xD800), range(0xE000, 0x40000), range(0xE0000, 0xE1000))
    for r in ranges:
        for cp in r:
            f = _fold_char(chr(cp))
            if f is None:
                keep[cp] = False
            elif ord(f) != cp:
                lut[cp] = ord(f)
    return lut, keep


def _fold_cps(text: str) -> tuple[np.ndarray, np.ndarray]:
    lut, keep = _tables()
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    idx = np.flatnonzero(keep[cps])
    return lut[cps[idx]], idx


def fold(text: str) -> tuple[str, np.ndarray]:
    """Folded text and, for each of its characters, the index of the original character."""
    if not text:
        return "", np.empty(0, dtype=np.int64)
    cps, idx = _fold_cps(text)
    return cps.tobytes().decode("utf-32-le"), idx


def fold_term(term: str) -> str:
    return fold(term)[0]


# pyahocorasick finds a node's child by scanning its list of children, and a Chinese lexicon gives the
# root thousands of them, so matching crawled at ~0.5 MB/s. Spelling each character as four symbols of
# six bits each (U+0100–U+013F) caps every node at 64 children: ~10× faster. A match must then start on
# a symbol position divisible by four, or it straddles two characters and is discarded.
_SYMBOLS = 4
_SHIFTS = np.array([18, 12, 6, 0], dtype=np.uint32)


def _spell(cps: np.ndarray) -> str:
    out = np.empty((len(cps), _SYMBOLS), dtype=np.uint32)
    np.right_shift(cps[:, None], _SHIFTS, out=out)
    np.bitwise_and(out, 63, out=out)
    np.add(out, 0x100, out=out)
    return out.tobytes().decode("utf-32-le")


def _spell_key(key: str) -> str:
    return _spell(np.frombuffer(key.encode("utf-32-le"), dtype=np.uint32))


def _is_word_char(c: str) -> bool:
    lut, keep = _tables()
    cp = ord(c)
    return bool(keep[cp]) and chr(lut[cp]).isascii() and chr(lut[cp]).isalnum()


def _pinyin_keys(term: str) -> list[tuple[str, str]]:
    from pypinyin import Style, lazy_pinyin

    simplified = "".join(t2s_chars().get(c, c) for c in term)
    if not any("\u4e00" <= c <= "\u9fff" for c in simplified):
        return []
    full = fold_term("".join(lazy_pinyin(simplified, style=Style.NORMAL, errors="default")))
    keys = [(full, "pinyin")]
    han = sum(1 for c in simplified if "\u4e00" <= c <= "\u9fff")
    if han >= 3:  # two initials ("dq") match far too much ordinary text
        keys.append((fold_term("".join(lazy_pinyin(simplified, style=Style.FIRST_LETTER))), "pinyin_initials"))
    return [(k, via) for k, via in keys if k]


def _variant(original: str, term: str, via: str) -> str:
    """How the matched text differs from the lexicon term (exact, separator, zero_width, fullwidth, …)."""
    if via:
        return via
    if original == term:
        return "exact"
    _, keep = _tables()
    t2s = t2s_chars()
    kinds: set[str] = set()
    for c in original:
        cp = ord(c)
        if not keep[cp]:
            kinds.add("zero_width" if c in _ZERO_WIDTH or unicodedata.category(c) in ("Cf", "Mn") else "separator")
            continue
        low = c.lower()
        if low in _HOMOGLYPHS:
            kinds.add("homoglyph")
        elif 0xFF01 <= cp <= 0xFF5E:
            kinds.add("fullwidth")
        elif unicodedata.decomposition(c).startswith("<") or 0xF900 <= cp <= 0xFAFF:
            kinds.add("homoglyph")  # compatibility forms: ⼈ (Kangxi radical), 𝐬, ⓢ …
        elif t2s.get(c, c) != c:
            kinds.add("traditional")
        elif low != c:
            kinds.add("case")
    return "+".join(sorted(kinds)) or "normalized"


# ---- the compiled lexicon ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pattern:
    kind: str  # deny | allow
    term: str
    category: str  # "" on an allow entry that applies to every category
    action: str
    via: str  # "" | "pinyin" | "pinyin_initials"
    strict: bool
    ascii: bool
    length: int


@dataclass(slots=True)
class LexiconMatch:
    # A plain dataclass: a check may report thousands of matches, and pydantic models cost ~10 µs each
    # to build; pydantic still validates, documents and serialises it as a field of LexiconResult.
    term: Annotated[str, Field(description="词库中的词条")]
    category: str
    action: Action
    start: Annotated[int, Field(description="命中内容在原文中的起始位置")]
    end: Annotated[int, Field(description="命中内容在原文中的结束位置（不含）")]
    text: Annotated[str, Field(description="原文中的命中内容，即原文 [start, end)")]
    variant: Annotated[
        str,
        Field(
            description="变形方式：exact 原样；separator 插入空格或符号；zero_width 零宽字符；fullwidth 全角；"
            "traditional 繁体；homoglyph 形近字母或兼容字符；case 大小写；pinyin 拼音；pinyin_initials 拼音首字母；多种用 + 连接"
        ),
    ]


class LexiconResult(BaseModel):
    decision: Decision = Field(description="pass 通过；mask 打码后可用；review 需人工复核；block 拦截")
    matches: list[LexiconMatch] = Field(default_factory=list)
    total_matches: int = 0
    truncated: bool = Field(False, description="命中过多，matches 只列出前若干条")
    categories: dict[str, int] = Field(default_factory=dict, description="各类别命中次数")
    version: int = Field(description="所用词库的版本号")
    took_ms: float = 0.0

    @property
    def blocked(self) -> bool:
        return self.decision == "block"


def decide(matches: list[LexiconMatch]) -> Decision:
    return max((m.action for m in matches), key=_SEVERITY.__getitem__, default="pass")  # type: ignore[return-value]


def apply_mask(text: str, matches: list[LexiconMatch], char: str = "*") -> str:
    chars = list(text)
    for m in matches:
        for i in range(m.start, m.end):
            if not chars[i].isspace():
                chars[i] = char
    return "".join(chars)


class CompiledLexicon:
    """An Aho-Corasick automaton over folded terms; immutable once built, safe to share between threads."""

    def __init__(self, patterns: list[tuple[str, _Pattern]], version: int = 0):
        t0 = time.perf_counter()
        self.version = version
        by_key: dict[str, dict[tuple[str, str, str], _Pattern]] = {}
        for key, p in patterns:
            # Two terms folding to one key in one category (賭博, 赌博) are one pattern.
            by_key.setdefault(key, {}).setdefault((p.kind, p.category, p.via), p)
        self.automaton = ahocorasick.Automaton()
        for key, ps in by_key.items():
            self.automaton.add_word(_spell_key(key), tuple(ps.values()))
        self.patterns = sum(len(v) for v in by_key.values())
        if by_key:
            self.automaton.make_automaton()
        self.build_seconds = time.perf_counter() - t0

    def find(self, text: str, max_matches: int = MAX_MATCHES) -> tuple[list[LexiconMatch], int]:
        """(reported matches in text order, total number of matches after the allow-list)."""
        if not text or not self.patterns:
            return [], 0
        cps, idx = _fold_cps(text)
        if not len(cps):
            return [], 0
        hits: list[tuple[int, int, _Pattern]] = []
        allows: list[tuple[int, int, str]] = []
        n = len(text)
        raw = list(self.automaton.iter(_spell(cps)))
        if not raw:
            return [], 0
        # Positions of every raw hit at once (numpy); the Python loop below only sees finished integers.
        lasts = np.fromiter((r[0] for r in raw), dtype=np.int64, count=len(raw))
        lens = np.fromiter((r[1][0].length for r in raw), dtype=np.int64, count=len(raw))
        aligned = (lasts - lens * _SYMBOLS + 1) % _SYMBOLS == 0  # else it starts inside a character
        ends = lasts // _SYMBOLS
        starts = ends - lens + 1
        o_starts = idx[starts]
        o_ends = idx[ends] + 1
        gapped = (o_ends - o_starts) != lens  # characters were dropped inside the match
        for (_, pats), ok, s, e, o_start, o_end, gap in zip(
            raw, aligned.tolist(), starts.tolist(), ends.tolist(), o_starts.tolist(), o_ends.tolist(), gapped.tolist(),
            strict=True,
        ):
            if not ok:
                continue
            if gap and not self._gap_ok(text, idx, s, e, o_start, o_end):
                continue
            for p in pats:
                if gap and p.strict:
                    continue
                if p.ascii and (
                    (o_start > 0 and _is_word_char(text[o_start - 1])) or (o_end < n and _is_word_char(text[o_end]))
                ):
                    continue  # "sex" inside "Sussex"
                if p.kind == "allow":
                    allows.append((o_start, o_end, p.category))
                else:
                    hits.append((o_start, o_end, p))
        if allows and hits:
            hits = self._drop_allowed(hits, allows)
        hits.sort(key=itemgetter(0, 1))
        out = [
            LexiconMatch(
                term=p.term,
                category=p.category,
                action=p.action,  # type: ignore[arg-type]
                start=a,
                end=b,
                text=text[a:b],
                variant=_variant(text[a:b], p.term, p.via),
            )
            for a, b, p in hits[:max_matches]
        ]
        return out, len(hits)

    @staticmethod
    def _gap_ok(text: str, idx: np.ndarray, s: int, e: int, o_start: int, o_end: int) -> bool:
        """Dropped characters inside a match: at most MAX_GAP in a row, and never a line break."""
        if int(np.diff(idx[s : e + 1]).max()) - 1 > MAX_GAP:
            return False
        gap = text[o_start:o_end]
        return not any(b in gap for b in _LINE_BREAKS)

    @staticmethod
    def _drop_allowed(hits: list[tuple[int, int, _Pattern]], allows: list[tuple[int, int, str]]) -> list:
        allows.sort()
        starts = [a[0] for a in allows]
        longest = max(b - a for a, b, _ in allows)
        kept = []
        for a, b, p in hits:
            lo = bisect_left(starts, b - longest)
            hi = bisect_right(starts, a)
            if lo == hi or not any(
                x <= a and b <= y and cat in ("", p.category) for x, y, cat in allows[lo:hi]
            ):
                kept.append((a, b, p))
        return kept


def patterns_for(term: str, category: str, kind: str, action: str, flags: list[str]) -> list[tuple[str, _Pattern]]:
    key = fold_term(term)
    if not key:
        return []
    strict = "strict" in flags
    out = [(key, _Pattern(kind, term, category, action, "", strict, key.isascii(), len(key)))]
    if "pinyin" in flags:
        for k, via in _pinyin_keys(term):
            out.append((k, _Pattern(kind, term, category, action, via, strict, True, len(k))))
    return out


def _fold_problem(e: Entry) -> str | None:
    why = check_entry(e)
    if why:
        return why
    key = fold_term(e.term)
    if not key:
        return "词条只含空格、标点或不可见字符，无法匹配"
    if len(key) == 1 and key.isascii():
        return "单个字母或数字会匹配过多正常文本"
    return None


# ---- service -------------------------------------------------------------------------------------------


class CategoryInfo(BaseModel):
    name: str
    action: Action
    description: str = ""
    term_count: int = 0


class TermInfo(BaseModel):
    id: str
    kind: Literal["deny", "allow"]
    category: str = Field(description="类别；白名单词条为空表示适用于所有类别")
    term: str
    flags: list[str] = Field(default_factory=list)
    action: Action | None = Field(None, description="单独指定的处理方式；为空时按类别")
    note: str = ""
    source: str = ""


class TermPage(BaseModel):
    total: int
    items: list[TermInfo]


class ImportReport(BaseModel):
    total: int = Field(description="文件中的词条数")
    added: int
    updated: int
    unchanged: int
    categories_created: list[str] = Field(default_factory=list)
    version: int


class LexiconService:
    """Lexicon management and checks over a `haoban.store.db.Database` (tables from migration 0005)."""

    def __init__(self, db: Database, *, audit: Any = None, seed: bool = True, check_interval: float = 1.0):
        self.db = db
        self.audit = audit
        self.seed = seed
        # Seconds a compiled lexicon is trusted without asking the database for the version: other
        # workers see a change within this time, this one at once. 0 asks on every check.
        self.check_interval = check_interval
        self._compiled: CompiledLexicon | None = None
        self._checked_at = float("-inf")
        self._seeded = False
        self._lock = threading.Lock()

    # ---- checking ------------------------------------------------------------------------------------

    def check(self, text: str, *, actor: Actor | None = None, max_matches: int = MAX_MATCHES) -> LexiconResult:
        """Every lexicon hit in `text` with its span on the original text, and the overall decision."""
        if actor is not None:
            authorize(actor, "lexicon.read")
        if not isinstance(text, str):
            raise InvalidInput("待检查的内容必须是文本", code="LEXICON_TEXT_INVALID")
        compiled = self.compiled()
        t0 = time.perf_counter()
        matches, total = compiled.find(text, max_matches)
        cats: dict[str, int] = {}
        for m in matches:
            cats[m.category] = cats.get(m.category, 0) + 1
        return LexiconResult(
            decision=decide(matches),
            matches=matches,
            total_matches=total,
            truncated=total > len(matches),
            categories=cats,
            version=compiled.version,
            took_ms=round((time.perf_counter() - t0) * 1000, 3),
        )

    def mask(self, text: str, *, actions: tuple[str, ...] = ACTIONS, char: str = "*") -> str:
        """`text` with the hits of the given actions replaced by `char`, one per character."""
        result = self.check(text, max_matches=10**9)
        return apply_mask(text, [m for m in result.matches if m.action in actions], char)

    def compiled(self) -> CompiledLexicon:
        """The cached automaton, rebuilt when the lexicon version in the database has changed."""
        c = self._compiled
        now = time.monotonic()
        if c is not None and now - self._checked_at < self.check_interval:
            return c
        self._ensure_seeded()
        with self.db.session() as s:
            version = self._version(s)
        self._checked_at = now
        if c is not None and c.version == version:
            return c
        with self._lock:
            if self._compiled is None or self._compiled.version != version:
                self._compiled = self._build()
            return self._compiled

    def version(self) -> int:
        with self.db.session() as s:
            return self._version(s)

    def _build(self) -> CompiledLexicon:
        with self.db.session() as s:
            version = self._version(s)  # read before the rows: a change in between only triggers one more build
            actions = dict(s.execute(select(LexiconCategory.name, LexiconCategory.action)).all())
            rows = s.execute(
                select(LexiconTerm.term, LexiconTerm.category, LexiconTerm.kind, LexiconTerm.action, LexiconTerm.flags)
            ).all()
        patterns: list[Any] = []
        for term, category, kind, action, flags in rows:
            act = action or actions.get(category, "review")
            patterns.extend(patterns_for(term, category, kind, act, flags or []))
        return CompiledLexicon(patterns, version)

    @staticmethod
    def _version(s: Any) -> int:
        return s.scalar(select(LexiconMeta.value).where(LexiconMeta.key == "version")) or 0

    def _bump(self, s: Any) -> None:
        self._checked_at = float("-inf")  # this process sees its own change at once
        s.execute(update(LexiconMeta).where(LexiconMeta.key == "version").values(value=LexiconMeta.value + 1))

    def _ensure_seeded(self) -> None:
        """Load the starter lexicon the first time any process uses an empty installation."""
        if self._seeded or not self.seed:
            return
        with self.db.session() as s:
            # Only the process whose update flips 0 → 1 loads it; the others wait on the lock, then see 1.
            won = s.execute(
                update(LexiconMeta).where(LexiconMeta.key == "seeded", LexiconMeta.value == 0).values(value=1)
            ).rowcount
            if won:
                categories, allow = read_starter()
                for cat in categories:
                    s.add(LexiconCategory(name=cat.name, action=cat.action, description=cat.description))
                s.flush()
                entries = [e for cat in categories for e in cat.entries] + allow
                self._upsert(s, entries, source="starter", new_category_action="review")
                self._bump(s)
        self._seeded = True

    # ---- categories ------------------------------------------------------------------------------------

    def categories(self, *, actor: Actor = SYSTEM) -> list[CategoryInfo]:
        authorize(actor, "lexicon.read")
        self._ensure_seeded()
        with self.db.session() as s:
            counts = dict(
                s.execute(
                    select(LexiconTerm.category, func.count()).where(LexiconTerm.kind == "deny").group_by(LexiconTerm.category)
                ).all()
            )
            cats = s.scalars(select(LexiconCategory).order_by(LexiconCategory.name)).all()
            return [
                CategoryInfo(name=c.name, action=c.action, description=c.description, term_count=counts.get(c.name, 0))  # type: ignore[arg-type]
                for c in cats
            ]

    def set_category(
        self, name: str, action: str, description: str | None = None, *, actor: Actor = SYSTEM
    ) -> CategoryInfo:
        """Create a category or change its action (block / mask / review) and description."""
        authorize(actor, "lexicon.write", PLATFORM)
        name = (name or "").strip()
        why = check_entry(Entry("x", name, "deny", [], action))
        if why or not name:
            raise InvalidInput(why or "类别名称不能为空", code="LEXICON_CATEGORY_INVALID")
        self._ensure_seeded()
        with self.db.session() as s:
            cat = s.get(LexiconCategory, name)
            if cat is None:
                cat = LexiconCategory(name=name, action=action, description=description or "")
                s.add(cat)
            else:
                cat.action = action
                if description is not None:
                    cat.description = description
            self._bump(s)
        self._record(actor, "lexicon_category", name, detail={"action": action})
        return next(c for c in self.categories(actor=SYSTEM) if c.name == name)

    # ---- terms -------------------------------------------------------------------------------------------

    def list_terms(
        self,
        category: str | None = None,
        *,
        kind: str | None = None,
        query: str | None = None,
        limit: int = 100,
        offset: int = 0,
        actor: Actor = SYSTEM,
    ) -> TermPage:
        authorize(actor, "lexicon.read")
        self._ensure_seeded()
        cond = []
        if category is not None:
            cond.append(LexiconTerm.category == category)
        if kind:
            cond.append(LexiconTerm.kind == kind)
        if query:
            cond.append(LexiconTerm.term.contains(query, autoescape=True))
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(LexiconTerm).where(*cond)) or 0
            rows = s.scalars(
                select(LexiconTerm)
                .where(*cond)
                .order_by(LexiconTerm.kind, LexiconTerm.category, LexiconTerm.term)
                .limit(max(0, min(limit, 10000)))
                .offset(max(0, offset))
            ).all()
            return TermPage(total=total, items=[TermInfo.model_validate(r, from_attributes=True) for r in rows])

    def add_term(
        self,
        term: str,
        category: str = "",
        *,
        kind: str = "deny",
        flags: list[str] | None = None,
        action: str | None = None,
        note: str = "",
        actor: Actor = SYSTEM,
    ) -> TermInfo:
        """Add a term (or an allow-list entry with kind="allow"); a new category starts with action "review"."""
        authorize(actor, "lexicon.write", PLATFORM)
        entry = Entry((term or "").strip(), (category or "").strip(), kind, list(flags or []), action, note or "")
        why = _fold_problem(entry)
        if why:
            raise InvalidInput(why, code="LEXICON_TERM_INVALID", detail={"term": entry.term[:50]})
        self._ensure_seeded()
        with self.db.session() as s:
            if s.scalar(select(LexiconTerm.id).where(*self._key(entry))):
                raise Conflict(f"词条“{entry.term}”已在“{entry.category or '白名单'}”中", code="LEXICON_TERM_EXISTS")
            self._upsert(s, [entry], source="operator", new_category_action="review")
            self._bump(s)
            row = s.scalars(select(LexiconTerm).where(*self._key(entry))).one()
            info = TermInfo.model_validate(row, from_attributes=True)
        self._record(actor, "lexicon_term", info.id, input=info.term, detail={"category": info.category, "kind": kind})
        return info

    def remove_term(self, ref: str, *, category: str | None = None, kind: str = "deny", actor: Actor = SYSTEM) -> TermInfo:
        """Remove by ID, or by the term itself (with its category when it is in more than one)."""
        authorize(actor, "lexicon.write", PLATFORM)
        self._ensure_seeded()
        with self.db.session() as s:
            row = s.get(LexiconTerm, ref)
            if row is None:
                cond = [LexiconTerm.term == (ref or "").strip(), LexiconTerm.kind == kind]
                if category is not None:
                    cond.append(LexiconTerm.category == category.strip())
                rows = s.scalars(select(LexiconTerm).where(*cond)).all()
                if not rows:
                    raise NotFound(f"词库中没有词条“{ref}”", code="LEXICON_TERM_NOT_FOUND")
                if len(rows) > 1:
                    cats = "、".join(r.category for r in rows)
                    raise Conflict(f"词条“{ref}”在多个类别中（{cats}），请指定类别", code="LEXICON_TERM_AMBIGUOUS")
                row = rows[0]
            info = TermInfo.model_validate(row, from_attributes=True)
            s.delete(row)
            self._bump(s)
        self._record(actor, "lexicon_term", info.id, input=info.term, detail={"category": info.category, "removed": True})
        return info

    @staticmethod
    def _key(e: Entry) -> list[Any]:
        return [LexiconTerm.kind == e.kind, LexiconTerm.category == e.category, LexiconTerm.term == e.term]

    # ---- import / export ---------------------------------------------------------------------------------

    def import_bytes(
        self,
        data: bytes,
        *,
        name: str | None = None,
        fmt: str = "auto",
        category: str | None = None,
        kind: str = "deny",
        new_category_action: str = "review",
        actor: Actor = SYSTEM,
    ) -> ImportReport:
        """Import a txt / CSV / JSONL file in one transaction: every line valid, or nothing is written.

        txt: one term per line (optional tab + flags), `category` names the category. CSV: a header with
        term and optionally category, kind, flags, action, note. JSONL: one object per line, same fields.
        Terms already present are updated (flags, action, note); the report counts each outcome.
        """
        authorize(actor, "lexicon.write", PLATFORM)
        if new_category_action not in ACTIONS:
            raise InvalidInput("新类别的处理方式应为 block、mask 或 review", code="LEXICON_ACTION_INVALID")
        fmt = detect_format(name, fmt)
        entries = parse_entries(data, fmt, category=(category or "").strip() or None, kind=kind)
        errors = []
        for n, e in enumerate(entries, 1):
            why = _fold_problem(e)
            if why:
                errors.append({"entry": n, "term": e.term[:50], "error": why})
        if errors:
            raise InvalidInput(
                f"导入文件有 {len(errors)} 个词条不合法，未导入任何词条", code="LEXICON_IMPORT_INVALID", detail=errors[:200]
            )
        self._ensure_seeded()
        with self.db.session() as s:
            counts = self._upsert(s, entries, source="import", new_category_action=new_category_action)
            self._bump(s)
            version = self._version(s)
        report = ImportReport(total=len(entries), version=version, **counts)
        self._record(actor, "lexicon_import", name, detail=report.model_dump())
        return report

    def import_file(self, path: Path, **kwargs: Any) -> ImportReport:
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"文件“{path}”不存在", code="FILE_NOT_FOUND")
        return self.import_bytes(path.read_bytes(), name=path.name, **kwargs)

    def export(
        self, fmt: str = "csv", *, category: str | None = None, kind: str | None = None, actor: Actor = SYSTEM
    ) -> str:
        """The lexicon (or one category / kind) as text in txt, CSV or JSONL; an import reads it back."""
        authorize(actor, "lexicon.read")
        self._ensure_seeded()
        cond = []
        if category is not None:
            cond.append(LexiconTerm.category == category)
        if kind:
            cond.append(LexiconTerm.kind == kind)
        with self.db.session() as s:
            rows = s.scalars(
                select(LexiconTerm).where(*cond).order_by(LexiconTerm.kind, LexiconTerm.category, LexiconTerm.term)
            ).all()
            data = [
                {"term": r.term, "category": r.category, "kind": r.kind, "flags": list(r.flags or []), "action": r.action, "note": r.note}
                for r in rows
            ]
        return dump_entries(data, fmt)

    def _upsert(self, s: Any, entries: list[Entry], *, source: str, new_category_action: str) -> dict[str, Any]:
        existing_cats = set(s.scalars(select(LexiconCategory.name)).all())
        created = []
        for cat in dict.fromkeys(e.category for e in entries if e.kind == "deny"):
            if cat not in existing_cats:
                s.add(LexiconCategory(name=cat, action=new_category_action, description=""))
                created.append(cat)
        s.flush()
        existing = {
            (r.kind, r.category, r.term): r
            for r in s.execute(
                select(LexiconTerm.id, LexiconTerm.kind, LexiconTerm.category, LexiconTerm.term, LexiconTerm.flags,
                       LexiconTerm.action, LexiconTerm.note)
            ).all()
        }
        new_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        updated = unchanged = 0
        for e in entries:
            key = (e.kind, e.category, e.term)
            old = existing.get(key)
            if old is None:
                if key not in new_rows:
                    new_rows[key] = {
                        "id": new_id(), "kind": e.kind, "category": e.category, "term": e.term,
                        "flags": sorted(set(e.flags)), "action": e.action, "note": e.note, "source": source,
                    }
                continue
            values = {"flags": sorted(set(e.flags)), "action": e.action, "note": e.note or old.note}
            if values == {"flags": sorted(old.flags or []), "action": old.action, "note": old.note}:
                unchanged += 1
            else:
                s.execute(update(LexiconTerm).where(LexiconTerm.id == old.id).values(**values))
                updated += 1
        if new_rows:
            rows = list(new_rows.values())
            for i in range(0, len(rows), 5000):
                s.execute(LexiconTerm.__table__.insert(), rows[i : i + 5000])
        return {"added": len(new_rows), "updated": updated, "unchanged": unchanged, "categories_created": created}

    def _record(self, actor: Actor, resource_type: str, resource_id: str | None, **kwargs: Any) -> None:
        if self.audit is not None:
            self.audit.record(actor, "lexicon.write", resource_type, resource_id, **kwargs)
