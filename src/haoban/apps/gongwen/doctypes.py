"""The 15 statutory document types (文种) of 《党政机关公文处理工作条例》(2012) 第八条, with what drafting and
review need to know about each: direction, whether an addressee (主送机关) is required, the standard closing
phrases and a short description of use.

Kept as data in ``data/doctypes.json`` so an office can adjust phrasing without touching code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel

from haoban.errors import InvalidInput


class DocType(BaseModel):
    name: str  # 通知
    aliases: list[str] = []  # 命令 for 命令（令）; 复函 counts as 函
    direction: str  # 上行 / 下行 / 平行 / 不限
    use: str  # 适用范围 in the words of the 条例
    addressee_required: bool
    endings: list[str] = []  # standard closing sentences; the first is the default
    one_matter: bool = False  # 请示：一文一事
    signer_required: bool = False  # 上行文 carry 签发人 on the masthead
    sections: list[str] = []  # the skeleton a draft of this type follows


@lru_cache(maxsize=1)
def doc_types() -> dict[str, DocType]:
    raw = json.loads(resources.files("haoban.apps.gongwen").joinpath("data/doctypes.json").read_text("utf-8"))
    return {item["name"]: DocType.model_validate(item) for item in raw}


def type_names() -> list[str]:
    return list(doc_types())


def get_type(name: str) -> DocType:
    """The type called ``name`` (or one of its aliases); InvalidInput listing the 15 types otherwise."""
    found = type_of_word(name.strip())
    if found is None:
        raise InvalidInput(
            f"不支持的文种“{name}”，可选：{'、'.join(type_names())}", code="GONGWEN_BAD_TYPE"
        )
    return found


def type_of_word(word: str) -> DocType | None:
    for doc_type in doc_types().values():
        if word == doc_type.name or word in doc_type.aliases:
            return doc_type
    return None


def type_of_title(title: str) -> DocType | None:
    """The 文种 a title ends with: "…的通知" → 通知; "…的复函" → 函. Longest ending wins (复函 before 函)."""
    title = title.strip().rstrip("。")
    best: tuple[int, DocType] | None = None
    for doc_type in doc_types().values():
        for word in (doc_type.name, *doc_type.aliases):
            if title.endswith(word) and (best is None or len(word) > best[0]):
                best = (len(word), doc_type)
    return best[1] if best else None
