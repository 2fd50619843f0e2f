"""Reading question–answer pairs (问答对) from XLSX, CSV and JSONL files.

Government FAQ collections (12345 hotline knowledge, 政务服务常见问题) are kept as spreadsheets: one row per
standard question with its answer, often similar phrasings, a category and the responsible department. This
module only reads such files into `FaqPair`s; `KnowledgeService.import_faq` stores them through the normal
ingest path. Columns are found by their header names (Chinese and English variants); explicit column names
override the detection. A row without a question or an answer is skipped and reported, never fatal.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, Field

from haoban.errors import (
    CorruptFile,
    EmptyFile,
    EncryptedFile,
    FileTooLarge,
    InvalidInput,
    ParseError,
    UnsupportedFormat,
)
from haoban.knowledge.parse.base import check_zip, detail, strip_controls
from haoban.knowledge.parse.text import codec_name, decode
from haoban.text.normalize import normalize

FIELDS = ("question", "answer", "similar", "category", "department", "date")
FIELD_NAMES = {"question": "问题", "answer": "答案", "similar": "相似问题", "category": "分类", "department": "部门", "date": "日期"}

# Header names taken as they are (after normalise_header), per field.
_EXACT: dict[str, set[str]] = {
    "question": {"问题", "标准问题", "标准问", "问", "问题名称", "问题标题", "常见问题", "咨询问题", "主问题", "知识标题",
                 "question", "q", "standardquestion", "title"},
    "answer": {"答案", "回答", "答复", "答", "标准答案", "答复内容", "答复口径", "回复", "回复内容", "解答", "答案内容",
               "知识内容", "answer", "a", "reply", "response"},
    "similar": {"相似问题", "相似问法", "相似问", "扩展问", "扩展问题", "扩展问法", "同义问法", "其他问法", "相似问题列表",
                "similar", "similarquestions", "similar_questions", "aliases", "alternatives", "paraphrases"},
    "category": {"分类", "类别", "问题分类", "所属分类", "业务分类", "知识分类", "类型", "主题", "category", "type", "topic"},
    "department": {"部门", "责任部门", "所属部门", "承办部门", "主管部门", "答复部门", "责任单位", "单位", "来源部门",
                   "department", "dept", "agency"},
    "date": {"发布日期", "发布时间", "更新时间", "更新日期", "修改时间", "日期", "date", "updated", "updated_at",
             "publish_date", "published"},
}  # fmt: skip
# Otherwise a header containing one of these; fields in this order, so 相似问题 is not taken as the question.
_CONTAINS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("similar", ("相似", "扩展问", "同义", "similar")),
    ("question", ("问题", "问法", "question")),
    ("answer", ("答案", "答复", "回答", "回复", "口径", "answer")),
    ("category", ("分类", "类别", "category")),
    ("department", ("部门", "单位", "department")),
    ("date", ("日期", "时间", "date")),
)
HEADER_SCAN_ROWS = 10  # a title line or two often sits above the header row
MAX_QUESTION_CHARS = 500  # a document title holds this much
MAX_SIMILAR = 50  # similar questions kept per pair (all are indexed with every chunk of the answer)
_SIMILAR_SPLIT = re.compile(r"[\n\r｜|]+")
_HEADER_NOISE = re.compile(r"[\s*＊:：]|[（(][^）)]*[）)]")
_TRAILING_PUNCT = re.compile(r"[\s?？。！!.．…~～]+$")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_COLUMN_LETTERS = re.compile(r"[A-Za-z]{1,2}")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")

SUFFIXES = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SUPPORTED_TEXT = "Excel（.xlsx）、CSV（.csv/.tsv）、JSON Lines（.jsonl）或 JSON 数组（.json）"


class FaqColumns(BaseModel):
    """Column names given by the operator; each overrides the detection for its field. A header as written,
    or for XLSX/CSV a column letter (B) or 1-based number (2)."""

    question: str | None = Field(None, description="问题列")
    answer: str | None = Field(None, description="答案列")
    similar: str | None = Field(None, description="相似问题列（多个相似问题用换行或 ｜ 分隔）")
    category: str | None = Field(None, description="分类列（作为标签）")
    department: str | None = Field(None, description="部门列（作为发布单位）")
    date: str | None = Field(None, description="发布或更新日期列")


@dataclass
class FaqPair:
    sheet: str | None  # worksheet name (XLSX); None for CSV and JSONL
    row: int  # row number as the operator sees it: spreadsheet row, CSV line record, JSONL line
    question: str
    answer: str
    similar: list[str] = field(default_factory=list)
    category: str | None = None
    department: str | None = None
    date: datetime.date | None = None


@dataclass
class Skip:
    sheet: str | None
    row: int
    reason: str
    question: str | None = None  # kept so a pair whose answer was emptied is not taken as removed from the file


@dataclass
class SheetInfo:
    name: str | None
    columns: dict[str, str]  # field -> header as written in the file
    rows: int = 0  # data rows read (empty rows not counted)


@dataclass
class FaqTable:
    format: str
    encoding: str | None = None
    pairs: list[FaqPair] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    sheets: list[SheetInfo] = field(default_factory=list)
    ignored_sheets: list[dict[str, Any]] = field(default_factory=list)  # sheets without question/answer columns


def question_key(question: str) -> str:
    """The identity of a question across imports: case, width, spaces and closing punctuation do not count."""
    key = _TRAILING_PUNCT.sub("", re.sub(r"\s+", "", normalize(question)))
    if len(key) > 200:  # keep the source key readable and bounded
        key = key[:150] + "~" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
    return key


def source_key(file_name: str, question: str) -> str:
    """The document source of one pair: file name and normalised question, so importing an updated file again
    updates the pair in place."""
    return f"faq:{file_name}#{question_key(question)}"


def source_prefix(file_name: str) -> str:
    return f"faq:{file_name}#"


def normalise_header(value: Any) -> str:
    return _HEADER_NOISE.sub("", normalize(_cell_text(value)))


def read_faq(
    data: bytes,
    name: str,
    *,
    sheet: str | None = None,
    columns: FaqColumns | None = None,
    max_rows: int = 50_000,
    encoding: str | None = None,
) -> FaqTable:
    """Read the pairs of a file. Raises haoban ParseError subclasses (or InvalidInput for a bad option)."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xls" or (data.startswith(_OLE_MAGIC) and suffix in (".xlsx", ".xlsm")):
        if _ENCRYPTION_INFO in data:
            raise EncryptedFile(f"“{name}”设置了打开密码，请在 Excel 中取消密码后另存再导入", detail=detail(name))
        raise UnsupportedFormat(f"“{name}”是旧版 Excel（.xls）文件，请在 Excel 或 WPS 中另存为 .xlsx 后导入", detail=detail(name))
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        raise UnsupportedFormat(
            f"不支持的问答对文件格式 {suffix or '（无扩展名）'}：“{name}”。支持：{SUPPORTED_TEXT}",
            detail=detail(name, suffix=suffix, supported=sorted(SUFFIXES)),
        )
    if not data:
        raise EmptyFile(f"“{name}”是空文件（0 字节）", detail=detail(name, size=0))
    columns = columns or FaqColumns()
    if fmt == "xlsx":  # an encoding means nothing for XLSX: ignored rather than refused
        table = _read_xlsx(data, name, sheet, columns, max_rows)
    else:
        if sheet:
            raise InvalidInput("只有 Excel 文件可以指定工作表", code="FAQ_SHEET_NOT_APPLICABLE")
        text, used = _decode(data, name, encoding)
        table = FaqTable(format=fmt, encoding=used)
        if fmt == "csv":
            _read_rows(table, None, _csv_rows(text, name), columns, max_rows, name, letters=True)
        else:
            _read_records(table, _json_records(text, name, table), columns, max_rows, name)
    _drop_duplicates(table)
    if not table.pairs and not table.skipped:
        raise EmptyFile(f"“{name}”中没有问答数据（只有表头或全是空行）", detail=detail(name))
    return table


