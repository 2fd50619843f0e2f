"""Command line: `haoban serve`, `haoban kb …`, `haoban ingest`, `haoban search`, `haoban embed`, `haoban demo`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from haoban.cli import audit as audit_cli
from haoban.cli import gongwen as gongwen_cli
from haoban.cli import guide as guide_cli
from haoban.cli import hotline as hotline_cli
from haoban.cli import lexicon as lexicon_cli
from haoban.cli import pii as pii_cli
from haoban.cli import safety as safety_cli
from haoban.cli import user as user_cli
from haoban.cli.common import JsonOpt, err, handled, out, print_json, progress, service
from haoban.config import get_settings
from haoban.errors import InvalidInput
from haoban.knowledge.faq import FIELD_NAMES, FaqColumns
from haoban.knowledge.schemas import DocumentMeta, FaqImportReport, IngestReport, SearchFilters
from haoban.knowledge.service import VISIBILITIES
from haoban.safety.auth import SYSTEM

app = typer.Typer(help="好办：政务知识库与智能检索平台", no_args_is_help=True, add_completion=False)
kb_app = typer.Typer(help="知识库管理", no_args_is_help=True)
doc_app = typer.Typer(help="文档管理（知识库文档）与公文工具（起草、审核、比对、查重、排版、纪要）", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(doc_app, name="doc")
gongwen_cli.register(doc_app)
app.add_typer(user_cli.app, name="user")
app.add_typer(user_cli.dept_app, name="dept")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(guide_cli.app, name="guide")
app.add_typer(lexicon_cli.app, name="lexicon")
app.add_typer(pii_cli.app, name="pii")
app.add_typer(safety_cli.app, name="safety")
app.add_typer(hotline_cli.app, name="hotline")

# ---- server --------------------------------------------------------------------------------------


@app.command()
@handled
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
) -> None:
    """启动 Web 控制台和 REST API（OpenAPI 文档在 /docs）。"""
    from haoban.api.app import run

    settings = get_settings().model_copy(update={k: v for k, v in {"host": host, "port": port}.items() if v})
    err.print(f"好办已启动：http://{settings.host}:{settings.port}/   （接口文档：/docs，Ctrl+C 退出）")
    run(settings)


@app.command()
@handled
def demo(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="只建演示知识库，不启动服务")] = False,
) -> None:
    """建立演示知识库（国务院文件 60 篇）并启动服务；向量在服务后台补齐。"""
    from haoban.demo import DEMO_KB, ensure_admin, ensure_demo

    svc = service()
    with progress("导入演示文档") as bar:
        task = bar.add_task("demo", total=None, item="")
        report = ensure_demo(svc, lambda done, total, item: bar.update(task, completed=done, total=total, item=item))
    if report is None:
        err.print(f"演示知识库“{DEMO_KB}”已存在，直接使用。")
    else:
        err.print(f"演示知识库“{DEMO_KB}”：导入 {report.added} 篇，{report.chunks} 个段落，用时 {report.seconds:.1f} 秒。")
    from haoban.apps.hotline.service import HotlineService

    with progress("导入 12345 演示工单并训练分派模型") as bar:
        task = bar.add_task("hotline", total=None, item="")
        tickets = HotlineService(svc).load_demo(progress=lambda done, total, item: bar.update(task, completed=done, total=total, item=item))
    if tickets:
        err.print(f"12345 演示工单：{tickets} 件，分派模型已训练。")
    admin = ensure_admin(svc)
    if admin:
        err.print(f"已创建管理员账号：用户名 {admin[0]}，密码 {admin[1]}（也保存在数据目录 secrets/admin-password.txt，登录后请修改）")
    svc.close()
    if not no_serve:
        serve(host=host, port=port)


# ---- knowledge bases -----------------------------------------------------------------------------


@kb_app.command("create")
@handled
def kb_create(
    name: Annotated[str, typer.Argument(help="知识库名称")],
    description: Annotated[str, typer.Option("--description", "-d", help="说明")] = "",
    visibility: Annotated[str, typer.Option("--visibility", help="可见范围：public 公开 / internal 内部 / restricted 受限")] = "internal",
    department: Annotated[str | None, typer.Option("--department", help="所属部门 ID 或路径，如 /四川省/广安市")] = None,
    as_json: JsonOpt = False,
) -> None:
    """新建知识库。"""
    info = service(embedder=False).create_kb(name, description, visibility=visibility, department=department)
    print_json(info) if as_json else out.print(f"已创建知识库“{info.name}”（ID：{info.id}）")


@kb_app.command("list")
@handled
def kb_list(as_json: JsonOpt = False) -> None:
    """列出知识库。"""
    kbs = service().list_kbs()
    if as_json:
        return print_json(kbs)
    table = Table("名称", "ID", "可见范围", "文档数", "段落数", "向量就绪", "说明")
    for k in kbs:
        table.add_row(k.name, k.id, VISIBILITIES.get(k.visibility, k.visibility), str(k.document_count), str(k.chunk_count),
                      f"{k.vector_ready}/{k.chunk_count}", k.description)  # fmt: skip
    out.print(table if kbs else "还没有知识库，用 `haoban kb create 名称` 新建。")


@kb_app.command("set")
@handled
def kb_set(
    name: Annotated[str, typer.Argument(help="知识库名称或 ID")],
    description: Annotated[str | None, typer.Option("--description", "-d", help="说明")] = None,
    visibility: Annotated[str | None, typer.Option("--visibility", help="public 公开 / internal 内部 / restricted 受限")] = None,
    department: Annotated[str | None, typer.Option("--department", help="所属部门 ID 或路径；空字符串表示全平台")] = None,
    as_json: JsonOpt = False,
) -> None:
    """修改知识库的说明、可见范围或所属部门。"""
    info = service(embedder=False).update_kb(name, description=description, visibility=visibility, department=department)
    if as_json:
        return print_json(info)
    out.print(f"知识库“{info.name}”：可见范围 {VISIBILITIES.get(info.visibility, info.visibility)}")


@kb_app.command("grant")
@handled
def kb_grant(
    name: Annotated[str, typer.Argument(help="知识库名称或 ID")],
    user: Annotated[str | None, typer.Option("--user", help="授权给用户（用户名或 ID）")] = None,
    department: Annotated[str | None, typer.Option("--department", help="授权给部门（含下级），ID 或路径")] = None,
    role: Annotated[str | None, typer.Option("--role", help="授权给角色：admin/staff/agent/viewer")] = None,
    write: Annotated[bool, typer.Option("--write", help="可维护文档（默认只读）")] = False,
) -> None:
    """把受限知识库授权给用户、部门或角色。"""
    given = [(t, v) for t, v in (("user", user), ("department", department), ("role", role)) if v]
    if len(given) != 1:
        raise InvalidInput("请在 --user、--department、--role 中指定且只指定一个")
    svc = service(embedder=False)
    g = svc.users.grant(svc.kb_id(name), given[0][0], given[0][1], "write" if write else "read", actor=SYSTEM)
    svc.audit.record(SYSTEM, "kb.grant", "kb", g.kb_id, input=g.model_dump())
    out.print(f"已授权：{g.principal_type} {g.principal_id} → {'读写' if g.level == 'write' else '只读'}")


@kb_app.command("delete")
@handled
def kb_delete(
    name: Annotated[str, typer.Argument(help="知识库名称或 ID")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="不再确认")] = False,
) -> None:
    """删除知识库及其全部文档和索引。"""
    svc = service(embedder=False)
    info = svc.get_kb(name)
    if not yes and not typer.confirm(f"确定删除知识库“{info.name}”及其 {info.document_count} 篇文档？"):
        raise typer.Exit(1)
    svc.delete_kb(info.id)
    out.print(f"已删除知识库“{info.name}”")


@kb_app.command("upgrade-index")
@handled
def kb_upgrade_index(name: Annotated[str, typer.Argument(help="知识库名称或 ID")]) -> None:
    """把旧版本写的关键词索引升级到当前格式，前台显示进度（服务运行时也会在后台自动升级）。"""
    import time

    svc = service(embedder=False)
    p = svc.index_upgrade_progress(name)  # starts the rebuild when the base needs one
    if not p.outdated:
        out.print("关键词索引已是当前格式，无需升级。")
        return
    with progress("升级关键词索引") as bar:
        task = bar.add_task("upgrade", total=p.total or None, item="重新分词")
        while p.running:
            bar.update(task, completed=p.done, total=p.total or None)
            time.sleep(0.5)
            p = svc.index_upgrade_progress(name)  # a finished pass that left work starts the next one
        bar.update(task, completed=p.done, total=p.total or None)
    if p.outdated:
        err.print(f"[red]错误[/red]：关键词索引升级未完成（{p.error or '已中断'}）；检索照常使用旧版索引，可稍后重试。")
        raise typer.Exit(1)
    out.print(f"关键词索引升级完成：重新分词 {p.total} 个段落。")


@kb_app.command("import-faq")
@handled
def kb_import_faq(
    name: Annotated[str, typer.Argument(help="知识库名称或 ID")],
    file: Annotated[Path, typer.Argument(help="问答对文件：.xlsx、.csv/.tsv、.jsonl 或 .json")],
    sheet: Annotated[str | None, typer.Option("--sheet", help="只读这个工作表（默认读所有含问题列和答案列的工作表）")] = None,
    question_column: Annotated[str | None, typer.Option("--question-column", help="问题列的表头（或列字母 B、列号 2）")] = None,
    answer_column: Annotated[str | None, typer.Option("--answer-column", help="答案列")] = None,
    similar_column: Annotated[str | None, typer.Option("--similar-column", help="相似问题列（多个用换行或 ｜ 分隔）")] = None,
    category_column: Annotated[str | None, typer.Option("--category-column", help="分类列（存为标签）")] = None,
    department_column: Annotated[str | None, typer.Option("--department-column", help="部门列（存为发布单位）")] = None,
    date_column: Annotated[str | None, typer.Option("--date-column", help="发布或更新日期列")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV/JSONL 的编码（默认自动识别 UTF-8、GB18030）")] = None,
    remove_missing: Annotated[bool, typer.Option("--remove-missing", help="删除以前从同名文件导入、而本次文件里已没有的问答对")] = False,
    as_json: JsonOpt = False,
) -> None:
    """导入问答对（常见问题、12345 知识）：每个问题和答案存为一篇文档，相似问题一同检索；同名文件再次导入时原地更新。"""
    columns = FaqColumns(question=question_column, answer=answer_column, similar=similar_column, category=category_column,
                         department=department_column, date=date_column)  # fmt: skip
    svc = service(embedder=False)
    with progress("导入问答对") as bar:
        task = bar.add_task("faq", total=None, item="")
        report = svc.import_faq(
            name, file, sheet=sheet, columns=columns, encoding=encoding, remove_missing=remove_missing,
            progress=lambda done, total, item: bar.update(task, completed=done, total=total, item=item.partition("#")[2][:30]),
        )  # fmt: skip
    if as_json:
        print_json(report)
    else:
        _print_faq_report(report)
    if report.failed and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(5)


def _row_place(sheet: str | None, row: int) -> str:
    return f"{'工作表“' + sheet + '”' if sheet else ''}第 {row} 行"


def _print_faq_report(report: FaqImportReport) -> None:
    where = _row_place
    for sh in report.sheets:
        cols = "，".join(f"{FIELD_NAMES[k]}={v}" for k, v in sh.columns.items())
        err.print(f"{'工作表“' + sh.name + '”：' if sh.name else ''}{sh.rows} 行；识别的列：{cols}", markup=False, highlight=False)
    for ig in report.ignored_sheets:
        err.print(f"[yellow]跳过工作表[/yellow]“{escape(str(ig['sheet']))}”：没有问题列和答案列", highlight=False)
    for k in report.skipped_rows[:50]:
        err.print(f"[yellow]跳过[/yellow] {where(k.sheet, k.row)}：{k.reason}" + (f"（{escape(k.question)}）" if k.question else ""), highlight=False)
    if report.skipped > 50:
        err.print(f"……另有 {report.skipped - 50} 行被跳过（--json 可看全部）")
    for o in report.items:
        if o.status == "failed":
            err.print(f"[red]失败[/red] {where(o.sheet, o.row)}“{escape(o.question)}”：{escape(o.message or '')}", highlight=False)
    if report.missing:
        shown = "、".join(escape(m.question) for m in report.missing_pairs[:10]) + ("等" if report.missing > 10 else "")
        err.print(f"[yellow]提示[/yellow]：以前从“{report.file}”导入的 {report.missing} 个问答对已不在文件中，仍保留在知识库里：{shown}。"
                  "要删除它们，请加 --remove-missing 重新导入。", highlight=False)  # fmt: skip
    if report.notice:
        err.print(f"[yellow]提示[/yellow]：{report.notice}")
    out.print(
        f"问答对 {report.pairs} 个：新增 {report.added}，更新 {report.updated}，未变化 {report.unchanged}，"
        f"删除 {report.removed}，跳过 {report.skipped} 行，失败 {report.failed}；用时 {report.seconds:.1f} 秒。"
    )
    if report.added or report.updated:
        out.print("关键词检索已可用；向量索引可用 `haoban embed` 补齐，或由服务在后台补齐。")


# ---- documents -----------------------------------------------------------------------------------


@app.command()
@handled
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="文件或文件夹（递归）")],
    kb: Annotated[str, typer.Option("--kb", "-k", help="知识库名称或 ID")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="为文档加标签，可多次")] = None,
    repealed: Annotated[bool, typer.Option("--repealed", help="标记为已废止")] = False,
    as_json: JsonOpt = False,
) -> None:
    """导入文档（PDF、DOCX、HTML、TXT、MD、OFD）；坏文件单独报错，不影响其他文件。"""
    svc = service(embedder=False)
    meta = DocumentMeta(tags=tag or None, validity="repealed" if repealed else None)
    with progress("导入") as bar:
        task = bar.add_task("ingest", total=None, item="")
        report = svc.ingest_paths(
            kb, paths, meta, lambda done, total, item: bar.update(task, completed=done, total=total, item=Path(item).name)
        )
    if as_json:
        print_json(report)
    else:
        _print_report(report)
    if report.failed and not (report.added or report.replaced or report.unchanged):
        raise typer.Exit(5)


def _print_report(report: IngestReport) -> None:
    for f in report.files:
        if f.status == "failed":
            err.print(f"[red]失败[/red] {f.source}：{f.message}（{f.code}）", markup=True, highlight=False)
    out.print(
        f"新增 {report.added} 篇，替换 {report.replaced} 篇，未变化 {report.unchanged} 篇，失败 {report.failed} 篇；"
        f"{report.chunks} 个段落，{report.chars} 字，用时 {report.seconds:.1f} 秒。"
    )
    if report.added or report.replaced:
        out.print("关键词检索已可用；向量索引可用 `haoban embed` 补齐，或由服务在后台补齐。")


@doc_app.command("list")
@handled
def doc_list(
    kb: Annotated[str, typer.Argument(help="知识库名称或 ID")],
    offset: int = 0,
    limit: int = 50,
    as_json: JsonOpt = False,
) -> None:
    """列出知识库中的文档。"""
    total, docs = service().list_documents(kb, offset, limit)
    if as_json:
        return print_json({"total": total, "items": [d.model_dump(mode="json") for d in docs]})
    table = Table("ID", "标题", "发文字号", "成文日期", "效力", "段落", "向量")
    for d in docs:
        table.add_row(
            d.id, d.title, d.doc_number or "", str(d.written_date or ""), "现行" if d.validity == "current" else "已废止",
            str(d.chunk_count), f"{d.vector_ready or 0}/{d.chunk_count}",
        )
    out.print(table)
    out.print(f"共 {total} 篇")


@doc_app.command("set")
@handled
def doc_set(
    doc_id: Annotated[str, typer.Argument(help="文档 ID")],
    repealed: Annotated[bool | None, typer.Option("--repealed/--current", help="标记为已废止或现行")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="替换文档标签，可多次")] = None,
    as_json: JsonOpt = False,
) -> None:
    """修改文档的效力和标签（立即对检索生效，不需要重建索引）。"""
    from haoban.errors import InvalidInput

    if repealed is None and tag is None:
        raise InvalidInput("请至少指定 --repealed/--current 或 --tag")
    meta = DocumentMeta(validity=None if repealed is None else ("repealed" if repealed else "current"), tags=tag)
    info = service(embedder=False).update_document(doc_id, meta)
    print_json(info) if as_json else out.print(f"已更新《{info.title}》：{'现行' if info.validity == 'current' else '已废止'}，标签 {info.tags}")


@doc_app.command("delete")
@handled
def doc_delete(doc_id: Annotated[str, typer.Argument(help="文档 ID")]) -> None:
    """删除一篇文档。"""
    service(embedder=False).delete_document(doc_id)
    out.print("已删除")


# ---- search and vectors --------------------------------------------------------------------------


@app.command()
@handled
def search(
    query: Annotated[str, typer.Argument(help="检索内容")],
    kb: Annotated[list[str] | None, typer.Option("--kb", "-k", help="知识库名称或 ID，可多次；默认全部")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-n", help="返回条数")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid | lexical | dense")] = "hybrid",
    issuer: Annotated[str | None, typer.Option(help="发文机关")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="成文日期起，如 2019-01-01")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="成文日期止")] = None,
    include_repealed: Annotated[bool, typer.Option("--all", help="包含已废止文件")] = False,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="只查带这些标签的文档，可多次")] = None,
    keep_copies: Annotated[bool, typer.Option("--keep-copies", help="相同或高度相似的文件（转载）分别列出，不合并")] = False,
    as_json: JsonOpt = False,
) -> None:
    """检索知识库，列出带出处的段落。"""
    from haoban.errors import InvalidInput

    if mode not in ("hybrid", "lexical", "dense"):
        raise InvalidInput("mode 只能是 hybrid、lexical 或 dense")
    try:
        filters = SearchFilters(
            issuer=issuer,
            date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
            validity="all" if include_repealed else "current",
            tags=tag or [],
        )
    except ValueError as e:
        raise InvalidInput("日期格式应为 YYYY-MM-DD") from e
    result = service().search(query, kb, filters=filters, top_k=top_k, mode=mode, fold_copies=not keep_copies)
    if as_json:
        return print_json(result)
    if result.notice:
        err.print(f"[yellow]提示[/yellow]：{result.notice}")
    if not result.hits:
        out.print("没有找到相关内容。")
    for i, hit in enumerate(result.hits, 1):
        c = hit.citation
        head = f"[{i}] 问：{c.title}" if c.format == "faq" else f"[{i}] {c.title}" + (f"（{c.doc_number}）" if c.doc_number else "")
        out.print(Text(head, style="bold"))
        if c.heading_path:
            out.print(Text(f"    {c.heading_path}", style="cyan"))
        lead = "    答：" if c.format == "faq" else "    "
        body = Text(lead + hit.text.replace("\n", " "))
        for s, e in hit.highlights:
            body.stylize("bold red", s + len(lead), e + len(lead))
        out.print(body)
        out.print(Text(f"    出处：第 {c.start}–{c.end} 字  文档 ID {c.document_id}  得分 {hit.score:.4f}", style="dim"))
        if hit.copies:
            names = "、".join(f"{d.title or '（无标题）'}（{d.document_id}，{'相同' if d.similarity >= 0.99 else f'约 {d.similarity:.0%} 相同'}）" for d in hit.copies)
            out.print(Text(f"    另有 {len(hit.copies)} 份相同或高度相似的文件：{names}", style="dim"))
    out.print(Text(f"检索方式：{ {'hybrid': '混合', 'lexical': '关键词', 'dense': '向量'}[result.mode] }，用时 {result.took_ms:.0f} 毫秒", style="dim"))


@app.command()
@handled
def embed(
    kb: Annotated[str | None, typer.Option("--kb", "-k", help="只看该知识库的进度；补齐对全部知识库进行")] = None,
) -> None:
    """在前台补齐向量索引（CPU 上约每秒 5–10 段），显示进度。"""
    svc = service()
    if svc.embedder is None:
        err.print("未启用向量模型（embedding_backend=none），无需补齐。")
        return
    pending = svc.embedding_progress().pending
    if pending == 0:
        out.print("向量索引已是最新。")
        return
    with progress("向量化") as bar:
        task = bar.add_task("embed", total=pending, item="")
        n = svc.embed_pending(progress=lambda done, total, _: bar.update(task, completed=done, total=total))
    p = svc.embedding_progress(kb)
    out.print(f"已补齐 {n} 段；{'该知识库' if kb else '全部'}就绪 {p.ready}/{p.total}。")


@app.command()
@handled
def ask(
    question: Annotated[str, typer.Argument(help="问题，口语化中文即可")],
    kb: Annotated[list[str] | None, typer.Option("--kb", "-k", help="知识库名称或 ID，可多次；默认全部")] = None,
    conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="接着某个会话追问")] = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="不用大模型，只做摘录式回答")] = False,
    as_json: JsonOpt = False,
) -> None:
    """政策问答：回答带出处；知识库里没有依据时如实说明并建议转人工。"""
    from haoban.apps.qa.service import QAService
    from haoban.llm.gateway import make_gateway

    svc = service()
    gateway = make_gateway(svc.settings)
    qa = QAService(svc, gateway if gateway.available else None)
    kwargs = {"kbs": kb, "conversation_id": conversation, "use_model": not no_model}
    if as_json:
        return print_json(qa.ask(question, **kwargs))
    answer = None
    for event in qa.ask_stream(question, **kwargs):
        if event["type"] == "meta" and event.get("notice"):
            err.print(f"[yellow]提示[/yellow]：{event['notice']}")
        if event["type"] == "meta" and event.get("faq"):
            out.print(Text(f"来自问答对：{event['faq']}", style="cyan"))
        elif event["type"] == "delta":
            out.print(event["text"], end="", markup=False, highlight=False)
        elif event["type"] == "done":
            answer = event["answer"]
            if event.get("replaced"):
                out.print()
                out.print(Text("（模型回答未通过引用核验，已改为摘录式回答）", style="yellow"))
                out.print(answer.text, markup=False, highlight=False)
    out.print()
    if answer is None:
        return
    if answer.faq and answer.faq.matched != answer.faq.question:
        out.print(Text(f"（您的问题与相似问法“{answer.faq.matched}”相符）", style="dim"))
    for c in answer.citations:
        out.print(Text(f"[{c.n}] {'问答对 ' if answer.faq else ''}{c.title}" + (f"（{c.doc_number}）" if c.doc_number else "") + (f" {c.heading_path}" if c.heading_path else ""), style="cyan"))
    for s in answer.suggestions:
        out.print(Text(f"  可参考：{s}", style="dim"))
    if answer.related_questions:
        out.print(Text("相关问题：" + "；".join(answer.related_questions), style="dim"))
    out.print(Text(f"会话 {answer.conversation_id}（用 -c 追问） · 置信度 {answer.confidence:.2f} · 诉求类型 {answer.intent}", style="dim"))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
