"""智能排版 benchmark: the 60 State Council documents through parse_text → render_docx → LibreOffice PDF →
the programmatic GB/T 9704 checks of haoban.apps.gongwen.layout_check.

Data: ../shared/data/govdocs_statecouncil_govcn/data.jsonl (field ``text``), official documents of the State
Council and its General Office as published on www.gov.cn/zhengce (not subject to copyright under Art. 5 of
the PRC Copyright Law; see SOURCE.txt there). Read only, never copied into the repository.

Reports the share of documents passing each check and all of them, mean lines per full page and character
widths per full line, and render times (DOCX and PDF separately). Progress goes to stderr; the last stdout
line is one JSON object, also written to --out.

    nice .venv/bin/python benchmarks/layout.py                 # all 60, ~5 minutes on 2 cores
    nice .venv/bin/python benchmarks/layout.py --limit 10 --out /tmp/layout.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean, median

from haoban.apps.gongwen.document import parse_text
from haoban.apps.gongwen.layout import LayoutOptions, render_docx
from haoban.apps.gongwen.layout_check import check_pdf, docx_to_pdf, soffice

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "govdocs_statecouncil_govcn" / "data.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=0, help="只测前 N 篇（0 为全部）")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "layout.json")
    ap.add_argument("--keep", type=Path, default=None, help="把 DOCX 和 PDF 留在这个目录")
    args = ap.parse_args()
    if soffice() is None:
        sys.exit("未安装 LibreOffice（soffice）：先运行 scripts/install-system-deps.sh")
    rows = [json.loads(line) for line in args.data.read_text("utf-8").splitlines() if line.strip()]
    if args.limit:
        rows = rows[: args.limit]
    options = LayoutOptions(fonts="substitute")  # the Debian stand-ins, see layout.DEBIAN_FONT_MAP
    per_doc = []
    check_names: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="haoban-bench-layout-") as tmp:
        profile = Path(tmp) / "profile"
        docx_to_pdf(render_docx(parse_text(rows[0]["text"]), options=options), profile_dir=profile)  # warm-up
        for n, row in enumerate(rows):
            t0 = time.perf_counter()
            doc = parse_text(row["text"])
            docx = render_docx(doc, options=options)
            t1 = time.perf_counter()
            pdf = docx_to_pdf(docx, profile_dir=profile)
            t2 = time.perf_counter()
            order = bool(doc.issuer_mark and doc.issuer_mark.text.endswith("令"))
            report = check_pdf(pdf, has_masthead=bool(doc.issuer_mark), has_record=bool(doc.cc or doc.printer),
                               has_title=doc.title is not None,
                               has_rule=not order and bool(doc.issuer_mark or doc.doc_number),
                               mark_top_mm=20.0 if order else 35.0)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / f"{row['id']}.docx").write_bytes(docx)
                (args.keep / f"{row['id']}.pdf").write_bytes(pdf)
            check_names |= set(report.checks)
            per_doc.append({
                "id": row["id"], "chars": len(row["text"]), "pages": report.pages, "passed": report.passed,
                "checks": report.checks, "failures": report.failures[:5], "full_pages": report.full_pages,
                "lines_per_full_page": report.lines_per_full_page, "chars_per_full_line": report.chars_per_full_line,
                "hanging_punctuation": report.hanging_punctuation, "docx_seconds": t1 - t0, "pdf_seconds": t2 - t1,
            })
            print(f"[{n + 1}/{len(rows)}] {row['id']} {len(row['text'])} 字 {report.pages} 页 "
                  f"{'通过' if report.passed else '未通过 ' + '; '.join(report.failures[:2])} "
                  f"docx {t1 - t0:.2f}s pdf {t2 - t1:.2f}s", file=sys.stderr)
    lines = [x for d in per_doc for x in d["lines_per_full_page"]]
    chars = [x for d in per_doc for x in d["chars_per_full_line"]]
    result = {
        "documents": len(per_doc),
        "pass_rate": round(mean(d["passed"] for d in per_doc), 4),
        "check_pass_rate": {
            name: round(mean(d["checks"].get(name, True) for d in per_doc), 4) for name in sorted(check_names)
        },
        "pages_total": sum(d["pages"] for d in per_doc),
        "full_pages": len(lines),
        "mean_lines_per_full_page": round(mean(lines), 3) if lines else None,
        "full_lines": len(chars),
        "mean_chars_per_full_line": round(mean(chars), 3) if chars else None,
        "max_chars_per_full_line": max(chars) if chars else None,
        "hanging_punctuation_marks": sum(d["hanging_punctuation"] for d in per_doc),
        "docx_seconds_mean": round(mean(d["docx_seconds"] for d in per_doc), 4),
        "docx_seconds_p50": round(median(d["docx_seconds"] for d in per_doc), 4),
        "pdf_seconds_mean": round(mean(d["pdf_seconds"] for d in per_doc), 3),
        "pdf_seconds_p50": round(median(d["pdf_seconds"] for d in per_doc), 3),
        "failed": [{"id": d["id"], "failures": d["failures"]} for d in per_doc if not d["passed"]],
        "fonts": "substitute (Noto Serif/Sans CJK SC, AR PL UKai CN)",
        "machine": {"python": platform.python_version(), "loadavg": list(__import__("os").getloadavg())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