# ---- formats -------------------------------------------------------------------------------------


def _decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    if not encoding:
        return decode(data, name)
    codec = codec_name(encoding)
    if codec is None:
        raise InvalidInput(f"不认识的文件编码：{encoding}（可用 utf-8、gb18030 等）", code="FAQ_ENCODING_UNKNOWN")
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        raise CorruptFile(
            f"“{name}”不能按 {encoding} 编码读取（第 {exc.start + 1} 字节处出错），请确认文件编码或不指定编码由系统识别",
            code="FAQ_ENCODING_MISMATCH",
            detail=detail(name, encoding=encoding),
        ) from None


def _read_xlsx(data: bytes, name: str, sheet: str | None, columns: FaqColumns, max_rows: int) -> FaqTable:
    import openpyxl

    if not data.startswith(b"PK"):
        raise CorruptFile(f"“{name}”不是有效的 Excel（.xlsx）文件，可能已损坏", detail=detail(name))
    check_zip(data, name, " Excel（.xlsx）")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, KeyError for missing parts, XML errors: all mean a broken workbook
        raise CorruptFile(f"“{name}”不是有效的 Excel（.xlsx）文件，可能已损坏", detail=detail(name, exc)) from None
    table = FaqTable(format="xlsx")
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            raise InvalidInput(
                f"“{name}”中没有名为“{sheet}”的工作表；已有：{'、'.join(names)}", code="FAQ_SHEET_NOT_FOUND", detail={"sheets": names}
            )
        for ws_name in [sheet] if sheet is not None else names:
            try:
                rows = book[ws_name].iter_rows(values_only=True)
                _read_rows(table, ws_name, rows, columns, max_rows, name, letters=True, required=sheet is not None)
            except (ParseError, InvalidInput):
                raise
            except Exception as exc:
                raise CorruptFile(f"“{name}”的工作表“{ws_name}”无法读取，文件可能已损坏", detail=detail(name, exc)) from None
    finally:
        book.close()
    if not table.sheets:
        seen = {s["sheet"]: s["headers"] for s in table.ignored_sheets}
        raise _no_columns(name, seen)
    return table


