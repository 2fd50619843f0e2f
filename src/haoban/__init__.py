"""好办 (haoban): an open, privately deployable AI platform for government services.

Library use::

    from pathlib import Path
    from haoban import KnowledgeService
    svc = KnowledgeService()                  # settings from HAOBAN_* env / haoban.toml
    svc.create_kb("政策文件")
    svc.ingest_paths("政策文件", [Path("docs/")])
    result = svc.search("小微企业融资担保", kbs=["政策文件"])
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public names, imported on first use so `import haoban` (and the CLI start-up) stays light.
_EXPORTS = {
    "Settings": "haoban.config",
    "get_settings": "haoban.config",
    "HaobanError": "haoban.errors",
    "DocumentMeta": "haoban.knowledge.schemas",
    "SearchFilters": "haoban.knowledge.schemas",
    "SearchResult": "haoban.knowledge.schemas",
    "KnowledgeService": "haoban.knowledge.service",
    "TextItem": "haoban.knowledge.service",
    "QAService": "haoban.apps.qa.service",
    "make_gateway": "haoban.llm.gateway",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'haoban' has no attribute {name!r}")
