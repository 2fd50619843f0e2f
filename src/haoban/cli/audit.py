"""`haoban audit …`: verify the hash chain, list, export and purge by retention."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, service
from haoban.errors import InvalidInput
from haoban.safety.auth import SYSTEM

app = typer.Typer(help="审计日志：核验、查询、导出、按保留期清理", no_args_is_help=True)


@app.command("verify")
@handled
def verify(as_json: JsonOpt = False) -> None:
    """核验审计链；被改动、插入或删除时指出第一条断开的记录，并以退出码 7 结束。"""
    svc = service(embedder=False)
    report = svc.audit.verify()
    svc.audit.record(SYSTEM, "audit.verify", "audit", detail={"ok": report.ok, "first_broken_seq": report.first_broken_seq})
    if as_json:
        print_json(report)
    else:
        (out if report.ok else err).print(("[green]✓[/green] " if report.ok else "[red]✗[/red] ") + report.message)
    if not report.ok:
        raise typer.Exit(7)


@app.command("list")
@handled
def list_records(
    action: Annotated[str | None, typer.Option("--action", help="操作名，以“.”结尾表示前缀，如 kb.")] = None,
    user: Annotated[str | None, typer.Option("--actor", help="操作人 ID")] = None,
    result: Annotated[str | None, typer.Option("--result", help="ok / denied / error")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """最新的审计记录。"""
    total, items = service(embedder=False).audit.list(action=action, actor_id=user, result=result, limit=limit)
    if as_json:
        return print_json({"total": total, "items": [i.model_dump(mode="json") for i in items]})
    table = Table("序号", "时间（UTC）", "操作人", "操作", "对象", "结果", "输入（已脱敏）")
    for r in items:
        table.add_row(str(r.seq), r.ts.strftime("%Y-%m-%d %H:%M:%S"), r.actor_name, r.action,
                      f"{r.resource_type}:{r.resource_id or ''}", r.result, (r.input_preview or "")[:40])  # fmt: skip
    out.print(table)
    out.print(f"共 {total} 条")


@app.command("export")
@handled
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件；不给则写到标准输出")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl 或 csv")] = "jsonl",
) -> None:
    """导出全部审计记录（含哈希，可离线复核）。"""
    if fmt not in ("jsonl", "csv"):
        raise InvalidInput("格式须为 jsonl 或 csv")
    svc = service(embedder=False)
    if output:
        with output.open("w", encoding="utf-8", newline="") as f:
            n = svc.audit.export(f, fmt)
        err.print(f"已导出 {n} 条到 {output}")
    else:
        svc.audit.export(sys.stdout, fmt)
    svc.audit.record(SYSTEM, "audit.export", "audit", detail={"format": fmt})


@app.command("purge")
@handled
def purge(
    days: Annotated[int | None, typer.Option("--days", help="保留最近多少天；默认取设置 audit_retention_days")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="不再确认")] = False,
) -> None:
    """按保留期删除旧记录；之后的链仍可核验（从新的锚点开始）。请先导出归档。"""
    svc = service(embedder=False)
    keep = days if days is not None else svc.settings.audit_retention_days
    if keep is None or keep < 1:
        raise InvalidInput("未设置保留期：请用 --days 指定，或设置 HAOBAN_AUDIT_RETENTION_DAYS")
    before = datetime.now(UTC) - timedelta(days=keep)
    if not yes and not typer.confirm(f"删除 {before:%Y-%m-%d %H:%M} (UTC) 之前的审计记录？"):
        raise typer.Exit(1)
    n = svc.audit.purge(before, SYSTEM)
    out.print(f"已删除 {n} 条审计记录")