def _csv_rows(text: str, name: str) -> Iterator[tuple[Any, ...]]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from (tuple(r) for r in reader)
    except csv.Error as exc:
        raise CorruptFile(f"“{name}”第 {reader.line_num} 行附近的 CSV 格式有误（引号不配对或字段过长）", detail=detail(name, exc)) from None


def _json_records(text: str, name: str, table: FaqTable) -> Iterator[tuple[int, dict[str, Any]]]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a .json file holding one array of objects
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise CorruptFile(f"“{name}”不是有效的 JSON（第 {exc.lineno} 行）", detail=detail(name, exc)) from None
        for i, item in enumerate(items, 1):
            if isinstance(item, dict):
                yield i, item
            else:
                table.skipped.append(Skip(None, i, "不是 JSON 对象"))
        return
    good = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            table.skipped.append(Skip(None, number, "不是合法的 JSON"))
            continue
        if not isinstance(item, dict):
            table.skipped.append(Skip(None, number, "不是 JSON 对象"))
            continue
        good += 1
        yield number, item
    if not good and table.skipped:
        raise CorruptFile(f"“{name}”中没有一行是合法的 JSON 对象，请确认是 JSON Lines 文件（每行一个对象）", detail=detail(name))


# ---- columns -------------------------------------------------------------------------------------


def _detect(headers: list[str], columns: FaqColumns, letters: bool) -> dict[str, int]:
    """Map fields to column positions. Explicit names first, then exact header names, then headers containing a
    telling word. Raises InvalidInput when an explicit column is not there."""
    norm = [normalise_header(h) for h in headers]
    found: dict[str, int] = {}
    for f in FIELDS:
        want = getattr(columns, f)
        if want:
            found[f] = _explicit(f, want, headers, norm, letters)
    taken = set(found.values())
    for f in FIELDS:
        if f in found:
            continue
        for i, h in enumerate(norm):
            if i not in taken and h in _EXACT[f]:
                found[f] = i
                taken.add(i)
                break
    for f, words in _CONTAINS:
        if f in found:
            continue
        for i, h in enumerate(norm):
            if i not in taken and h and any(w in h for w in words):
                found[f] = i
                taken.add(i)
                break
    return found


