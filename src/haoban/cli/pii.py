"""`haoban pii mask|unmask|types`: personal-information masking from the command line (as the local operator)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, service
from haoban.errors import InvalidInput
from haoban.safety import pii
from haoban.safety.auth import SYSTEM
from haoban.safety.vault import PiiService

app = typer.Typer(help="个人信息脱敏：身份证号、手机号、银行卡号、姓名、地址等", no_args_is_help=True)

TextArg = Annotated[str | None, typer.Argument(help="要处理的文本；省略时读 --file 或标准输入")]
FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="从文件读取（UTF-8 或 GB18030）")]


def _read(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise InvalidInput("文本和 --file 只能给一个")
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as e:
            raise InvalidInput(f"无法读取文件：{file}", detail=str(e)) from None
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise InvalidInput(f"文件不是 UTF-8 或 GB18030 编码的文本：{file}")
    if text is not None:
        return text
    if sys.stdin.isatty():
        raise InvalidInput("请给出文本、--file 文件，或从标准输入传入")
    return sys.stdin.read()


def _service() -> PiiService:
    return PiiService.from_service(service(embedder=False))


@app.command()
@handled
def mask(
    text: TextArg = None,
    file: FileOpt = None,
    style: Annotated[str, typer.Option("--style", "-s", help="partial 部分遮盖 | tag 类型标签 | pseudonym 可还原假名")] = "partial",
    types: Annotated[
        str | None, typer.Option("--types", "-t", help="逗号分隔的类型，如 id_card,mobile,name；默认除机构名、地名外的全部")
    ] = None,
    min_confidence: Annotated[float, typer.Option("--min-confidence", help="低于此置信度的不处理")] = 0.5,
    as_json: JsonOpt = False,
) -> None:
    """脱敏：脱敏后的文本写到标准输出，识别明细写到标准错误（--json 时一起输出）。"""
    if style not in ("partial", "tag", "pseudonym"):
        raise InvalidInput("--style 只能是 partial、tag 或 pseudonym")
    body = _read(text, file)
    result = _service().mask(body, style, pii.parse_types(types, pii.DEFAULT_MASK_TYPES), actor=SYSTEM, min_confidence=min_confidence)  # type: ignore[arg-type]
    if as_json:
        return print_json(result)
    out.print(result.text, markup=False, highlight=False, soft_wrap=True)
    if result.spans:
        table = Table("类型", "位置", "原文", "替换为", "置信度")
        for s in result.spans:
            table.add_row(s.label, f"{s.start}–{s.end}", s.text, s.replacement or "", f"{s.confidence:.2f}")
        err.print(table)
    else:
        err.print("未发现个人信息。")


@app.command()
@handled
def unmask(text: TextArg = None, file: FileOpt = None, as_json: JsonOpt = False) -> None:
    """把假名（如【姓名#A3F2】）还原为原值；需要“还原脱敏信息”权限，每次调用都记入审计日志。"""
    result = _service().unmask(_read(text, file), actor=SYSTEM)
    if as_json:
        return print_json(result)
    out.print(result.text, markup=False, highlight=False, soft_wrap=True)
    err.print(f"已还原 {result.restored} 处" + (f"；假名库中没有：{'、'.join(result.unknown)}" if result.unknown else ""))


@app.command("types")
@handled
def types_(as_json: JsonOpt = False) -> None:
    """列出可识别的个人信息类型。"""
    rows = [{"type": t, "label": pii.LABELS[t], "masked_by_default": t in pii.DEFAULT_MASK_TYPES} for t in pii.ALL_TYPES]
    if as_json:
        return print_json(rows)
    table = Table("类型", "名称", "默认脱敏")
    for r in rows:
        table.add_row(r["type"], r["label"], "是" if r["masked_by_default"] else "否（只识别）")
    out.print(table)
