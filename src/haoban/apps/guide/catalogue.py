"""Catalogue files: JSON, CSV and XLSX import/export with per-row validation errors in Chinese.

Import is all-or-nothing: every row is validated (and bundle steps are checked against known item codes)
before anything is written, so a bad row never leaves half a catalogue behind; the report lists each
bad row with its row number. Layout of the tabular formats:

- CSV holds service items only, one per row, columns as in ITEM_COLUMNS (Chinese headers).
- XLSX has the sheets 事项 (same columns), 一件事, 惠企政策, 同义词; missing sheets are simply empty.
- List cells hold one entry per line (typed by hand, “；” also separates); nested cells (申请材料, 情形, 常见问题, 表单字段, 包含事项, 条件) hold JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from haoban.apps.guide.schemas import Bundle, Catalogue, Policy, RowError, ServiceItem
from haoban.errors import InvalidInput, UnsupportedFormat

# (field, header, kind) — kind: s string, i int, l list of strings, j JSON
ITEM_COLUMNS = [
    ("code", "事项编码", "s"),
    ("name", "事项名称", "s"),
    ("item_type", "事项类型", "s"),
    ("department", "实施部门", "s"),
    ("level", "实施层级", "s"),
    ("subject", "服务对象", "s"),
    ("aliases", "别名", "l"),
    ("keywords", "关键词", "l"),
    ("conditions", "受理条件", "l"),
    ("materials", "申请材料", "j"),
    ("situations", "情形", "j"),
    ("steps", "办理流程", "l"),
    ("legal_days", "法定时限", "i"),
    ("promised_days", "承诺时限", "i"),
    ("fee", "收费", "s"),
    ("channels", "办理渠道", "l"),
    ("location", "办理地点", "s"),
    ("legal_basis", "设定依据", "l"),
    ("faq", "常见问题", "j"),
    ("form_fields", "表单字段", "j"),
]
BUNDLE_COLUMNS = [
    ("code", "编码", "s"),
    ("name", "名称", "s"),
    ("description", "说明", "s"),
    ("aliases", "别名", "l"),
    ("keywords", "关键词", "l"),
    ("steps", "包含事项", "j"),
]
POLICY_COLUMNS = [
    ("code", "编码", "s"),
    ("name", "政策名称", "s"),
    ("issuer", "发布机关", "s"),
    ("summary", "摘要", "s"),
    ("benefit", "扶持内容", "s"),
    ("conditions", "条件", "j"),
    ("exempt_application", "免申即享", "b"),
    ("legal_basis", "政策依据", "l"),
    ("status", "审核状态", "s"),
    ("valid_until", "有效期至", "s"),
]
ALIAS_COLUMNS = [("canonical", "规范词", "s"), ("variants", "口语说法", "l")]
SHEETS = {"事项": ITEM_COLUMNS, "一件事": BUNDLE_COLUMNS, "惠企政策": POLICY_COLUMNS, "同义词": ALIAS_COLUMNS}
LIST_SEP = "；"
FORMATS = ("json", "csv", "xlsx")

_LABELS = dict(
    {
        "form": "原件/复印件",
        "count": "份数",
        "source": "来源",
        "required": "是否必要",
        "q": "问题",
        "a": "答复",
        "item": "事项编码",
        "order": "顺序",
        "field": "条件字段",
        "op": "比较方式",
        "value": "条件值",
        "when": "区分条件",
        "key": "键",
        "label": "名称",
        "kind": "类型",
        "name": "名称",
    }
)
_SHEET_LABELS = {sheet: {**_LABELS, **{f: h for f, h, _ in cols}} for sheet, cols in SHEETS.items()}


class CatalogueInvalid(InvalidInput):
    code, message = "GUIDE_IMPORT_INVALID", "事项目录校验未通过，未导入任何内容"


def _msg(err: dict[str, Any], sheet: str) -> tuple[str, str]:
    """A pydantic error as (字段路径, 中文说明); the top-level field is named as in the sheet's header."""
    labels = _SHEET_LABELS.get(sheet, _LABELS)
    loc = [
        str(p + 1) if isinstance(p, int) else (labels if i == 0 else _LABELS).get(str(p), str(p))
        for i, p in enumerate(err.get("loc", ()))
    ]
    path = ".".join(loc)
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        text = "必填"
    elif kind == "string_too_short":
        text = "不能为空"
    elif kind == "string_too_long":
        text = f"超过 {ctx.get('max_length')} 字"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        text = "应为整数"
    elif kind in ("float_parsing", "float_type"):
        text = "应为数字"
    elif kind in ("bool_parsing", "bool_type"):
        text = "应为 是/否"
    elif kind in ("greater_than_equal", "less_than_equal"):
        text = f"超出允许范围（{ctx}）"
    elif kind == "literal_error":
        text = f"取值应为 {ctx.get('expected', '')}"
    elif kind in ("list_type", "dict_type", "model_type"):
        text = "格式不正确"
    elif kind == "too_short":
        text = "至少需要一项"
    elif kind in ("date_parsing", "date_from_datetime_parsing"):
        text = "日期格式应为 YYYY-MM-DD"
    elif kind == "value_error":
        text = str(err.get("msg", "")).removeprefix("Value error, ")
    else:
        text = str(err.get("msg", "取值不合法"))
    return path, text


