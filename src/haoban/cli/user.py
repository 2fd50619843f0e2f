"""`haoban user …` and `haoban dept …`: accounts, departments and API keys (run on the server as its operator)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from haoban.cli.common import JsonOpt, err, handled, out, print_json, service
from haoban.safety.auth import ROLES, SYSTEM

app = typer.Typer(help="用户、角色和 API Key", no_args_is_help=True)
dept_app = typer.Typer(help="部门（省→市→区）", no_args_is_help=True)

RolesOpt = Annotated[list[str], typer.Option("--role", "-r", help=f"角色，可多次：{'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}")]


def _password(value: str | None) -> str:
    return value or typer.prompt("密码", hide_input=True, confirmation_prompt=True)


def _audited(action: str, resource_type: str, resource_id: str | None, **detail) -> None:
    service(embedder=False).audit.record(SYSTEM, action, resource_type, resource_id, detail=detail or None)


@app.command("create")
@handled
def create(
    username: Annotated[str, typer.Argument(help="用户名（字母、数字、_.-）")],
    role: RolesOpt,
    department: Annotated[str | None, typer.Option("--department", "-d", help="部门 ID 或路径")] = None,
    name: Annotated[str, typer.Option("--name", help="姓名")] = "",
    password: Annotated[str | None, typer.Option("--password", help="不给则交互输入")] = None,
    as_json: JsonOpt = False,
) -> None:
    """新建用户。"""
    info = service(embedder=False).users.create_user(username, _password(password), role, department, name, actor=SYSTEM)
    _audited("user.create", "user", info.id, username=username, roles=info.roles)
    print_json(info) if as_json else out.print(f"已创建用户 {info.username}（{'、'.join(ROLES[r] for r in info.roles)}）")


@app.command("list")
@handled
def list_users(as_json: JsonOpt = False) -> None:
    """列出用户。"""
    users = service(embedder=False).users.list_users(actor=SYSTEM)
    if as_json:
        return print_json(users)
    table = Table("用户名", "姓名", "角色", "部门", "状态", "ID")
    for u in users:
        table.add_row(u.username, u.display_name, "、".join(ROLES.get(r, r) for r in u.roles), u.department_path or "全平台",
                      "正常" if u.active else "已停用", u.id)  # fmt: skip
    out.print(table if users else "还没有用户，用 `haoban user create 用户名 --role admin` 新建。")


@app.command("set")
@handled
def set_user(
    username: Annotated[str, typer.Argument(help="用户名或 ID")],
    role: Annotated[list[str] | None, typer.Option("--role", "-r", help="新的角色（可多次）")] = None,
    department: Annotated[str | None, typer.Option("--department", "-d", help="部门 ID 或路径；空字符串表示全平台")] = None,
    active: Annotated[bool | None, typer.Option("--active/--disabled", help="启用或停用（停用立即使其登录失效）")] = None,
    reset_password: Annotated[bool, typer.Option("--password", help="重设密码（交互输入）")] = False,
) -> None:
    """修改角色、部门、状态或密码。"""
    info = service(embedder=False).users.update_user(
        username, actor=SYSTEM, roles=role or None, department=department, active=active,
        password=_password(None) if reset_password else None,
    )  # fmt: skip
    _audited("user.update", "user", info.id, roles=role, department=department, active=active, password_reset=reset_password)
    out.print(f"已更新用户 {info.username}")


@app.command("key")
@handled
def create_key(
    username: Annotated[str, typer.Argument(help="用户名或 ID")],
    name: Annotated[str, typer.Option("--name", help="用途，如“门户网站”")],
    scope: Annotated[list[str] | None, typer.Option("--scope", "-s", help="权限范围，可多次，如 kb.read、qa.*；默认该用户全部权限")] = None,
    days: Annotated[float | None, typer.Option("--days", help="有效天数；默认不过期")] = None,
    as_json: JsonOpt = False,
) -> None:
    """为用户创建 API Key（明文只显示这一次）。"""
    info, key = service(embedder=False).users.create_api_key(username, name, scope, days, actor=SYSTEM)
    _audited("apikey.create", "api_key", info.id, user=info.user_id, scopes=info.scopes)
    if as_json:
        return print_json({"key": key, "info": info.model_dump(mode="json")})
    out.print(key)
    err.print(f"已创建 API Key“{info.name}”（{info.id}）；请立即保存，之后无法再次查看。")


@app.command("keys")
@handled
def list_keys(username: Annotated[str, typer.Argument(help="用户名或 ID")], as_json: JsonOpt = False) -> None:
    """列出用户的 API Key。"""
    keys = service(embedder=False).users.list_api_keys(username, actor=SYSTEM)
    if as_json:
        return print_json(keys)
    table = Table("名称", "ID", "前缀", "范围", "到期", "状态")
    for k in keys:
        table.add_row(k.name, k.id, k.prefix + "…", ",".join(k.scopes), str(k.expires_at or "不限"), "已吊销" if k.revoked_at else "有效")
    out.print(table)


@app.command("revoke-key")
@handled
def revoke_key(key_id: Annotated[str, typer.Argument(help="API Key 的 ID")]) -> None:
    """吊销 API Key，立即生效。"""
    info = service(embedder=False).users.revoke_api_key(key_id, actor=SYSTEM)
    _audited("apikey.revoke", "api_key", info.id)
    out.print(f"已吊销 API Key“{info.name}”")


@dept_app.command("create")
@handled
def dept_create(
    name: Annotated[str, typer.Argument(help="部门名称")],
    parent: Annotated[str | None, typer.Option("--parent", "-p", help="上级部门 ID 或路径")] = None,
) -> None:
    """新建部门。"""
    info = service(embedder=False).users.create_department(name, parent, actor=SYSTEM)
    _audited("department.create", "department", info.id, path=info.path)
    out.print(f"已创建部门 {info.path}（ID：{info.id}）")


@dept_app.command("list")
@handled
def dept_list(as_json: JsonOpt = False) -> None:
    """列出部门。"""
    depts = service(embedder=False).users.list_departments(actor=SYSTEM)
    if as_json:
        return print_json(depts)
    for d in depts:
        out.print(f"{'  ' * (d.path.count('/') - 1)}{d.name}  [dim]{d.id}[/dim]")
