"""Dates and numbers as written in 公文: Arabic and Chinese-numeral dates, amounts in words."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from haoban.knowledge.parse.metadata import chinese_number, chinese_year

_YEAR_CHARS = "〇○零Ｏ一二三四五六七八九"
_SMALL = "一二三四五六七八九十"

ARABIC_DATE = re.compile(r"(?<!\d)(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
CHINESE_DATE = re.compile(rf"(?P<y>[{_YEAR_CHARS}]{{4}})\s*年\s*(?P<m>[{_SMALL}]{{1,2}})\s*月\s*(?P<d>[{_SMALL}]{{1,3}})\s*日")
# GB/T 9704-2012 (Arabic numerals for 成文日期) came into force on 2012-07-01; earlier documents followed
# GB/T 9704-1999, which wrote the date in Chinese numerals, so those are not flagged.
ARABIC_SINCE = dt.date(2012, 7, 1)
WEEKDAYS = "一二三四五六日"


@dataclass
class DateHit:
    start: int
    end: int
    year: int
    month: int
    day: int
    chinese: bool
    text: str

    def date(self) -> dt.date | None:
        try:
            return dt.date(self.year, self.month, self.day)
        except ValueError:
            return None

    def arabic(self) -> str:
        return f"{self.year}年{self.month}月{self.day}日"


def find_dates(text: str, offset: int = 0) -> list[DateHit]:
    out: list[DateHit] = []
    for m in ARABIC_DATE.finditer(text):
        out.append(DateHit(offset + m.start(), offset + m.end(), int(m["y"]), int(m["m"]), int(m["d"]), False, m.group()))
    for m in CHINESE_DATE.finditer(text):
        y, mo, d = chinese_year(m["y"]), chinese_number(m["m"]), chinese_number(m["d"])
        if y is not None and mo is not None and d is not None:
            out.append(DateHit(offset + m.start(), offset + m.end(), y, mo, d, True, m.group()))
    return sorted(out, key=lambda h: h.start)


# Amounts: 大写 (壹万贰仟元) or 小写 Chinese numerals with 万/亿, followed by the Arabic figure in brackets.
_CN_NUM_CHARS = "零〇一二三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟两"
_CN_VALUE = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
             "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_CN_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
AMOUNT_PAIR = re.compile(
    rf"(?P<cn>[{_CN_NUM_CHARS}]{{2,20}})(?P<unit>元|万元|亿元)(?P<tail>整)?\s*[（(]\s*(?:人民币|¥|￥)?\s*"
    r"(?P<num>\d[\d,，]*(?:\.\d+)?)\s*(?P<unit2>元|万元|亿元)?\s*[）)]"
)


def cn_number(text: str) -> int | None:
    """壹拾贰万叁仟 → 123000; 二十五 → 25. None when it is not a well-formed number."""
    total, section, digit = 0, 0, None
    for c in text:
        if c in _CN_VALUE:
            if digit is not None and digit != 0:
                return None  # two digits in a row: not a number word
            digit = _CN_VALUE[c]
        elif c in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[c]
            digit = None
        elif c in _CN_BIG:
            section += digit or 0
            total = (total + section) * _CN_BIG[c] if c == "亿" else total + section * _CN_BIG[c]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)
