"""`haoban guide …`: the 办事 assistant from the command line (catalogue import/export, match, checklist,
pre-check, enterprise policy matching). Commands act as the local operator (SYSTEM)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, service
from haoban.errors import HaobanError, InvalidInput

app = typer.Typer(help="智能办事助手：事项目录、办事匹配、材料清单、预审、惠企政策", no_args_is_help=True)

AnswerOpt = Annotated[
    list[str] | None, typer.Option("--answer", "-a", help="情形条件，如 -a 户籍地=外地，可多次使用")
]


def _guide(model: bool = False):
    from haoban.apps.guide.service import GuideService

    svc = service(embedder=False)
    gateway = None
    if model:
        from haoban.llm.gateway import make_gateway

        gateway = make_gateway(svc.settings)
    return GuideService(svc, gateway)


def _answers(values: list[str] | None) -> dict[str, str]:
    out_: dict[str, str] = {}
    for v in values or []:
        if "=" not in v:
            raise InvalidInput(f"情形条件“{v}”格式应为 键=值，如 户籍地=外地", code="GUIDE_ANSWER_FORMAT")
        k, _, val = v.partition("=")
        out_[k.strip()] = val.strip()
    return out_


@app.command("import")
@handled
def import_(
    path: Annotated[
        Path, typer.Argument(help="目录文件（.json / .csv / .xlsx）", exists=True, dir_okay=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """导入事项目录（全部校验通过才写入；有错误时逐行列出，不导入任何内容）。"""
    from haoban.apps.guide.catalogue import format_of

    g = _guide()
    try:
        report = g.import_catalogue(path.read_bytes(), format_of(path))
    except HaobanError as e:
        if e.code == "GUIDE_IMPORT_INVALID" and e.detail:
            for row in e.detail:
                sheet = f"[{row['sheet']}] " if row.get("sheet") else ""
                err.print(
                    f"{sheet}第 {row['row']} 行 {row.get('code') or ''}：{row['message']}", markup=False
                )
        raise
    if as_json:
        return print_json(report)
    out.print(
        f"已导入：事项 {report.items}、一件事 {report.bundles}、惠企政策 {report.policies}、同义词 {report.aliases}（新增 {report.created}，更新 {report.updated}）"
    )


@app.command("export")
@handled
def export(
    path: Annotated[Path, typer.Argument(help="输出文件（按扩展名 .json / .csv / .xlsx 决定格式）")],
) -> None:
    """导出事项目录。"""
    from haoban.apps.guide.catalogue import format_of

    data = _guide().export_catalogue(format_of(path))
    path.write_bytes(data)
    out.print(f"已导出到 {path}（{len(data)} 字节）")


@app.command("demo")
@handled
def demo() -> None:
    """导入随软件分发的演示事项目录（目录为空时）。"""
    g = _guide()
    report = g.load_demo()
    s = g.stats()
    out.print("事项目录已存在，未重复导入。" if report is None else "已导入演示事项目录。")
    out.print(
        f"事项 {s['items']} 项（{s['departments']} 个部门），一件事 {s['bundles']} 件，惠企政策 {s['policies']} 条"
    )


@app.command("items")
@handled
def items(
    department: Annotated[str | None, typer.Option("--department", "-d", help="按实施部门筛选")] = None,
    as_json: JsonOpt = False,
) -> None:
    """列出事项。"""
    rows = _guide().list_items(department)
    if as_json:
        return print_json(rows)
    table = Table("编码", "事项名称", "部门", "类型", "对象")
    for r in rows:
        table.add_row(r.code, r.name, r.department, r.item_type, r.subject)
    out.print(table if rows else "事项目录为空，用 `haoban guide demo` 或 `haoban guide import 文件` 导入。")


@app.command("match")
@handled
def match(
    query: Annotated[str, typer.Argument(help="口语化的办事需求，如“我刚生了孩子要办什么”")],
    answer: AnswerOpt = None,
    top: Annotated[int, typer.Option("--top", "-k", help="返回条数")] = 5,
    model: Annotated[bool, typer.Option("--model/--no-model", help="配置了大模型时用它辅助判断意图")] = False,
    as_json: JsonOpt = False,
) -> None:
    """把口语化的需求匹配到事项或“一件事”，并给出还需确认的问题。"""
    r = _guide(model).match(query, _answers(answer), k=top, use_model=model)
    if as_json:
        return print_json(r)
    if r.expanded:
        err.print(f"识别到：{'、'.join(r.expanded)}")
    table = Table("#", "类别", "编码", "名称", "部门", "得分")
    for i, c in enumerate(r.candidates, 1):
        table.add_row(
            str(i),
            "一件事" if c.kind == "bundle" else "事项",
            c.code,
            c.name + (f"（情形：{c.situation}）" if c.situation else ""),
            c.department,
            f"{c.score:.2f}",
        )
    out.print(table if r.candidates else "没有找到相关事项，可拨打 12345 咨询。")
    for q in r.questions:
        out.print(f"需要确认：{q.text}（{' / '.join(q.options)}）→ 用 -a {q.key}=… 再查一次")


@app.command("checklist")
@handled
def checklist(
    code: Annotated[str, typer.Argument(help="事项或一件事编码")],
    answer: AnswerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """个性化材料清单（一件事会合并共用材料）。"""
    c = _guide().checklist(code, _answers(answer))
    if as_json:
        return print_json(c)
    out.print(
        f"[bold]{c.name}[/bold]" + (f"  情形：{'；'.join(c.situation.values())}" if c.situation else "")
    )
    table = Table("材料", "形式", "份数", "来源", "必要", "说明")
    for m in c.materials:
        table.add_row(
            m.name,
            m.form,
            str(m.count),
            m.source,
            "是" if m.required else "按需",
            m.condition or ("；".join(m.items) if c.kind == "bundle" else ""),
        )
    out.print(table)
    for s in c.steps:
        out.print(f"· {s}")
    if c.promised_days is not None:
        out.print(
            f"承诺时限：{'即办' if c.promised_days == 0 else f'{c.promised_days} 个工作日'}；渠道：{'、'.join(c.channels)}"
        )
    if c.shared_saved:
        out.print(f"共享材料少交 {c.shared_saved} 份")
    for q in c.unresolved:
        out.print(f"尚需确认：{q.text}（{' / '.join(q.options)}）")


@app.command("precheck")
@handled
def precheck(
    code: Annotated[str, typer.Argument(help="事项或一件事编码")],
    have: Annotated[list[str] | None, typer.Option("--have", help="已准备的材料名称，可多次使用")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="表单字段，如 -f id_number=110105…")
    ] = None,
    answer: AnswerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """智能预审：缺哪些材料、哪些信息填得不对（身份证号校验、日期、必填项）。"""
    r = _guide().precheck(code, answers=_answers(answer), provided=have or [], fields=_answers(field))
    if as_json:
        print_json(r)
    else:
        out.print("[green]预审通过[/green]" if r.passed else "[red]预审未通过[/red]")
        for f in r.findings:
            out.print(f"· {f.message}")
    if not r.passed:
        raise typer.Exit(1)


@app.command("policy")
@handled
def policy(
    profile: Annotated[
        Path,
        typer.Argument(
            help="企业画像 JSON 文件（industry、size、area、established、revenue、headcount、qualifications …）",
            exists=True,
            dir_okay=False,
        ),
    ],
    drafts: Annotated[bool, typer.Option("--drafts", help="包含未审核的政策")] = False,
    as_json: JsonOpt = False,
) -> None:
    """惠企政策匹配：逐条说明满足或不满足的条件。"""
    from pydantic import ValidationError

    from haoban.apps.guide.schemas import EnterpriseProfile

    try:
        p = EnterpriseProfile.model_validate(json.loads(profile.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as exc:
        raise InvalidInput(f"企业画像文件不合法：{str(exc)[:300]}", code="GUIDE_PROFILE_INVALID") from None
    matches = _guide().match_policies(p, include_drafts=drafts)
    if as_json:
        return print_json(matches)
    for m in matches:
        mark = (
            "[green]符合[/green]"
            if m.eligible
            else (
                "[yellow]待补充信息[/yellow]"
                if not any(c.passed is False for c in m.checks)
                else "[red]不符合[/red]"
            )
        )
        out.print(f"{mark} {m.name}{'（免申即享）' if m.exempt_application else ''}：{m.benefit}")
        for c in m.checks:
            sign = {True: "✓", False: "✗", None: "?"}[c.passed]
            out.print(f"    {sign} {c.label}：{c.explanation}", markup=False)
