"""智能比对的速度：长稿轻改、两篇无关文档，以及生成修订稿 DOCX。

数据：../shared/data/govdocs_statecouncil_govcn/data.jsonl 的国务院公文原文（国家机关公文依《著作权法》第五条
不受著作权保护；只读）。轻改稿把原文拼到约 10 万字后，改动 1% 的句子中的一个字、删一句、挪一句、末尾加一句。

    .venv/bin/python benchmarks/compare.py            # 写 benchmarks/results/compare.json

进度写到 stderr；stdout 最后一行是结果 JSON。
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from haoban.apps.gongwen.compare import compare, compare_docx
from haoban.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "govdocs_statecouncil_govcn" / "data.jsonl"


def timed(fn, *args):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    out = fn(*args)
    return out, round(time.perf_counter() - start, 3)


def main() -> None:
    texts = [json.loads(line)["text"] for line in DATA.read_text("utf-8").splitlines() if line.strip()]
    rng = random.Random(7)
    corpus = "\n".join(texts)
    old = corpus[:100_000]
    sentences = [old[a:b] for a, b in split_sentences(old)]
    # Each sentence keeps the text up to the next one (newlines included), so joining gives the text back.
    starts = [a for a, _ in split_sentences(old)] + [len(old)]
    pieces = [old[starts[i] : starts[i + 1]] for i in range(len(starts) - 1)]
    new = list(pieces)
    for k in rng.sample(range(len(new)), max(1, len(new) // 100)):
        if len(new[k]) > 4:
            new[k] = new[k][:2] + "某" + new[k][3:]
    moved = new.pop(len(new) // 3)
    new.insert(len(new) // 2, moved)
    del new[len(new) // 4]
    new.append("本办法自印发之日起施行。")
    new_text = old[: starts[0]] + "".join(new)
    print(f"{len(old)} 字，{len(sentences)} 句", file=sys.stderr)
    report, light = timed(compare, [old, new_text])
    a, b = texts[0][:9000], texts[1][:9000]
    _, unrelated = timed(compare, [a, b])
    _, docx = timed(compare_docx, old[:20_000], new_text[:20_000])
    result = {
        "chars": len(old),
        "sentences": len(sentences),
        "light_edit_seconds": light,
        "light_edit_summary": report.summary.model_dump(),
        "unrelated_9k_seconds": unrelated,
        "revision_docx_20k_seconds": docx,
    }
    out = ROOT / "benchmarks" / "results" / "compare.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
