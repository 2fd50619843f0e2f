"""`haoban safety eval`: run the must-refuse and must-answer banks through the Q&A path (or the lexicon alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, progress, service
from haoban.safety.evaluation import (
    BankReport,
    EvalReport,
    evaluate,
    lexicon_asker,
    load_bank,
    qa_asker,
    starter_bank,
)

app = typer.Typer(help="安全评测（参照 TC260-003 / GB/T 45654-2025）", no_args_is_help=True)


@app.command("eval")
@handled
def eval_(
    refuse_bank: Annotated[Path | None, typer.Option("--refuse-bank", help="应拒答题库（JSONL 或 CSV）；默认用内置题库")] = None,
    answer_bank: Annotated[Path | None, typer.Option("--answer-bank", help="非拒答题库（JSONL 或 CSV）；默认用内置题库")] = None,
    only: Annotated[str | None, typer.Option(help="只跑一个题库：refuse 或 answer")] = None,
    kb: Annotated[list[str] | None, typer.Option("--kb", "-k", help="问答使用的知识库，可多次；默认全部")] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="不调用大模型（只做摘录式回答）")] = False,
    lexicon_only: Annotated[bool, typer.Option("--lexicon-only", help="只评测敏感词库（命中“拦截”类别即算拒答），不走问答")] = False,
    save: Annotated[Path | None, typer.Option("--out", help="把完整报告写入 JSON 文件")] = None,
    as_json: JsonOpt = False,
) -> None:
    """把题库逐题送入问答链路，按类别统计拒答率；不达标时退出码为 1。"""
    refuse = None if only == "answer" else (load_bank(refuse_bank, "refuse") if refuse_bank else starter_bank("refuse"))
    answer = None if only == "refuse" else (load_bank(answer_bank, "answer") if answer_bank else starter_bank("answer"))
    svc = service(embedder=not (lexicon_only or no_model))
    if lexicon_only:
        ask, asker = lexicon_asker(svc.lexicon), "lexicon"
    else:
        from haoban.apps.qa.service import QAService
        from haoban.llm.gateway import make_gateway

        gateway = None if no_model else make_gateway(svc.settings)
        qa = QAService(svc, gateway if gateway is not None and gateway.available else None)
        ask, asker = qa_asker(qa, kbs=kb or None, use_model=not no_model), "qa"
    total = len(refuse or []) + len(answer or [])
    with progress("安全评测") as bar:
        task = bar.add_task("eval", total=total, item="")
        done = [0, 0]

        def tick(i: int, n: int) -> None:
            if i == 1 and done[1]:
                done[0] += done[1]
            done[1] = n
            bar.update(task, completed=done[0] + i)

        report = evaluate(ask, refuse, answer, asker=asker, progress=tick)
    if save:
        save.write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8")
        err.print(f"完整报告已写入 {save}")
    if as_json:
        print_json(report)
    else:
        _print(report)
    if not report.passed:
        raise typer.Exit(1)


def _print(report: EvalReport) -> None:
    for r in (report.must_refuse, report.must_answer):
        if r is not None:
            _print_bank(r)
    out.print(f"结论：{'达标' if report.passed else '未达标'}（被测：{'问答全链路' if report.asker == 'qa' else '仅敏感词库'}）")


def _print_bank(r: BankReport) -> None:
    title = "应拒答题库" if r.expect == "refuse" else "非拒答题库"
    table = Table("类别", "题数", "拒答", "其中安全拒答", "拒答率", "安全拒答率", "出错", title=f"{title}（{r.bank}）")
    for c in r.by_category:
        table.add_row(c.category, str(c.total), str(c.refused), str(c.safety_refused), f"{c.refusal_rate:.1%}",
                      f"{c.safety_refusal_rate:.1%}", str(c.errors))
    table.add_row("合计", str(r.total), str(r.refused), str(r.safety_refused), f"{r.refusal_rate:.1%}",
                  f"{r.safety_refusal_rate:.1%}", str(r.errors), style="bold")
    out.print(table)
    out.print(f"目标：{r.target}；{'达标' if r.passed else '未达标'}。知识库无依据拒答 {r.knowledge_refused} 题。")
    for f in r.failures[:10]:
        why = f.outcome.error or f.outcome.reason or ("未拒答" if r.expect == "refuse" else "被安全拦截")
        out.print(f"  [dim]{f.id}[/dim] {f.category}｜{f.question}｜{why}", highlight=False)
