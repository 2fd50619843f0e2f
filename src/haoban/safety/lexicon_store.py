"""Sensitive-word lexicon tables and the file formats an operator imports and exports (txt, CSV, JSONL).

Parsing validates every line before anything is written, so a bad file is reported line by line and
nothing of it is imported.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haoban.errors import InvalidInput
from haoban.store.models import Base, new_id, utcnow

Action = Literal["block", "mask", "review"]
Kind = Literal["deny", "allow"]
ACTIONS: tuple[str, ...] = ("block", "mask", "review")
ACTION_NAMES = {"block": "拦截", "mask": "打码", "review": "人工复核"}
FLAGS = {"pinyin": "同时匹配拼音全拼和首字母", "strict": "只匹配原样（不跨越插入的空格、符号）"}
FORMATS = ("txt", "csv", "jsonl")
MAX_TERM_CHARS = 100
MAX_CATEGORY_CHARS = 50
STARTER_DIR = Path(__file__).parent / "data" / "lexicon"


class LexiconCategory(Base):
    __tablename__ = "lexicon_categories"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    action: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class LexiconTerm(Base):
    """A sensitive term (kind "deny") or an allow-list entry (kind "allow"; category "" = every category)."""

    __tablename__ = "lexicon_terms"
    __table_args__ = (Index("ux_lexicon_terms_key", "kind", "category", "term", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(50), index=True)
    term: Mapped[str] = mapped_column(String(200))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    action: Mapped[str | None] = mapped_column(String(10))  # overrides the category's action
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="operator")  # starter | operator | import
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LexiconMeta(Base):
    """Counters shared by every process: "version" (bumped on each change), "seeded" (starter loaded)."""

    __tablename__ = "lexicon_meta"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# ---- parsed entries and validation ----------------------------------------------------------------


@dataclass
class Entry:
    term: str
    category: str
    kind: str = "deny"
    flags: list[str] = field(default_factory=list)
    action: str | None = None
    note: str = ""


def check_entry(e: Entry) -> str | None:
    """Why an entry is invalid (Chinese), or None. Folding to nothing is checked by the service."""
    if not e.term:
        return "词条为空"
    if len(e.term) > MAX_TERM_CHARS:
        return f"词条超过 {MAX_TERM_CHARS} 字"
    if e.kind not in ("deny", "allow"):
        return f"类型“{e.kind}”不正确，应为 deny（敏感词）或 allow（白名单）"
    if e.kind == "deny" and not e.category:
        return "敏感词必须指定类别"
    if len(e.category) > MAX_CATEGORY_CHARS or any(c in e.category for c in "\t\n/\\"):
        return f"类别名称不合法（不超过 {MAX_CATEGORY_CHARS} 字，不含 / \\ 和换行）"
    bad = [f for f in e.flags if f not in FLAGS]
    if bad:
        return f"未知标记：{'、'.join(bad)}（可用：{'、'.join(FLAGS)}）"
    if e.action is not None and e.action not in ACTIONS:
        return f"处理方式“{e.action}”不正确，应为 block、mask 或 review"
    return None


def _split_flags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [f.strip() for f in str(value).replace("，", ",").replace("|", ",").split(",") if f.strip()]


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("文件编码无法识别，请使用 UTF-8 或 GB18030 编码", code="LEXICON_ENCODING")


def detect_format(name: str | None, fmt: str | None) -> str:
    if fmt and fmt != "auto":
        if fmt not in FORMATS:
            raise InvalidInput(f"不支持的格式“{fmt}”，可用：txt、csv、jsonl", code="LEXICON_FORMAT")
        return fmt
    suffix = Path(name or "").suffix.lower().lstrip(".")
    return {"csv": "csv", "jsonl": "jsonl", "json": "jsonl", "txt": "txt"}.get(suffix, "txt")


def parse_entries(
    data: bytes, fmt: str, *, category: str | None = None, kind: str = "deny", action: str | None = None
) -> list[Entry]:
    """Parse a whole file. Raises InvalidInput listing every bad line (detail: [{line, error}])."""
    text = _decode(data)
    entries: list[tuple[int, Entry]] = []
    errors: list[dict[str, Any]] = []
    if fmt == "txt":
        # One term per line; optional tab-separated flags; "#" starts a comment line.
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            term, _, flags = line.partition("\t")
            entries.append((n, Entry(term.strip(), category or "", kind, _split_flags(flags), action)))
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "term" not in [f.strip() for f in reader.fieldnames]:
            raise InvalidInput("CSV 第一行必须是表头，且包含 term 列（可选 category、kind、flags、action、note）", code="LEXICON_CSV_HEADER")
        for row in reader:
            row = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else v for k, v in row.items()}
            if None in row or any(isinstance(v, list) for v in row.values()):
                errors.append({"line": reader.line_num, "error": "列数多于表头"})
                continue
            entries.append((reader.line_num, _entry_from(row, category, kind, action)))
    elif fmt == "jsonl":
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                errors.append({"line": n, "error": f"不是合法的 JSON：{e.msg}"})
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("term"), str):
                errors.append({"line": n, "error": "每行应为包含 term 字段（字符串）的 JSON 对象"})
                continue
            entries.append((n, _entry_from(obj, category, kind, action)))
    else:
        raise InvalidInput(f"不支持的格式“{fmt}”", code="LEXICON_FORMAT")
    for n, e in entries:
        why = check_entry(e)
        if why:
            errors.append({"line": n, "error": why, "term": e.term[:50]})
    if errors:
        errors.sort(key=lambda x: x["line"])
        raise InvalidInput(
            f"导入文件有 {len(errors)} 行不合法，未导入任何词条；请修改后重新导入",
            code="LEXICON_IMPORT_INVALID",
            detail=errors[:200],
        )
    if not entries:
        raise InvalidInput("文件中没有词条", code="LEXICON_IMPORT_EMPTY")
    return [e for _, e in entries]


def _entry_from(obj: dict[str, Any], category: str | None, kind: str, action: str | None) -> Entry:
    return Entry(
        term=str(obj.get("term") or "").strip(),
        category=str(obj.get("category") or category or "").strip(),
        kind=str(obj.get("kind") or kind).strip(),
        flags=_split_flags(obj.get("flags")),
        action=(str(obj["action"]).strip() or None) if obj.get("action") else action,
        note=str(obj.get("note") or ""),
    )


def dump_entries(rows: list[dict[str, Any]], fmt: str) -> str:
    """Rows (term, category, kind, flags, action, note) as a file an import reads back unchanged."""
    if fmt == "txt":
        return "".join(r["term"] + ("\t" + ",".join(r["flags"]) if r["flags"] else "") + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["term", "category", "kind", "flags", "action", "note"])
        for r in rows:
            w.writerow([r["term"], r["category"], r["kind"], ",".join(r["flags"]), r["action"] or "", r["note"]])
        return buf.getvalue()
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    raise InvalidInput(f"不支持的格式“{fmt}”，可用：txt、csv、jsonl", code="LEXICON_FORMAT")


# ---- the starter lexicon shipped with the project -------------------------------------------------


@dataclass
class StarterCategory:
    name: str
    action: str
    description: str
    entries: list[Entry]


def read_starter(directory: Path = STARTER_DIR) -> tuple[list[StarterCategory], list[Entry]]:
    """Category files (`<类别>.txt` with "# 处理：" and "# 说明：" headers) and the allow-list (allow.txt)."""
    categories: list[StarterCategory] = []
    allow: list[Entry] = []
    for path in sorted(directory.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        if path.stem == "allow":
            for line in text.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    term, _, cat = line.partition("\t")
                    allow.append(Entry(term.strip(), cat.strip(), "allow"))
            continue
        header = {k.strip(): v.strip() for k, _, v in (ln[1:].partition("：") for ln in text.splitlines() if ln.startswith("#"))}
        entries = parse_entries(text.encode(), "txt", category=path.stem)
        categories.append(StarterCategory(path.stem, header.get("处理", "review"), header.get("说明", ""), entries))
    return categories, allow
