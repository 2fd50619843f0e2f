"""Check-digit and validity rules for structured identifiers (pure functions, no regexes)."""

from __future__ import annotations

from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11; the remainder picks the check character.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits of the administrative division code (GB/T 2260), incl. 71 台湾, 81 香港, 82 澳门.
ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

# GB 32100-2015: 31-character alphabet without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 登记管理部门代码 (first character) as listed in the standard.
USCC_DEPARTMENTS = frozenset("123456789ANY")


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _valid_date(y: int, m: int, d: int, min_year: int) -> bool:
    if y < min_year:
        return False
    try:
        born = date(y, m, d)
    except ValueError:
        return False
    return born <= date.today()


def valid_id18(s: str) -> bool:
    """18-digit resident ID: province prefix, a real birth date not in the future, check character."""
    if len(s) != 18 or not s[:17].isdigit() or s[:2] not in ID_PROVINCES:
        return False
    if not _valid_date(int(s[6:10]), int(s[10:12]), int(s[12:14]), 1880):
        return False
    return id_check_char(s[:17]) == s[17].upper()


def valid_id15(s: str) -> bool:
    """Legacy 15-digit ID (issued before 1999): two-digit year 19yy, no check character."""
    if len(s) != 15 or not s.isdigit() or s[:2] not in ID_PROVINCES:
        return False
    return _valid_date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]), 1900)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = int(c)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes body+digit pass Luhn."""
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError("unreachable")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def valid_uscc(s: str) -> bool:
    """统一社会信用代码: department code, 6-digit region code (digits 3–8), GB 32100 check character."""
    s = s.upper()
    if len(s) != 18 or s[0] not in USCC_DEPARTMENTS or not s[2:8].isdigit():
        return False
    # Characters 3–8 are the registering authority's division code: a province prefix, or 10 for national level.
    if s[2:4] not in ID_PROVINCES and s[2:4] != "10":
        return False
    if any(c not in USCC_ALPHABET for c in s):
        return False
    return uscc_check_char(s[:17]) == s[17]


# Issuer identification numbers seen on cards issued in China (UnionPay 62, Visa 4, Mastercard 51–55 and
# 2221–2720, JCB 3528–3589, domestic debit 60/65/68/9x); a hit raises confidence, a miss does not exclude.
def known_bin(digits: str) -> bool:
    if digits[:2] in ("62", "60", "65", "68", "94", "95", "99") or digits[0] == "4":
        return True
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720" or "3528" <= digits[:4] <= "3589":
        return True
    return False
