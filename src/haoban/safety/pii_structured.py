"""Structured PII by regex + validation: ID numbers, phones, bank cards, credit codes, e-mail, plates, passports.

Patterns run on normalised text (see `normalize_with_map`); callers map spans back to the original.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from haoban.safety.pii_checks import known_bin, luhn_ok, valid_id15, valid_id18, valid_uscc

# Zero-width and soft-hyphen characters people (or copy-paste) put inside numbers.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f")
# Dashes of every width count as a separator inside phone and card numbers.
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－"), "-")


class Hit(NamedTuple):
    type: str
    start: int
    end: int
    confidence: float


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC per character (full-width → ASCII), invisible characters dropped, dashes unified.

    Returns the normalised text and, for each of its characters, the index of the original character.
    Case is kept: passport and plate letters are matched case-insensitively by the patterns.
    """
    if text.isascii():
        return text, list(range(len(text)))
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        n = unicodedata.normalize("NFKC", ch).translate(_DASHES) if not ("\u4e00" <= ch <= "\u9fff") else ch
        out.append(n)
        index.extend([i] * len(n))
    return "".join(out), index


_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_SEP = r"[ \-]?"

_ID18 = re.compile(_NOT_ALNUM_BEFORE + r"[1-9]\d{5} ?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?\d{3}[\dXx]" + _NOT_ALNUM_AFTER)
_ID15 = re.compile(_NOT_ALNUM_BEFORE + r"[1-9]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}" + _NOT_ALNUM_AFTER)
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[ \-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _NOT_ALNUM_AFTER
)
# Area codes: 010, 02x, 0[3-9]xx; optional brackets; local number 7–8 digits; optional extension.
_LANDLINE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\+|00)86[ \-]?)?(?:\(0\d{2,3}\)|0(?:10|2\d|[3-9]\d{2}))[ \-]?[2-9]\d{2,3}[ \-]?\d{4}"
    r"(?:(?:转|-|ext\.?)\d{1,5})?" + _NOT_ALNUM_AFTER
)
_SERVICE_LINE = re.compile(_NOT_ALNUM_BEFORE + r"[48]00[ \-]?\d{3}[ \-]?\d{4}" + _NOT_ALNUM_AFTER)
_CARD = re.compile(_NOT_ALNUM_BEFORE + r"\d(?:[ \-]?\d){15,18}" + _NOT_ALNUM_AFTER)
_USCC = re.compile(_NOT_ALNUM_BEFORE + r"[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}\d{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10}" + _NOT_ALNUM_AFTER)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9])"
)
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Za-hj-np-z"
_PLATE = re.compile(
    rf"[{_PROVINCES}][{_PLATE_LETTER}][·• ]?(?:"
    rf"[DFdf][{_PLATE_LETTER}0-9]\d{{4}}"  # new-energy, small car: D/F + 5
    rf"|\d{{5}}[DFdf]"  # new-energy, large vehicle
    rf"|[{_PLATE_LETTER}0-9]{{4}}[{_PLATE_LETTER}0-9挂学警港澳领试超使]"  # ordinary 5 characters
    r")" + _NOT_ALNUM_AFTER
)
# Ordinary passports E/G + 8 digits, new e-passports E + letter + 7 digits, diplomatic/service DE/SE/PE + 7.
_PASSPORT = re.compile(
    _NOT_ALNUM_BEFORE + r"(?:[EeGg]\d{8}|[Ee][A-HJ-NP-Za-hj-np-z]\d{7}|[DdSsPp][Ee]\d{7})" + _NOT_ALNUM_AFTER
)
# Amount, percentage and year units right after a number mean it is not an identifier.
_UNIT_AFTER = re.compile(r"\s*(?:元|万|亿|%|％|年|美元|人民币|次|个|件|吨|公里|千米|米)")
_CARD_CUE = re.compile(r"(?:卡号|银行卡|借记卡|信用卡|储蓄卡|账号|帐号|账户|帐户|户号)\s*[:：]?\s*$")
# Numbers introduced as order, serial or document numbers are not personal identifiers.
_OTHER_NUMBER_CUE = re.compile(r"(?:订单号|订单编号|单号|流水号|交易号|编号|批次号|工单号|运单号|发票号码|发票代码|文号|序列号|条码|合同号)\s*[:：]?\s*$")
_ID_CUE = re.compile(r"(?:身份证|公民身份号码|证件号)")
_PHONE_CUE = re.compile(r"(?:电话|手机|座机|联系方式|拨打|致电|来电|号码为|tel|Tel|TEL)\s*[:：]?\s*$")
# Cue words anywhere near a number (before or after), per type, for numbers whose shape alone is ambiguous.
_NEAR_CUES = {
    "id_card": re.compile(r"身份证|公民身份号码|证件号"),
    "bank_card": re.compile(r"卡号|银行卡|借记卡|信用卡|储蓄卡|账号|帐号|账户|帐户|开户"),
    "credit_code": re.compile(r"信用代码|社会信用|组织机构|注册号|纳税人识别号|税号"),
    "phone": re.compile(r"电话|手机|拨打|致电|来电|联系方式|号码为"),
}


