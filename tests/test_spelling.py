"""Offline spelling checker (错别字检查) for 公文 review.

Fixtures are written for this file (not taken from the benchmark data). The checker is statistical,
so the "finds" cases use typos that leave no plausible reading of the original; the "leaves alone"
cases are ordinary official prose, names, numbers and codes.
"""

from __future__ import annotations

import time

import pytest

from haoban.apps.gongwen.spelling import Correction, SpellChecker, get_spell_checker


@pytest.fixture(scope="module")
def checker() -> SpellChecker:
    return get_spell_checker()


# None of these misspelt strings occurs in the ECSpell training files (checked with grep).
FINDS = [
    ("请各单位认真贯切落实。", "切", "彻"),
    ("要加强对食品安全的监官。", "官", "管"),
    ("进一步提高行政效率和服务质里。", "里", "量"),
    ("要做好疫情方控工作，确保人民群众生命安全。", "方", "防"),
]


@pytest.mark.parametrize(("text", "wrong", "right"), FINDS)
def test_finds_real_typos(checker: SpellChecker, text: str, wrong: str, right: str) -> None:
    found = checker.check(text)
    assert any(c.wrong == wrong and c.suggestion == right for c in found), found
    c = next(c for c in found if c.wrong == wrong)
    assert text[c.start : c.end] == c.wrong
    assert 0.0 <= c.confidence <= 1.0
    assert "应为" in c.reason


def test_correct_applies_fix(checker: SpellChecker) -> None:
    assert checker.correct("请各单位认真贯切落实。") == "请各单位认真贯彻落实。"


CLEAN = [
    "国务院关于进一步优化营商环境更好服务市场主体的实施意见",
    "各省、自治区、直辖市人民政府，国务院各部委、各直属机构：",
    "现将有关事项通知如下。",
    "要坚持以人民为中心的发展思想，着力解决群众急难愁盼问题。",
    "本通知自印发之日起施行。",
    "各地区、各部门要结合实际认真贯彻落实。",
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_untouched(checker: SpellChecker, text: str) -> None:
    assert checker.check(text) == []
    assert checker.correct(text) == text


def test_positions_map_to_original_with_mixed_text(checker: SpellChecker) -> None:
    # Full-width digits/letters, ASCII, an emoji (one code point, two UTF-16 units) before the typo.
    prefix = "２０２４年ABC公司😀第3季度，"
    text = prefix + "请各单位认真贯切落实。"
    found = checker.check(text)
    hit = [c for c in found if c.suggestion == "彻"]
    assert hit, found
    c = hit[0]
    assert text[c.start : c.end] == "切"
    assert c.start == len(prefix) + text[len(prefix) :].index("切")


def test_typo_in_later_sentence_of_long_text(checker: SpellChecker) -> None:
    text = "".join(CLEAN) + "\n" + "要做好疫情方控工作。"
    found = checker.check(text)
    assert [(text[c.start : c.end], c.suggestion) for c in found] == [("方", "防")]


def test_empty_and_non_chinese(checker: SpellChecker) -> None:
    assert checker.check("") == []
    assert checker.correct("") == ""
    for text in (
        "   \n\t",
        "Hello, world! 12345",
        "GB/T 9704-2012",
        "😀😀",
        "2024年3月5日",
        "国发〔2024〕12号",
    ):
        assert checker.check(text) == [], text


def test_numbers_and_english_left_alone(checker: SpellChecker) -> None:
    text = "2023年全市GDP增长5.2%，完成投资1.8万亿元，ISO 9001认证企业达到326家。"
    assert checker.check(text) == []


def test_proper_names_not_corrected(checker: SpellChecker) -> None:
    text = "会议由张建国同志主持，李晓红、王志刚、刘德华同志出席，地点在北京市海淀区。"
    assert checker.check(text) == []


def test_repeated_term_is_not_a_typo(checker: SpellChecker) -> None:
    # The same unusual string twice in one document is taken as a term the author means.
    once = "请各单位认真贯切落实。"
    assert any(c.wrong == "切" for c in checker.check(once))
    assert not any(c.wrong == "切" for c in checker.check(once * 2))


def test_long_input(checker: SpellChecker) -> None:
    # 100k characters of repeated prose: must work and keep positions valid (repeats are scored once).
    text = ("".join(CLEAN) + "\n") * (100_000 // len("".join(CLEAN)) + 1)
    text = text[:100_000]
    found = checker.check(text)
    assert all(text[c.start : c.end] == c.wrong for c in found)


def test_speed_on_varied_text(checker: SpellChecker) -> None:
    # ~5,000 characters with no repeated sentence: the speed a real document gets.
    parts, n = [], 0
    while sum(map(len, parts)) < 5000:
        parts.append(f"第{n}项：" + CLEAN[n % len(CLEAN)][: 10 + n % 17] + "。")
        n += 1
    text = "".join(parts)
    start = time.process_time()
    checker.check(text)
    assert time.process_time() - start < 3.0


def test_correction_model_is_typed() -> None:
    c = Correction(start=0, end=1, wrong="切", suggestion="彻", confidence=0.9, reason="音近字误用")
    assert c.model_dump()["suggestion"] == "彻"
    with pytest.raises(ValueError):
        Correction(start=0, end=1, wrong="a", suggestion="b", confidence=1.5, reason="")


def test_checker_is_cached() -> None:
    assert get_spell_checker() is get_spell_checker()
