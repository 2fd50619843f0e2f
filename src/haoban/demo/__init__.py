"""The demo knowledge base: 60 State Council documents shipped with the package (see SOURCE.md)."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from importlib import resources

from haoban.apps.guide import ensure_demo_catalogue
from haoban.errors import NotFound
from haoban.knowledge.schemas import DocumentMeta, IngestReport
from haoban.knowledge.service import KnowledgeService, Progress, TextItem
from haoban.safety.auth import SYSTEM

DEMO_KB = "国务院政策文件"
_DATE = re.compile(r"(\d{4})\D+(\d{1,2})\D+(\d{1,2})")


def _date(value: str | None) -> date | None:
    m = _DATE.search(value or "")
    return date(int(m[1]), int(m[2]), int(m[3])) if m else None


def demo_items() -> list[TextItem]:
    items = []
    raw = (resources.files("haoban.demo") / "statecouncil.jsonl").read_text(encoding="utf-8")
    for line in raw.splitlines():
        row = json.loads(line)
        topic = [t for t in re.split(r"[、/]", row.get("topic") or "") if t]
        meta = DocumentMeta(
            title=row["title"],
            issuer=row.get("issuer") or None,
            doc_number=row.get("doc_number") or None,
            written_date=_date(row.get("written_date")),
            publish_date=_date(row.get("publish_date")),
            tags=topic,
            url=row.get("url") or None,
        )
        items.append(TextItem(text=row["text"], source=f"govcn:{row['id']}", meta=meta))
    return items


def ensure_demo(service: KnowledgeService, progress: Progress | None = None) -> IngestReport | None:
    """Create and fill the demo base once; later runs find it and change nothing."""
    ensure_demo_catalogue(service)  # the 办事指南 demo catalogue, when the catalogue is empty
    try:
        service.get_kb(DEMO_KB)
        return None
    except NotFound:
        # Public: the demo is what a citizen portal shows, so visitors may search and ask without logging in.
        service.create_kb(DEMO_KB, "演示：中国政府网公开的国务院及国务院办公厅文件 60 篇", visibility="public")
    return service.add_texts(DEMO_KB, demo_items(), progress=progress)


def ensure_admin(service: KnowledgeService) -> tuple[str, str] | None:
    """On a platform without any user, create the administrator `admin` with a random password.

    The password is also written to data_dir/secrets/admin-password.txt (mode 0600) so the operator can find it
    again; change it after the first login (`haoban user set admin --password`)."""
    if service.users.count_users():
        return None
    password = f"{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"  # always letters, digits and a symbol
    service.users.create_user("admin", password, ["admin"], display_name="系统管理员", actor=SYSTEM)
    path = service.settings.data_dir / "secrets" / "admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    service.audit.record(SYSTEM, "user.create", "user", "admin", detail={"bootstrap": True})
    return "admin", password