def _explicit(f: str, want: str, headers: list[str], norm: list[str], letters: bool) -> int:
    key = normalise_header(want)
    if key in norm:
        return norm.index(key)
    if letters and want.strip().isdigit() and 1 <= int(want) <= len(headers):
        return int(want) - 1
    if letters and _COLUMN_LETTERS.fullmatch(want.strip()):
        index = 0
        for ch in want.strip().upper():
            index = index * 26 + ord(ch) - 64
        if index <= len(headers):
            return index - 1
    shown = "、".join(h for h in headers if h) or "（无）"
    raise InvalidInput(
        f"指定的{FIELD_NAMES[f]}列“{want}”不存在；文件中的表头：{shown}",
        code="FAQ_COLUMN_NOT_FOUND",
        detail={"field": f, "column": want, "headers": [h for h in headers if h]},
    )


def _no_columns(name: str, seen: dict[str | None, list[str]]) -> ParseError:
    shown = "；".join(f"{'工作表“' + s + '”：' if s else ''}{'、'.join(h) or '（空）'}" for s, h in seen.items()) or "（无）"
    return ParseError(
        f"“{name}”中没有找到问题列和答案列。请把表头写成“问题”“答案”（或“标准问题”“答复”、question、answer 等），"
        f"或用参数指定列名。文件中的表头：{shown}。如表头显示为乱码，请确认文件编码（支持 UTF-8、GB18030）",
        code="FAQ_COLUMNS_NOT_FOUND",
        detail={"file": name, "headers": {k or "": v for k, v in seen.items()}},
    )


# ---- rows ----------------------------------------------------------------------------------------


def _row_count(table: FaqTable) -> int:
    return sum(s.rows for s in table.sheets)


def _too_many(name: str, max_rows: int) -> FileTooLarge:
    return FileTooLarge(
        f"“{name}”的问答数据超过 {max_rows} 行的上限，请拆分文件后分批导入（上限可由 faq_max_rows 配置）",
        code="FAQ_TOO_MANY_ROWS",
        detail={"file": name, "max_rows": max_rows},
    )


def _read_rows(
    table: FaqTable,
    sheet: str | None,
    rows: Iterable[tuple[Any, ...]],
    columns: FaqColumns,
    max_rows: int,
    name: str,
    *,
    letters: bool,
    required: bool = True,
) -> bool:
    """Read one table (a worksheet or a CSV file): find the header among the first rows, then the pairs.
    Returns False when a worksheet has no question/answer columns and may be passed over."""
    it = iter(rows)
    scanned: list[list[str]] = []
    mapping: dict[str, int] | None = None
    header_row = 0
    for number, row in enumerate(it, 1):
        headers = [_cell_text(v) for v in row]
        if not any(headers):
            continue
        scanned.append(headers)
        found = _detect(headers, columns, letters)
        if "question" in found and "answer" in found:
            mapping, header_row = found, number
            break
        if len(scanned) >= HEADER_SCAN_ROWS:
            break
    if mapping is None:
        seen = [h for h in (scanned[0] if scanned else []) if h]
        if required or not sheet:
            if not scanned:
                if sheet:
                    raise EmptyFile(f"“{name}”的工作表“{sheet}”是空的", detail=detail(name, sheet=sheet))
                raise EmptyFile(f"“{name}”中没有问答数据", detail=detail(name))
            raise _no_columns(name, {sheet: seen})
        table.ignored_sheets.append({"sheet": sheet, "headers": seen})
        return False
    info = SheetInfo(sheet, {f: scanned[-1][i] for f, i in mapping.items()})
    table.sheets.append(info)
    for number, row in enumerate(it, header_row + 1):
        cells = [_cell_value(v) for v in row]
        if not any(c not in (None, "") for c in cells):
            continue
        info.rows += 1
        if _row_count(table) > max_rows:  # over all worksheets read so far
            raise _too_many(name, max_rows)
        record = {f: cells[i] if i < len(cells) else None for f, i in mapping.items()}
        _add(table, sheet, number, record)
    return True


