"""`haoban lexicon …`: manage the sensitive-word lexicons and check text against them (as the local operator)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from haoban.cli.common import JsonOpt, err, handled, out, print_json, service
from haoban.errors import InvalidInput
from haoban.safety.lexicon import LexiconResult, LexiconService
from haoban.safety.lexicon_store import ACTION_NAMES

app = typer.Typer(help="敏感词库：按类别维护词条和白名单，导入导出，检查文本", no_args_is_help=True)

KindOpt = Annotated[bool, typer.Option("--allow", help="操作白名单（而不是敏感词）")]


def lexicon() -> LexiconService:
    return service(embedder=False).lexicon


@app.command("list")
@handled
def list_(
    category: Annotated[str | None, typer.Option("--category", "-c", help="只看这个类别的词条")] = None,
    allow: KindOpt = False,
    query: Annotated[str | None, typer.Option("--search", "-s", help="按词条内容筛选")] = None,
    limit: Annotated[int, typer.Option(help="最多列出多少条")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """列出类别（不带参数时）或词条。"""
    lex = lexicon()
    if category is None and not allow and query is None:
        cats = lex.categories()
        if as_json:
            return print_json(cats)
        table = Table("类别", "处理方式", "词条数", "说明")
        for c in cats:
            table.add_row(c.name, f"{ACTION_NAMES[c.action]}（{c.action}）", str(c.term_count), c.description)
        allow_count = lex.list_terms(kind="allow", limit=0).total
        out.print(table)
        out.print(f"白名单 {allow_count} 条；用 `haoban lexicon list --allow` 查看。")
        return
    page = lex.list_terms(category, kind="allow" if allow else "deny", query=query, limit=limit)
    if as_json:
        return print_json(page)
    table = Table("词条", "类别", "标记", "单独处理方式", "来源", "ID")
    for t in page.items:
        table.add_row(t.term, t.category or "（全部）", ",".join(t.flags), t.action or "", t.source, t.id)
    out.print(table)
    out.print(f"共 {page.total} 条，显示 {len(page.items)} 条。")


@app.command()
@handled
def add(
    terms: Annotated[list[str], typer.Argument(help="词条，可多个")],
    category: Annotated[str, typer.Option("--category", "-c", help="类别（白名单可不写，表示所有类别）")] = "",
    allow: KindOpt = False,
    flag: Annotated[list[str] | None, typer.Option("--flag", "-f", help="pinyin 同时匹配拼音；strict 只匹配原样；可多次")] = None,
    action: Annotated[str | None, typer.Option(help="单独指定处理方式：block、mask、review")] = None,
    note: Annotated[str, typer.Option(help="备注")] = "",
    as_json: JsonOpt = False,
) -> None:
    """添加敏感词（或用 --allow 添加白名单）；新类别默认“人工复核”，可用 set-action 修改。"""
    if not allow and not category:
        raise InvalidInput("敏感词必须用 --category 指定类别", code="LEXICON_CATEGORY_REQUIRED")
    lex = lexicon()
    added = [
        lex.add_term(t, category, kind="allow" if allow else "deny", flags=flag or [], action=action, note=note)
        for t in terms
    ]
    if as_json:
        return print_json(added)
    for t in added:
        out.print(f"已添加{'白名单' if allow else '敏感词'}“{t.term}”（{t.category or '所有类别'}，ID：{t.id}）")


@app.command()
@handled
def remove(
    terms: Annotated[list[str], typer.Argument(help="词条或词条 ID，可多个")],
    category: Annotated[str | None, typer.Option("--category", "-c", help="类别（词条在多个类别中时必填）")] = None,
    allow: KindOpt = False,
) -> None:
    """删除词条。"""
    lex = lexicon()
    for t in terms:
        info = lex.remove_term(t, category=category, kind="allow" if allow else "deny")
        out.print(f"已删除“{info.term}”（{info.category or '白名单'}）")


@app.command("set-action")
@handled
def set_action(
    category: Annotated[str, typer.Argument(help="类别")],
    action: Annotated[str, typer.Argument(help="block 拦截；mask 打码；review 人工复核")],
    description: Annotated[str | None, typer.Option("--description", "-d", help="说明")] = None,
) -> None:
    """设置（或新建）类别的处理方式。"""
    info = lexicon().set_category(category, action, description)
    out.print(f"类别“{info.name}”的处理方式：{ACTION_NAMES[info.action]}（{info.action}），词条 {info.term_count} 条")


@app.command("import")
@handled
def import_(
    file: Annotated[Path, typer.Argument(help="txt（每行一词，可跟制表符和标记）、CSV（表头含 term）或 JSONL")],
    category: Annotated[str | None, typer.Option("--category", "-c", help="txt 文件的类别；CSV/JSONL 行内未写类别时使用")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto、txt、csv、jsonl")] = "auto",
    allow: KindOpt = False,
    new_action: Annotated[str, typer.Option("--new-category-action", help="新建类别的处理方式")] = "review",
    as_json: JsonOpt = False,
) -> None:
    """导入词库文件：全部合法才写入，有错误时逐行列出且不导入任何词条。"""
    report = lexicon().import_file(
        file, fmt=fmt, category=category, kind="allow" if allow else "deny", new_category_action=new_action
    )
    if as_json:
        return print_json(report)
    out.print(
        f"文件 {report.total} 条：新增 {report.added}，更新 {report.updated}，未变化 {report.unchanged}；"
        f"新建类别：{'、'.join(report.categories_created) or '无'}；词库版本 {report.version}"
    )


@app.command()
@handled
def export(
    file: Annotated[Path | None, typer.Argument(help="写入的文件；不写则输出到屏幕")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv、jsonl、txt")] = "csv",
    category: Annotated[str | None, typer.Option("--category", "-c", help="只导出这个类别")] = None,
    allow: Annotated[bool, typer.Option("--allow", help="只导出白名单")] = False,
) -> None:
    """导出词库（可直接再导入）。"""
    text = lexicon().export(fmt, category=category, kind="allow" if allow else ("deny" if category else None))
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text, encoding="utf-8")
        err.print(f"已导出到 {file}")


@app.command()
@handled
def check(
    text: Annotated[str | None, typer.Argument(help="要检查的文本")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="从文件读取文本（UTF-8）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """检查文本：列出命中的词条、类别、位置和变形方式；命中“拦截”类别时退出码为 1。"""
    if file is not None:
        if not file.is_file():
            raise InvalidInput(f"文件“{file}”不存在", code="FILE_NOT_FOUND")
        text = file.read_text(encoding="utf-8", errors="replace")
    if text is None:
        raise InvalidInput("请给出要检查的文本，或用 --file 指定文件", code="LEXICON_TEXT_REQUIRED")
    result = lexicon().check(text)
    if as_json:
        print_json(result)
    else:
        _print_result(text, result)
    if result.blocked:
        raise typer.Exit(1)


def _print_result(text: str, result: LexiconResult) -> None:
    names = {"pass": "通过", **ACTION_NAMES}
    out.print(f"结论：{names[result.decision]}（{result.decision}），命中 {result.total_matches} 处")
    if not result.matches:
        return
    table = Table("位置", "原文", "词条", "类别", "处理", "变形")
    for m in result.matches:
        table.add_row(f"{m.start}–{m.end}", Text(m.text), Text(m.term), m.category, ACTION_NAMES[m.action], m.variant)
    out.print(table)
    if len(text) <= 2000:
        marked = Text(text)
        for m in result.matches:
            marked.stylize("bold red", m.start, m.end)
        out.print(marked)
