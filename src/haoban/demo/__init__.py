"""The demo knowledge base: 60 State Council documents shipped with the package (see SOURCE.md)."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources

from haoban.errors import NotFound
from haoban.knowledge.schemas import DocumentMeta, IngestReport
from haoban.knowledge.service import KnowledgeService, Progress, TextItem

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
    try:
        service.get_kb(DEMO_KB)
        return None
    except NotFound:
        service.create_kb(DEMO_KB, "演示：中国政府网公开的国务院及国务院办公厅文件 60 篇")
    return service.add_texts(DEMO_KB, demo_items(), progress=progress)