def _read_records(table: FaqTable, records: Iterator[tuple[int, dict[str, Any]]], columns: FaqColumns, max_rows: int, name: str) -> None:
    """JSON objects: keys act as headers, found on the first objects as for a table."""
    mapping: dict[str, str] | None = None
    info: SheetInfo | None = None
    keys: list[str] = []
    for number, obj in records:
        if mapping is None:
            keys += [k for k in obj if k not in keys]
            found = _detect(keys, columns, letters=False)
            if "question" not in found or "answer" not in found:
                if len(keys) > 200 or number > HEADER_SCAN_ROWS:
                    raise _no_columns(name, {None: keys})
                table.skipped.append(Skip(None, number, "缺少问题或答案字段"))
                continue
            mapping = {f: keys[i] for f, i in found.items()}
            info = SheetInfo(None, dict(mapping))
            table.sheets.append(info)
        assert info is not None
        info.rows += 1
        if info.rows > max_rows:
            raise _too_many(name, max_rows)
        _add(table, None, number, {f: obj.get(k) for f, k in mapping.items()})
    if mapping is None and keys:
        raise _no_columns(name, {None: keys})


def _add(table: FaqTable, sheet: str | None, row: int, record: dict[str, Any]) -> None:
    question = " ".join(_cell_text(record.get("question")).split())
    answer = squeeze(_cell_text(record.get("answer")))
    if not question:
        table.skipped.append(Skip(sheet, row, "问题为空"))
        return
    if not answer:
        table.skipped.append(Skip(sheet, row, "答案为空", question))
        return
    if len(question) > MAX_QUESTION_CHARS:
        table.skipped.append(Skip(sheet, row, f"问题超过 {MAX_QUESTION_CHARS} 字", question[:MAX_QUESTION_CHARS]))
        return
    own = question_key(question)
    similar: list[str] = []
    keys = {own}
    for s in _similar(record.get("similar")):
        k = question_key(s)
        if k and k not in keys and len(s) <= MAX_QUESTION_CHARS:
            keys.add(k)
            similar.append(s)
    table.pairs.append(
        FaqPair(
            sheet=sheet,
            row=row,
            question=question,
            answer=answer,
            similar=similar[:MAX_SIMILAR],
            category=_cell_text(record.get("category")) or None,
            department=_cell_text(record.get("department"))[:200] or None,
            date=_date(record.get("date")),
        )
    )


def _drop_duplicates(table: FaqTable) -> None:
    """The same question twice in one file: the first row wins, later ones are reported."""
    first: dict[str, FaqPair] = {}
    kept = []
    for p in table.pairs:
        k = question_key(p.question)
        if k in first:
            where = f"工作表“{first[k].sheet}”" if first[k].sheet and first[k].sheet != p.sheet else ""
            table.skipped.append(Skip(p.sheet, p.row, f"与{where}第 {first[k].row} 行的问题重复", p.question))
            continue
        first[k] = p
        kept.append(p)
    table.pairs = kept
    table.skipped.sort(key=lambda s: (table_order(table, s.sheet), s.row))


def table_order(table: FaqTable, sheet: str | None) -> int:
    names = [s.name for s in table.sheets]
    return names.index(sheet) if sheet in names else len(names)


# ---- cells ---------------------------------------------------------------------------------------


def _cell_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    return value


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "\n".join(_cell_text(v) for v in value)
    return str(value).strip()


def squeeze(text: str) -> str:
    lines = [line.strip() for line in strip_controls(text).split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _similar(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        for part in _SIMILAR_SPLIT.split(_cell_text(item)):
            part = " ".join(part.split())
            if part:
                out.append(part)
    return out


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    m = _DATE.search(_cell_text(value))
    if not m:
        return None
    try:
        return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
