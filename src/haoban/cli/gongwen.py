"""`haoban doc draft|review|rules|compare|dedup|layout|minutes|tool|save|library`: the 公文 toolkit from the command
line. Input files may be DOCX, OFD, PDF, TXT or HTML (read by the knowledge engine's parsers); commands act
as the local operator (SYSTEM)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from haoban.cli.common import JsonOpt, err, handled, out, print_json, progress, service

if TYPE_CHECKING:  # the 公文 tools load only when a command runs: `haoban --help` stays quick
    from haoban.apps.gongwen.compare import CompareReport

SEVERITY = {"error": "[red]错误[/red]", "warning": "[yellow]警告[/yellow]", "info": "[blue]提示[/blue]"}
InFile = Annotated[Path, typer.Argument(help="公文文件：.docx / .ofd / .pdf / .txt / .html", exists=True, dir_okay=False)]
NoModel = Annotated[bool, typer.Option("--no-model", help="不使用大模型（即使已配置）")]


def _gongwen(model: bool = False):
    from haoban.apps.gongwen.service import GongwenService

    svc = service(embedder=False)
    gateway = None
    if model:
        from haoban.llm.gateway import make_gateway

        gateway = make_gateway(svc.settings)
    return GongwenService(svc, gateway)


def read_text(path: Path) -> str:
    """The text of a document file, through the same parsers as ingestion (encoding detection, OFD…)."""
    from haoban.config import get_settings
    from haoban.knowledge.parse import parse_file

    return parse_file(path, max_bytes=int(get_settings().max_file_mb * 1024 * 1024)).text


def _write(path: Path | None, data: bytes | str) -> None:
    if path is None:
        out.print(data if isinstance(data, str) else "")
        return
    path.write_bytes(data) if isinstance(data, bytes) else path.write_text(data, encoding="utf-8")
    err.print(f"已写入 {path}")


def register(doc_app: typer.Typer) -> None:
    for name, fn in (
        ("draft", draft), ("review", review), ("compare", compare), ("dedup", dedup), ("layout", layout),
        ("minutes", minutes), ("tool", tool), ("save", save), ("library", library), ("rules", rules),
    ):  # fmt: skip
        doc_app.command(name)(handled(fn))


def draft(
    doc_type: Annotated[str, typer.Option("--type", "-t", help="文种，如 通知、请示、函")],
    issuer: Annotated[str, typer.Option("--issuer", help="发文机关")] = "",
    subject: Annotated[str, typer.Option("--subject", "-s", help="事由，如 做好2025年防汛工作")] = "",
    title: Annotated[str, typer.Option("--title", help="完整标题（给出时不再按事由生成）")] = "",
    to: Annotated[list[str] | None, typer.Option("--to", help="主送机关，可多次")] = None,
    point: Annotated[list[str] | None, typer.Option("--point", "-p", help="要点，可多次，按顺序成为各部分")] = None,
    attachment: Annotated[list[str] | None, typer.Option("--attachment", "-a", help="附件名称，可多次")] = None,
    doc_number: Annotated[str, typer.Option("--number", help="发文字号，如 ×政办发〔2025〕12号")] = "",
    date: Annotated[str | None, typer.Option("--date", help="成文日期 YYYY-MM-DD，默认今天")] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="写入文件（.txt 为文本，.docx 为排版稿）")] = None,
    no_model: NoModel = False,
    as_json: JsonOpt = False,
) -> None:
    """起草公文：无大模型时生成带规范用语的结构化初稿，【请填写】处需人工补全。"""
    from haoban.apps.gongwen.draft import DraftRequest

    req = DraftRequest(
        doc_type=doc_type, issuer=issuer, subject=subject, title=title, addressees=to or [], key_points=point or [],
        attachments=attachment or [], doc_number=doc_number, date=dt.date.fromisoformat(date) if date else None,
    )  # fmt: skip
    gw = _gongwen(model=not no_model)
    result = gw.draft(req, use_model=not no_model)
    if as_json:
        return print_json(result)
    if output is not None and output.suffix.lower() == ".docx":
        _write(output, gw.layout(result.text))
    else:
        _write(output, result.text)
    for warning in result.warnings:
        err.print(f"[yellow]提示[/yellow]：{warning}")
    if result.placeholders:
        err.print(f"还有 {len(result.placeholders)} 处【请填写】需要补全。")


def review(
    path: InFile,
    rules: Annotated[str | None, typer.Option("--rules", help="只运行这些规则，逗号分隔；前加 - 为排除，如 format,-format.doc_number")] = None,
    as_json: JsonOpt = False,
) -> None:
    """审核公文：格式（GB/T 9704、公文处理工作条例）、用语、错别字、的地得、敏感词与个人信息。"""
    text = read_text(path)
    report = _gongwen().review(text, rules=[r for r in rules.split(",") if r] if rules else None)
    if as_json:
        return print_json(report)
    table = Table("位置", "级别", "规则", "原文", "问题与建议", show_lines=False)
    for f in report.findings:
        line = text.count("\n", 0, f.start) + 1
        advice = f.message + (f"；建议：{f.suggestion}" if f.suggestion else "")
        table.add_row(f"第{line}行", SEVERITY.get(f.severity, f.severity), f.rule, f.text[:30], advice)
    out.print(table)
    counts = report.severities
    out.print(
        f"文种：{report.doc_type or '未识别'}；错误 {counts.get('error', 0)}，警告 {counts.get('warning', 0)}，提示 {counts.get('info', 0)}；用时 {report.took_ms:.0f} 毫秒"
    )
    for notice in report.notices:
        err.print(f"[yellow]注意[/yellow]：{notice}")
    if counts.get("error"):
        raise typer.Exit(1)


def rules(as_json: JsonOpt = False) -> None:
    """列出审核规则：编号（可用于 review --rules）、类别、名称和依据。"""
    found = _gongwen().review_rules()
    if as_json:
        return print_json(found)
    table = Table("编号", "类别", "名称", "依据")
    for r in found:
        table.add_row(r.id, {"format": "格式", "wording": "用语", "safety": "安全"}.get(r.category, r.category), r.name, r.basis)
    out.print(table)


def compare(
    paths: Annotated[list[Path], typer.Argument(help="两个或多个版本（按先后顺序）", exists=True, dir_okay=False)],
    docx: Annotated[Path | None, typer.Option("--docx", help="另存修订稿 DOCX（最后一版，修订标出与前一版的差异）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """比对公文的多个版本：逐句对齐、句内逐字差异，并识别段落移动。"""
    from haoban.errors import InvalidInput

    if len(paths) < 2:
        raise InvalidInput("至少需要两个版本", code="GONGWEN_COMPARE_VERSIONS")
    texts = [read_text(p) for p in paths]
    gw = _gongwen()
    report = gw.compare(texts, names=[p.name for p in paths])
    if docx is not None:
        _write(docx, gw.compare_docx(texts[-2], texts[-1]))
    if as_json:
        return print_json(report)
    print_compare(report)


def dedup(
    path: InFile,
    corpus: Annotated[str, typer.Option("--corpus", "-c", help="比对范围：documents（公文库）或知识库名称/ID")] = "documents",
    threshold: Annotated[float, typer.Option("--threshold", help="相似度阈值 0.3–1")] = 0.7,
    as_json: JsonOpt = False,
) -> None:
    """查重：逐句找出与公文库或知识库中已有文档重复、近似的句子，并给出出处。"""
    text = read_text(path)
    gw = _gongwen()
    if corpus != "documents":
        # A knowledge base is brought into the duplicate-check index first; the first time is the long one.
        with progress("同步知识库到查重库") as bar:
            task = bar.add_task("sync", total=None, item="")
            gw.sync_dedup_kb(corpus, progress=lambda done, total: bar.update(task, completed=done, total=total))
    report = gw.dedup(text, corpus=corpus, threshold=threshold)
    if as_json:
        return print_json(report)
    table = Table("句子", "相似度", "出处")
    for dup in report.duplicated_sentences:
        best = dup.sources[0] if dup.sources else None
        where = f"{best.title}（第{best.paragraph_index + 1}段）" if best else ""
        table.add_row(dup.text[:50], f"{dup.similarity:.0%}", where)
    out.print(table)
    out.print(f"重复率 {report.duplicate_ratio:.1%}：检查 {report.checked_sentences} 句，重复 {len(report.duplicated_sentences)} 句")


def layout(
    path: InFile,
    output: Annotated[Path, typer.Option("--out", "-o", help="输出的 DOCX 文件")],
    relayout: Annotated[bool, typer.Option("--relayout", help="先把没有分段的文字（如从 PDF 复制）按公文格式重排")] = False,
) -> None:
    """按 GB/T 9704-2012 排版为 DOCX（A4、版心、每页 22 行每行 28 字、红色版头、页码）。"""
    _write(output, _gongwen().layout(read_text(path), relayout=relayout))


def minutes(
    path: InFile,
    name: Annotated[str, typer.Option("--name", help="会议名称")] = "",
    date: Annotated[str | None, typer.Option("--date", help="会议日期 YYYY-MM-DD（用于换算“下周五前”等时限）")] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="写入纪要文本")] = None,
    no_model: NoModel = False,
    as_json: JsonOpt = False,
) -> None:
    """由会议记录生成会议纪要：议定事项、待办事项（责任单位、事项、时限）。"""
    from haoban.apps.gongwen.minutes import MeetingInfo

    meeting = MeetingInfo(name=name, date=dt.date.fromisoformat(date) if date else None)
    result = _gongwen(model=not no_model).minutes(read_text(path), meeting=meeting, use_model=not no_model)
    if as_json:
        return print_json(result)
    _write(output, result.text)
    if result.actions:
        table = Table("责任单位/人", "事项", "时限")
        for a in result.actions:
            due = (a.deadline.text + (f"（{a.deadline.date}）" if a.deadline.date else "")) if a.deadline else ""
            table.add_row(a.owner, a.task[:60], due)
        err.print(table)


def tool(
    operation: Annotated[str, typer.Argument(help="续写 / 扩写 / 缩写 / 改写 / 润色 / 摘要")],
    path: InFile,
    ratio: Annotated[float | None, typer.Option("--ratio", help="缩写、摘要保留的比例，如 0.3")] = None,
    instruction: Annotated[str, typer.Option("--instruction", help="补充要求")] = "",
    as_json: JsonOpt = False,
) -> None:
    """写作工具箱。无大模型时只能摘要、缩写（抽取原文句子）。"""
    result = _gongwen(model=True).toolbox(operation, read_text(path), ratio=ratio, instruction=instruction)
    if as_json:
        return print_json(result)
    out.print(result.text)


def save(
    path: InFile,
    doc_id: Annotated[str | None, typer.Option("--id", help="已有公文的 ID：保存为它的新版本")] = None,
    note: Annotated[str, typer.Option("--note", help="版本说明")] = "",
    as_json: JsonOpt = False,
) -> None:
    """保存到公文库（作为查重的历史公文，并保留版本供比对）。"""
    detail = _gongwen().save(read_text(path), doc_id=doc_id, note=note)
    if as_json:
        return print_json(detail.model_dump(mode="json", exclude={"text"}))
    out.print(f"已保存《{detail.title}》第 {detail.version} 版，ID：{detail.id}")


def library(
    q: Annotated[str | None, typer.Option("--q", help="按标题查找")] = None,
    as_json: JsonOpt = False,
) -> None:
    """列出公文库中的公文。"""
    docs = _gongwen().list_documents(q=q)
    if as_json:
        return print_json(docs)
    table = Table("ID", "标题", "文种", "文号", "版本", "更新时间")
    for d in docs:
        table.add_row(d.id, d.title, d.doc_type or "", d.doc_number or "", str(d.latest_version), f"{d.updated_at:%Y-%m-%d %H:%M}")
    out.print(table)


OPS = {"equal": "", "insert": "[green]新增[/green]", "delete": "[red]删除[/red]", "replace": "[blue]修改[/blue]", "move": "移动"}


def print_compare(report: CompareReport) -> None:
    """Changed rows of each pair side by side, the changed characters coloured; unchanged rows left out."""
    for pair in report.pairs:
        table = Table("", pair.left_name, pair.right_name, title=f"{pair.left_name} → {pair.right_name}")
        for row in pair.side_by_side():
            if row["op"] == "equal":
                continue
            left, right = (_coloured(row[side]) for side in ("left", "right"))
            table.add_row(OPS[row["op"]], left, right)
        out.print(table)
        s = pair.stats
        out.print(
            f"新增 {s.inserted_sentences} 句，删除 {s.deleted_sentences} 句，修改 {s.changed_sentences} 句，移动 {s.moved_sentences} 句；"
            f"增 {s.inserted_chars} 字，删 {s.deleted_chars} 字"
        )


def _coloured(pieces: list[list[str]]) -> Text:
    text = Text()
    for op, piece in pieces:
        text.append(piece, style={"insert": "green underline", "delete": "red strike"}.get(op, ""))
    return text
