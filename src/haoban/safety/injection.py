"""Text that tries to give orders to a model ("忽略以上指令…"), whether in a question or in a document.

Such sentences never answer a policy question: the sentence picker skips them and the generative path
leaves them out of the evidence it shows the model (which is also fenced off and declared to be data).
"""

from __future__ import annotations

import re

_PATTERNS = [
    r"(忽略|无视|忘记|忘掉|不要理会|不再遵守|跳过)(掉)?(你的|你)?(以上|之前|前面|上面|上述|此前|先前|前述|所有|全部|一切|任何|原有|原来|系统)?的?"
    r"(所有|全部|一切)?的?(指令|指示|提示词?|规则|要求|设定|约束|限制|命令|内容)",
    r"(你现在是|现在你是|从现在起你|从现在开始你|请你扮演|你将扮演|假装你是|你的新(身份|角色|任务))",
    r"(系统提示词?|system\s*prompt|developer\s*mode|开发者模式|越狱|jailbreak)",
    r"ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|preceding)\s+(instructions|prompts|rules|messages)",
    r"disregard\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above)",
    r"(输出|打印|泄露|告诉我|显示)(你的)?(系统|初始|原始)?(提示词|指令|prompt)",
    r"(请|必须|务必)?(只|仅)?(回答|回复|输出)[“\"'‘「]([^”\"'’」]{1,40})[”\"'’」](即可)?[，,。]?$",
]
INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def looks_like_injection(text: str) -> bool:
    return bool(INJECTION.search(text))


def strip_injection(text: str) -> str:
    """The text without its instruction-like sentences (what is left is asked as usual)."""
    from haoban.text.sentences import split_sentences

    kept = [text[s:e] for s, e in split_sentences(text) if not looks_like_injection(text[s:e])]
    return "".join(kept).strip()
