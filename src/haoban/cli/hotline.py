"""`haoban hotline …`: 12345 work orders from the command line (acts as the local operator, SYSTEM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, progress, service
from haoban.errors import InvalidInput

app = typer.Typer(help="12345 热线工单：受理、分派、办理、考评", no_args_is_help=True)


def _svc():
    from haoban.apps.hotline import HotlineService

    return HotlineService(service(embedder=False))


@app.command()
@handled
def intake(
    text: Annotated[str | None, typer.Argument(help="诉求内容；用 --file 读取通话转写文本")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="诉求文本文件（UTF-8）")] = None,
    channel: Annotated[str, typer.Option(help="来源渠道")] = "电话",
    phone: Annotated[str | None, typer.Option(help="来电号码（展示时脱敏）")] = None,
    location: Annotated[str | None, typer.Option(help="诉求地点")] = None,
    as_json: JsonOpt = False,
) -> None:
    """受理一条诉求：自动分类、推荐承办部门、计算办理时限、查找重复工单。"""
    from haoban.apps.hotline.schemas import TicketIn

    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidInput(f"无法读取文件 {file}：{e}", code="HOTLINE_FILE_UNREADABLE") from None
    if not text or not text.strip():
        raise InvalidInput("请给出诉求内容或 --file", code="HOTLINE_TEXT_EMPTY")
    t = _svc().intake(TicketIn(text=text.strip()[:5000], channel=channel, caller_phone=phone, location=location))
    if as_json:
        print_json(t)
        return
    out.print(f"已受理工单 {t.number}（ID：{t.id}）")
    out.print(f"诉求类型：{t.request_type or '—'}  领域：{t.domain or '—'}  推荐部门：{t.department or '—'}  紧急程度：{t.urgency}")
    out.print(f"办理时限：{t.sla_rule}，截止 {t.due_at:%Y-%m-%d %H:%M} (UTC)" if t.due_at else "办理时限：—")
    if t.needs_review:
        out.print(f"[yellow]需人工复核：{t.review_reason}[/yellow]")
    for d in t.suggestion.get("duplicates", []):
        out.print(f"疑似重复：{d['number']}（相似度 {d['score']:.2f}）")


@app.command("list")
@handled
def list_(
    status: Annotated[str | None, typer.Option(help="状态，如 received、dispatched、open（全部未办结）")] = None,
    department: Annotated[str | None, typer.Option(help="承办部门")] = None,
    review: Annotated[bool, typer.Option("--review", help="只看待人工复核")] = False,
    limit: Annotated[int, typer.Option(help="条数")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """列出工单（按紧急程度和受理时间排序）。"""
    page = _svc().list(status=status, department=department, review=True if review else None, limit=limit)
    if as_json:
        print_json(page)
        return
    table = Table("编号", "状态", "类型", "承办部门", "时限", "摘要")
    for t in page.items:
        table.add_row(t.number, t.status_label, t.request_type or "", t.department or "", t.sla_state, t.summary[:30])
    out.print(table)
    out.print(f"共 {page.total} 条")


@app.command()
@handled
def show(ref: Annotated[str, typer.Argument(help="工单 ID 或编号")], as_json: JsonOpt = False) -> None:
    """查看工单详情、流转记录、相似工单和答复建议。"""
    d = _svc().get(ref)
    if as_json:
        print_json(d)
        return
    t = d.ticket
    out.print(f"[bold]{t.number}[/bold] {t.status_label}  {t.request_type or ''} / {t.domain or ''} → {t.department or '未分派'}")
    out.print(f"来电：{t.caller_masked or '—'}  渠道：{t.channel}  紧急程度：{t.urgency}  情绪：{t.sentiment}")
    out.print(t.text, markup=False)
    for e in d.events:
        out.print(f"  {e.seq}. {e.created_at:%Y-%m-%d %H:%M} {e.label}（{e.actor_name}）{e.note}", markup=False)
    out.print(f"答复建议：{d.suggested_reply}", markup=False)
    out.print("可执行：" + "、".join(f"{a['action']}（{a['label']}）" for a in d.allowed_actions))


@app.command()
@handled
def transition(
    ref: Annotated[str, typer.Argument(help="工单 ID 或编号")],
    action: Annotated[str, typer.Argument(help="dispatch/sign/return/redispatch/start/reply/visit/close/answer/reopen/supervise/…")],
    department: Annotated[str | None, typer.Option(help="承办部门（派单、改派）")] = None,
    reason: Annotated[str | None, typer.Option(help="原因（退单、重办、督办、延期）")] = None,
    reply: Annotated[str | None, typer.Option(help="答复内容（回复、直接答复）")] = None,
    satisfaction: Annotated[str | None, typer.Option(help="满意/基本满意/不满意（回访）")] = None,
    days: Annotated[int | None, typer.Option(help="延期工作日数")] = None,
    into: Annotated[str | None, typer.Option(help="合并到的工单")] = None,
    as_json: JsonOpt = False,
) -> None:
    """执行一次工单流转；不合法的流转会被拒绝并说明当前可执行的操作。"""
    from pydantic import ValidationError

    from haoban.apps.hotline.schemas import TransitionIn

    try:
        body = TransitionIn(action=action, department=department, reason=reason, reply=reply,
                            satisfaction=satisfaction, days=days, into=into)  # type: ignore[arg-type]
    except ValidationError as e:
        raise InvalidInput("参数不合法：" + "；".join(str(x["msg"]) for x in e.errors()), code="HOTLINE_FIELD_INVALID") from None
    t = _svc().transition(ref, body)
    print_json(t) if as_json else out.print(f"工单 {t.number} 现为“{t.status_label}”")


@app.command()
@handled
def train(as_json: JsonOpt = False) -> None:
    """用已确认标注的工单（含坐席改派、修正）训练分类与分派模型，保存为新版本。"""
    svc = _svc()
    with progress("训练分派模型") as bar:
        task = bar.add_task("train", total=None, item="")
        report = svc.train(progress=lambda d, t, item: bar.update(task, completed=d, total=t, item=item))
    if as_json:
        print_json(report)
        return
    out.print(f"模型 v{report.version}：{report.examples} 条工单，用时 {report.seconds:.1f} 秒")
    for name, f in report.fields.items():
        if "skipped" in f:
            out.print(f"  {name}：未训练（{f['skipped']}）")
            continue
        h = f.get("holdout") or {}
        out.print(f"  {name}：{len(f['classes'])} 类；留出集准确率 {h.get('accuracy', '—')}，宏 F1 {h.get('macro_f1', '—')}，ECE {h.get('ece', '—')}")


@app.command()
@handled
def classify(
    file: Annotated[Path, typer.Argument(help="每行一条诉求的文本文件，或 JSONL（取 text 字段）")],
    as_json: JsonOpt = False,
) -> None:
    """批量分类：诉求类型、领域、承办部门、置信度与命中的权责清单规则。"""
    try:
        lines = [x for x in file.read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"无法读取文件 {file}：{e}", code="HOTLINE_FILE_UNREADABLE") from None
    texts = []
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith("{"):
            try:
                texts.append(str(json.loads(line)["text"]))
            except (ValueError, KeyError, TypeError):
                raise InvalidInput(f"第 {i} 行不是含 text 字段的 JSON", code="HOTLINE_FILE_INVALID") from None
        else:
            texts.append(line.strip())
    if not texts:
        raise InvalidInput("文件中没有诉求文本", code="HOTLINE_FILE_INVALID")
    results = _svc().classify(texts)
    if as_json:
        print_json(results)
        return
    table = Table("诉求", "类型", "领域", "部门", "置信度", "复核", "规则")
    for r in results:
        table.add_row(r.text[:24], r.request_type or "", r.domain or "", r.department or "", f"{r.confidence:.2f}",
                      "是" if r.needs_review else "", ",".join(x["id"] for x in r.rules))
    out.print(table)


@app.command()
@handled
def stats(as_json: JsonOpt = False) -> None:
    """考评统计：各部门响应率、办结率、按时办结率、满意率、重办率和热点。"""
    s = _svc().stats()
    if as_json:
        print_json(s)
        return
    out.print(f"工单 {s.total} 条；待复核 {s.review_queue}，超期 {s.overdue}，临期 {s.warning}")
    table = Table("部门", "工单", "响应率", "办结率", "按时率", "满意率", "重办率", "得分")
    for d in s.departments:
        sat = f"{d.satisfaction_rate:.0%}" if d.satisfaction_rate is not None else "—"
        table.add_row(d.department, str(d.total), f"{d.response_rate:.0%}", f"{d.close_rate:.0%}",
                      f"{d.on_time_rate:.0%}", sat, f"{d.reopen_rate:.0%}", f"{d.score:.1f}")
    out.print(table)


@app.command()
@handled
def overdue(as_json: JsonOpt = False) -> None:
    """超期和临期（剩余时限不足四分之一）的未办结工单。"""
    items = _svc().overdue()
    if as_json:
        print_json(items)
        return
    for t in items:
        tag = "[red]超期[/red]" if t.sla_state == "overdue" else "[yellow]临期[/yellow]"
        out.print(f"{tag} {t.number} {t.department or '未分派'} 剩余 {t.hours_left} 小时：{t.summary[:30]}")
    if not items:
        err.print("没有超期或临期的工单。")


@app.command()
@handled
def demo() -> None:
    """导入演示工单（约 350 条）并训练分派模型；已有工单时不重复导入。"""
    svc = _svc()
    with progress("导入演示工单") as bar:
        task = bar.add_task("demo", total=None, item="")
        n = svc.load_demo(progress=lambda d, t, item: bar.update(task, completed=d, total=t, item=item))
    err.print(f"已导入 {n} 条演示工单并训练模型。" if n else "已有工单，未重复导入。")