def _near(text: str, start: int, end: int) -> set[str]:
    window = text[max(0, start - 16) : start] + "|" + text[end : end + 8]
    return {kind for kind, rx in _NEAR_CUES.items() if rx.search(window)}

# Cheap pre-check: nothing below can match without a digit, '@' or a plate province character.
_TRIGGER = re.compile(rf"[0-9@{_PROVINCES}]")


def _digits(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", s)


def _followed_by_unit(text: str, end: int) -> bool:
    return bool(_UNIT_AFTER.match(text, end))


def _cued(cue: re.Pattern[str], text: str, start: int) -> bool:
    return bool(cue.search(text, max(0, start - 12), start))


def find_structured(text: str) -> list[Hit]:
    """All structured hits in normalised text; overlaps are resolved later by the caller."""
    if not text or not _TRIGGER.search(text):
        return []
    hits: list[Hit] = []
    id_like: set[tuple[int, int]] = set()
    for m in _ID18.finditer(text):
        id_like.add(m.span())
        if valid_id18(m.group().replace(" ", "")):
            hits.append(Hit("id_card", m.start(), m.end(), 0.99))
    for m in _ID15.finditer(text):
        if valid_id15(m.group()) and not _followed_by_unit(text, m.end()) and not _cued(_OTHER_NUMBER_CUE, text, m.start()):
            # No check digit: any 15-digit number with a plausible date passes, so a cue raises confidence.
            hits.append(Hit("id_card", m.start(), m.end(), 0.9 if _ID_CUE.search(text, max(0, m.start() - 16), m.start()) else 0.6))
    for m in _USCC.finditer(text):
        code = m.group()
        if not code.isdigit() or m.span() not in id_like:
            id_shaped = code[:17].isdigit() and code[17] in "0123456789Xx"
            weak = id_shaped and "credit_code" not in (near := _near(text, m.start(), m.end())) and bool(near)
            # An all-digit code that is also a Luhn-valid card of a known issuer reads as a card unless a
            # credit-code cue says otherwise (e.g. "请转入6222…": a transfer, not a company).
            card_shaped = code.isdigit() and known_bin(code) and luhn_ok(code) and "credit_code" not in _near(text, m.start(), m.end())
            if valid_uscc(code) and not (code.isdigit() and valid_id18(code)) and not weak and not card_shaped:
                hits.append(Hit("credit_code", m.start(), m.end(), 0.97 if not code.isdigit() else 0.9))
    for m in _MOBILE.finditer(text):
        if not _followed_by_unit(text, m.end()):
            hits.append(Hit("mobile", m.start(), m.end(), 0.95))
    for rx in (_LANDLINE, _SERVICE_LINE):
        for m in rx.finditer(text):
            if not _followed_by_unit(text, m.end()):
                has_sep = any(c in m.group() for c in " -()")
                cue = _cued(_PHONE_CUE, text, m.start())
                hits.append(Hit("landline", m.start(), m.end(), 0.9 if has_sep or cue else 0.75))
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if not (16 <= len(digits) <= 19) or not luhn_ok(digits) or _followed_by_unit(text, m.end()):
            continue
        cue = _cued(_CARD_CUE, text, m.start())
        if not cue and _cued(_OTHER_NUMBER_CUE, text, m.start()):
            continue
        near = _near(text, m.start(), m.end())
        if not cue and "bank_card" not in near and near & {"id_card", "phone", "credit_code"}:
            continue  # introduced as an ID or phone number whose check failed: a typo, not a card
        if known_bin(digits) or cue:
            conf = 0.95 if cue else 0.9
        elif len(digits) == 18 and _ID18.fullmatch(digits) or len(digits) not in (16, 19):
            continue  # no issuer prefix, no cue, unusual length or shaped like an ID: too weak to call a card
        else:
            conf = 0.6
        hits.append(Hit("bank_card", m.start(), m.end(), conf))
    for m in _EMAIL.finditer(text):
        hits.append(Hit("email", m.start(), m.end(), 0.98))
    for m in _PLATE.finditer(text):
        hits.append(Hit("license_plate", m.start(), m.end(), 0.9))
    for m in _PASSPORT.finditer(text):
        hits.append(Hit("passport", m.start(), m.end(), 0.85))
    return hits
