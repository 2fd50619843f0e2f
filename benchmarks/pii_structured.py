"""Structured PII on a generated set: valid and invalid 身份证号, mobile numbers, bank cards, 统一社会信用代码.

Each sample is one Chinese sentence from a template, holding one value that is either valid (must be found)
or invalid (a broken check digit, impossible birth date, unknown prefix, wrong length: must not be found),
written plainly or with the variations real text has: spaces or dashes in groups, full-width digits, a
zero-width space inside the number, +86 prefixes. Sentences also carry distractors that must not be
flagged: dates, amounts, document numbers (国发〔2019〕5号), order numbers.

Scoring: a prediction is correct when its type and its span equal the gold ones exactly (positions on the
original text). Only the four structured types are scored. precision = correct / predictions,
recall = correct / valid values.

    .venv/bin/python benchmarks/pii_structured.py --n 12000 --seed 7

The last line of stdout is {"overall": {"precision", "recall"}, "<type>": {…}, …}; the full result goes to
benchmarks/results/pii_structured.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.safety import pii  # noqa: E402
from haoban.safety.pii_checks import (  # noqa: E402
    ID_PROVINCES,
    USCC_ALPHABET,
    id_check_char,
    luhn_check_digit,
    uscc_check_char,
)

TYPES = ("id_card", "mobile", "bank_card", "credit_code")
TEMPLATES = {
    "id_card": ["申请人身份证号码：{v}，请核对。", "经核实，当事人（公民身份号码{v}）已于{d}办理登记。", "证件号 {v} 对应的户籍信息已更新", "{v}是他的身份证号"],
    "mobile": ["如有疑问请拨打{v}联系王老师。", "联系电话：{v}（工作日）", "市民来电反映，回访号码为{v}，诉求已转办。", "手机{v}"],
    "bank_card": ["补贴将发放至银行卡号{v}，金额{a}元。", "请将款项转入账户 {v}（开户行：农业银行）", "社保卡金融账号{v}已激活", "卡号:{v}"],
    "credit_code": ["企业统一社会信用代码为{v}，注册资本{a}万元。", "经营主体（{v}）已完成年报公示。", "信用代码：{v}", "{v}号企业名单"],
}
DISTRACTORS = ["根据国发〔2019〕5号文件，", "截至{d}，", "合计{a}元，", "订单号{o}，", "第{n}条规定，", "", "", ""]
CARD_BINS = ["622202", "621700", "622848", "621483", "622588", "436742", "518710", "625965", "621226", "603367"]
ZW = "\u200b"


def rand_date(rng: random.Random) -> date:
    return date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))


def gen_id(rng: random.Random, valid: bool) -> str:
    region = rng.choice(sorted(ID_PROVINCES)) + f"{rng.randrange(100, 10000):04d}"
    born = rand_date(rng)
    body = region + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    check = id_check_char(body)
    if valid:
        return body + check
    how = rng.choice(["check", "check", "date", "province"])
    if how == "check":
        return body + rng.choice([c for c in "0123456789X" if c != check])
    if how == "date":
        body = body[:10] + rng.choice(["0230", "1332", "0431", "0000", "1500"]) + body[14:]
    else:
        body = rng.choice(["00", "09", "19", "20", "39", "55", "99"]) + body[2:]
    return body + id_check_char(body)


def gen_mobile(rng: random.Random, valid: bool) -> str:
    if valid:
        return "1" + rng.choice("3456789") + "".join(rng.choices("0123456789", k=9))
    how = rng.choice(["prefix", "short", "long"])
    if how == "prefix":
        return "1" + rng.choice("012") + "".join(rng.choices("0123456789", k=9))
    if how == "short":
        return "1" + rng.choice("3456789") + "".join(rng.choices("0123456789", k=8))
    return "1" + rng.choice("3456789") + "".join(rng.choices("0123456789", k=10))


def gen_card(rng: random.Random, valid: bool) -> str:
    length = rng.choice([16, 16, 19, 19, 17, 18])
    body = rng.choice(CARD_BINS) + "".join(rng.choices("0123456789", k=length - 7))
    check = luhn_check_digit(body)
    if valid:
        return body + check
    return body + rng.choice([d for d in "0123456789" if d != check])


def gen_uscc(rng: random.Random, valid: bool) -> str:
    body = rng.choice("159") + rng.choice("123") + rng.choice(["110105", "310115", "440305", "510104", "350100", "511602"])
    body += "".join(rng.choices(USCC_ALPHABET, k=9))
    check = uscc_check_char(body)
    if valid:
        return body + check
    return body + rng.choice([c for c in USCC_ALPHABET if c != check])


GEN = {"id_card": gen_id, "mobile": gen_mobile, "bank_card": gen_card, "credit_code": gen_uscc}


def dress(rng: random.Random, kind: str, v: str) -> str:
    """Write the value the way people do."""
    style = rng.random()
    if kind == "mobile" and style < 0.15:
        v = rng.choice(["+86", "+86 ", "0086"]) + v
    elif kind == "mobile" and style < 0.3 and len(v) == 11:
        sep = rng.choice([" ", "-"])
        v = f"{v[:3]}{sep}{v[3:7]}{sep}{v[7:]}"
    elif kind == "bank_card" and style < 0.3:
        v = " ".join(v[i : i + 4] for i in range(0, len(v), 4))
    elif kind == "id_card" and style < 0.1:
        v = v.lower() if v.endswith("X") else v
    style = rng.random()
    if style < 0.1:  # full-width digits and letters
        v = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in v)
    elif style < 0.2:  # a zero-width space somewhere inside
        k = rng.randrange(1, len(v))
        v = v[:k] + ZW + v[k:]
    return v


def sample(rng: random.Random, kind: str, valid: bool) -> dict:
    value = dress(rng, kind, GEN[kind](rng, valid))
    fill = {"d": rand_date(rng).strftime("%Y年%m月%d日"), "a": f"{rng.randrange(1, 10**6)}.{rng.randrange(100):02d}",
            "o": "".join(rng.choices("0123456789", k=rng.choice([12, 14, 20]))), "n": rng.randrange(1, 120)}
    prefix = rng.choice(DISTRACTORS).format(**fill)
    template = rng.choice(TEMPLATES[kind])
    head, _, tail = template.partition("{v}")
    head, tail = prefix + head.format(**fill), tail.format(**fill)
    text = head + value + tail
    gold = [{"type": kind, "start": len(head), "end": len(head) + len(value)}] if valid else []
    return {"text": text, "gold": gold, "kind": kind, "valid": valid}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12000, help="样本数（有效、无效各半，四类均分）")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pii_structured.json")
    ap.add_argument("--show-errors", type=int, default=0, help="在标准错误打印前 N 个错误")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    samples = [sample(rng, TYPES[i % 4], (i // 4) % 2 == 0) for i in range(args.n)]
    counts = {t: Counter() for t in TYPES}
    errors = []
    began = time.perf_counter()
    for s in samples:
        pred = [(p.type, p.start, p.end) for p in pii.detect(s["text"], TYPES)]
        gold = [(g["type"], g["start"], g["end"]) for g in s["gold"]]
        for g in gold:
            counts[g[0]]["gold"] += 1
            counts[g[0]]["found"] += g in pred
        for p in pred:
            counts[p[0]]["pred"] += 1
            counts[p[0]]["correct"] += p in gold
        if sorted(pred) != sorted(gold):
            errors.append({"text": s["text"], "gold": gold, "pred": pred})
    seconds = time.perf_counter() - began

    def score(c: Counter) -> dict:
        return {"precision": round(c["correct"] / c["pred"], 5) if c["pred"] else 1.0,
                "recall": round(c["found"] / c["gold"], 5) if c["gold"] else 1.0}

    total = sum(counts.values(), Counter())
    summary = {"overall": score(total)} | {t: score(counts[t]) for t in TYPES}
    for e in errors[: args.show_errors]:
        print(json.dumps(e, ensure_ascii=False), file=sys.stderr)
    full = {
        "samples": len(samples), "valid": sum(s["valid"] for s in samples), "seed": args.seed,
        "seconds": round(seconds, 2), "samples_per_second": round(len(samples) / seconds),
        "matching": "same type and exact span on the original text",
        "counts": {t: dict(counts[t]) for t in TYPES}, "errors": len(errors), "scores": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(full, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
