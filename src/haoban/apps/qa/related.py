"""Questions worth asking next, made from the knowledge base itself (no model).

The retrieved passages that were not cited are turned into questions by what their heading names:
a section heading → “《标题》中关于“降低担保费率”有哪些规定？”; an article without a name → its
first sentence's subject, “《标题》第五条规定了什么？”; otherwise the document itself. The asked
question, repeats and near-repeats are left out.
"""

from __future__ import annotations

import re

from haoban.apps.qa.extract import heading_label
from haoban.knowledge.schemas import SearchHit
from haoban.text.normalize import normalize

COUNT = 3
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零〇两\d]+条$")
_PUNCT = re.compile(r"[\s\W_]+")


def _key(text: str) -> str:
    return _PUNCT.sub("", normalize(text))


def _short_title(title: str, limit: int = 40) -> str:
    title = title.strip()
    return title if len(title) <= limit else title[: limit - 1] + "…"


def question_for(hit: SearchHit) -> str:
    c = hit.citation
    title = _short_title(c.title or "该文件")
    label = heading_label(c.heading_path)
    if label and not _ARTICLE.match(label) and 2 <= len(label) <= 30:
        return f"《{title}》中关于“{label}”有哪些规定？"
    if label:
        return f"《{title}》{label}规定了什么？"
    return f"《{title}》的主要内容是什么？"


def related_questions(
    question: str, hits: list[SearchHit], cited_chunks: set[str], count: int = COUNT
) -> list[str]:
    """Up to `count` distinct questions from the hits not cited in the answer (cited ones come last)."""
    asked = _key(question)
    ordered = [h for h in hits if h.chunk_id not in cited_chunks] + [
        h for h in hits if h.chunk_id in cited_chunks
    ]
    out: list[str] = []
    seen = {asked}
    for hit in ordered:
        q = question_for(hit)
        k = _key(q)
        if k in seen or (asked and (asked in k or k in asked)):
            continue
        seen.add(k)
        out.append(q)
        if len(out) == count:
            break
    if len(out) < count:
        # Too few distinct headings: fall back to the documents themselves.
        for hit in ordered:
            q = f"《{_short_title(hit.citation.title or '该文件')}》的主要内容是什么？"
            k = _key(q)
            if k not in seen:
                seen.add(k)
                out.append(q)
                if len(out) == count:
                    break
    return out


def document_suggestions(hits: list[SearchHit], count: int = COUNT) -> list[str]:
    """Titles of the closest documents, for a refusal: 《标题》（文号）."""
    out: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        c = hit.citation
        if c.document_id in seen:
            continue
        seen.add(c.document_id)
        out.append(f"《{c.title}》" + (f"（{c.doc_number}）" if c.doc_number else ""))
        if len(out) == count:
            break
    return out