def _validate(model: type[BaseModel], raw: dict, row: int, sheet: str, errors: list[RowError]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        code = str(raw.get("code") or raw.get("canonical") or "")
        for e in exc.errors():
            path, text = _msg(e, sheet)
            errors.append(
                RowError(
                    row=row, sheet=sheet, code=code, field=path, message=f"{path}：{text}" if path else text
                )
            )
        return None


def _cell_value(value: Any, kind: str, header: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "s":
        return str(value).strip() if not isinstance(value, str) else value.strip()
    if kind == "i":
        return value if isinstance(value, int) else str(value).strip()
    if kind == "b":
        if isinstance(value, bool):
            return value
        return {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}.get(
            str(value).strip().lower(), str(value)
        )
    if kind == "l":
        text = str(value)
        # Exports put one entry per line (entries may contain “；”); hand-typed cells may use “；” instead.
        parts = text.split("\n") if "\n" in text else text.replace(";", LIST_SEP).split(LIST_SEP)
        return [p.strip() for p in parts if p.strip()]
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise ValueError(f"{header}：不是合法的 JSON（第 {exc.colno} 个字符附近）") from None


def _rows_to_raw(
    rows: Iterable[tuple[int, dict[str, Any]]], columns: list, sheet: str, errors: list[RowError]
) -> list[tuple[int, dict]]:
    by_header = {h: (f, k) for f, h, k in columns}
    out = []
    for row_no, row in rows:
        raw: dict[str, Any] = {}
        bad = False
        for header, value in row.items():
            if header not in by_header:
                continue
            field, kind = by_header[header]
            try:
                v = _cell_value(value, kind, header)
            except ValueError as exc:
                errors.append(
                    RowError(
                        row=row_no,
                        sheet=sheet,
                        code=str(row.get(columns[0][1]) or ""),
                        field=header,
                        message=str(exc),
                    )
                )
                bad = True
                continue
            if v is not None:
                raw[field] = v
        if not bad:
            out.append((row_no, raw))
    return out


def _check_headers(headers: list[str], columns: list, sheet: str, errors: list[RowError]) -> bool:
    required = {columns[0][1], columns[1][1]}
    missing = [h for h in required if h not in headers]
    if missing:
        errors.append(
            RowError(
                row=1,
                sheet=sheet,
                message=f"表头缺少列：{'、'.join(missing)}（可用列：{'、'.join(h for _, h, _ in columns)}）",
            )
        )
        return False
    return True


def _read_csv(data: bytes, errors: list[RowError]) -> dict[str, list[tuple[int, dict]]]:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("CSV 文件编码无法识别（支持 UTF-8、GB18030）", code="GUIDE_IMPORT_ENCODING")
    reader = csv.DictReader(io.StringIO(text))
    if not _check_headers(list(reader.fieldnames or []), ITEM_COLUMNS, "事项", errors):
        return {}
    rows = [
        (i + 2, r)
        for i, r in enumerate(reader)
        if any((v or "").strip() for v in r.values() if isinstance(v, str))
    ]
    return {"事项": rows}


def _read_xlsx(data: bytes, errors: list[RowError]) -> dict[str, list[tuple[int, dict]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise InvalidInput(f"XLSX 文件无法打开：{type(exc).__name__}", code="GUIDE_IMPORT_XLSX") from None
    out: dict[str, list[tuple[int, dict]]] = {}
    for sheet, columns in SHEETS.items():
        if sheet not in wb.sheetnames:
            continue
        rows = wb[sheet].iter_rows(values_only=True)
        headers = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        if not _check_headers(headers, columns, sheet, errors):
            continue
        out[sheet] = [
            (n, dict(zip(headers, values, strict=False)))
            for n, values in enumerate(rows, start=2)
            if any(v not in (None, "") for v in values)
        ]
    wb.close()
    if not out and not errors:
        errors.append(RowError(row=0, message=f"工作簿中没有可导入的工作表（应为：{'、'.join(SHEETS)}）"))
    return out


def parse_catalogue(data: bytes, fmt: str) -> tuple[Catalogue, list[RowError]]:
    """Parse and validate a file; returns the valid part and every row error (the caller decides)."""
    fmt = fmt.lower().lstrip(".")
    errors: list[RowError] = []
    models: dict[str, type[BaseModel]] = {"事项": ServiceItem, "一件事": Bundle, "惠企政策": Policy}
    parsed: dict[str, list] = {"事项": [], "一件事": [], "惠企政策": [], "同义词": []}
    if fmt == "json":
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"JSON 文件无法解析：{exc}", code="GUIDE_IMPORT_JSON") from None
        if isinstance(doc, list):
            doc = {"items": doc}
        if not isinstance(doc, dict):
            raise InvalidInput(
                "JSON 顶层应为对象 {items, bundles, policies, aliases} 或事项数组", code="GUIDE_IMPORT_JSON"
            )
        for key, sheet in (("items", "事项"), ("bundles", "一件事"), ("policies", "惠企政策")):
            for i, raw in enumerate(doc.get(key) or []):
                if not isinstance(raw, dict):
                    errors.append(RowError(row=i + 1, sheet=sheet, message="应为对象"))
                    continue
                parsed[sheet].append(_validate(models[sheet], raw, i + 1, sheet, errors))
        aliases = doc.get("aliases") or {}
        if not isinstance(aliases, dict):
            errors.append(RowError(row=0, sheet="同义词", message="同义词词典应为 {规范词: [口语说法…]}"))
            aliases = {}
        parsed["同义词"] = [(k, v) for k, v in aliases.items()]
    elif fmt in ("csv", "xlsx"):
        sheets = _read_csv(data, errors) if fmt == "csv" else _read_xlsx(data, errors)
        for sheet, rows in sheets.items():
            columns = SHEETS[sheet]
            for row_no, raw in _rows_to_raw(rows, columns, sheet, errors):
                if sheet == "同义词":
                    parsed[sheet].append((raw.get("canonical", ""), raw.get("variants", [])))
                else:
                    parsed[sheet].append(_validate(models[sheet], raw, row_no, sheet, errors))
    else:
        raise UnsupportedFormat(f"不支持的目录格式“{fmt}”，可用：{'、'.join(FORMATS)}", code="GUIDE_FORMAT")
    cat = Catalogue(
        items=[x for x in parsed["事项"] if x is not None],
        bundles=[x for x in parsed["一件事"] if x is not None],
        policies=[x for x in parsed["惠企政策"] if x is not None],
    )
    for n, (canonical, variants) in enumerate(parsed["同义词"], start=2):
        if (
            not str(canonical).strip()
            or not isinstance(variants, list)
            or not all(isinstance(v, str) for v in variants)
        ):
            errors.append(
                RowError(
                    row=n, sheet="同义词", code=str(canonical), message="规范词不能为空，口语说法应为文字列表"
                )
            )
            continue
        cat.aliases[str(canonical).strip()] = [v.strip() for v in variants if v.strip()]
    _check_duplicates(cat, errors)
    return cat, errors


def _check_duplicates(cat: Catalogue, errors: list[RowError]) -> None:
    for sheet, rows in (("事项", cat.items), ("一件事", cat.bundles), ("惠企政策", cat.policies)):
        seen: set[str] = set()
        for row in rows:
            if row.code in seen:
                errors.append(
                    RowError(
                        row=0,
                        sheet=sheet,
                        code=row.code,
                        field="编码",
                        message=f"编码“{row.code}”在文件中重复",
                    )
                )
            seen.add(row.code)
    for item in cat.items:
        codes = [s.code for s in item.situations]
        if len(codes) != len(set(codes)):
            errors.append(RowError(row=0, sheet="事项", code=item.code, field="情形", message="情形编码重复"))


# ---- export ----------------------------------------------------------------------------------------


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "l":
        text = "\n".join(value)
        # A lone entry containing “；” gets a trailing newline so import does not split it.
        return text + "\n" if len(value) == 1 and (LIST_SEP in text or ";" in text) else text
    if kind == "j":
        return json.dumps(value, ensure_ascii=False)
    if kind == "b":
        return "是" if value else "否"
    return value if isinstance(value, int | float) else str(value)


def _table(rows: list[BaseModel], columns: list) -> list[list[Any]]:
    table = [[h for _, h, _ in columns]]
    for r in rows:
        d = r.model_dump(mode="json")
        table.append([_cell(d.get(f), k) for f, _, k in columns])
    return table


def export_catalogue(cat: Catalogue, fmt: str) -> bytes:
    fmt = fmt.lower().lstrip(".")
    if fmt == "json":
        return json.dumps(
            cat.model_dump(mode="json", exclude_defaults=False), ensure_ascii=False, indent=1
        ).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows(_table(cat.items, ITEM_COLUMNS))
        return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens UTF-8 CSV correctly only with it
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        alias_rows = [_AliasRow(canonical=k, variants=v) for k, v in cat.aliases.items()]
        for sheet, rows in (
            ("事项", cat.items),
            ("一件事", cat.bundles),
            ("惠企政策", cat.policies),
            ("同义词", alias_rows),
        ):
            ws = wb.create_sheet(sheet)
            for line in _table(rows, SHEETS[sheet]):
                ws.append(line)
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    raise UnsupportedFormat(f"不支持的目录格式“{fmt}”，可用：{'、'.join(FORMATS)}", code="GUIDE_FORMAT")


class _AliasRow(BaseModel):
    canonical: str
    variants: list[str]


def format_of(path: Path | str) -> str:
    return Path(path).suffix.lower().lstrip(".")
