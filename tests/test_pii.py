"""PII detection and masking: validators (property tests), structured types, names/addresses, bad input,
the pseudonym vault (real SQLite, real key file) and the CLI."""

from __future__ import annotations

import json
import os
import stat
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import make_settings
from haoban.errors import Forbidden, InvalidInput, TextTooLong
from haoban.knowledge.service import KnowledgeService
from haoban.safety import pii
from haoban.safety.auth import ANONYMOUS, SYSTEM, Actor
from haoban.safety.pii_checks import (
    ID_PROVINCES,
    USCC_ALPHABET,
    id_check_char,
    luhn_check_digit,
    luhn_ok,
    uscc_check_char,
    valid_id15,
    valid_id18,
    valid_uscc,
)
from haoban.safety.vault import PiiService, PiiVaultEntry

# ---- generators for property tests ---------------------------------------------------------------

provinces = st.sampled_from(sorted(ID_PROVINCES))
birthdays = st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1))
digits = st.text("0123456789", min_size=1, max_size=1)


@st.composite
def id18(draw) -> str:
    body = draw(provinces) + draw(st.text("0123456789", min_size=4, max_size=4)) + draw(birthdays).strftime("%Y%m%d")
    body += draw(st.text("0123456789", min_size=3, max_size=3))
    return body + id_check_char(body)


@st.composite
def card(draw) -> str:
    bin_ = draw(st.sampled_from(["622202", "621700", "622848", "436742", "518710", "625965"]))
    body = bin_ + draw(st.text("0123456789", min_size=9, max_size=12))
    return body + luhn_check_digit(body)


@st.composite
def uscc(draw) -> str:
    body = draw(st.sampled_from("159Y")) + draw(st.sampled_from("123")) + draw(provinces) + draw(st.text("0123456789", min_size=4, max_size=4))
    body += draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return body + uscc_check_char(body)


def types_found(text: str, kinds=None) -> list[tuple[str, str]]:
    return [(s.type, s.text) for s in pii.detect(text, kinds)]


@hsettings(max_examples=300, deadline=None)
@given(id18())
def test_valid_ids_always_detected(value: str) -> None:
    assert valid_id18(value)
    assert types_found(f"身份证号{value}，", ["id_card"]) == [("id_card", value)]


@hsettings(max_examples=300, deadline=None)
@given(id18(), st.sampled_from("0123456789X"))
def test_mutated_id_check_never_an_id(value: str, check: str) -> None:
    if check == value[-1]:
        return
    mutated = value[:-1] + check
    assert not valid_id18(mutated)
    assert not any(t == "id_card" for t, _ in types_found(f"身份证号{mutated}，"))


@hsettings(max_examples=300, deadline=None)
@given(card())
def test_valid_cards_always_detected(value: str) -> None:
    assert luhn_ok(value)
    assert types_found(f"请转入{value}。", ["bank_card"]) == [("bank_card", value)]


def test_an_all_digit_number_valid_as_card_and_credit_code_follows_its_cue() -> None:
    value = "622202233444557718"  # found by hypothesis: Luhn-valid with a known BIN, and a valid USCC
    assert types_found(f"请转入{value}。") == [("bank_card", value)]
    assert types_found(f"统一社会信用代码：{value}。") == [("credit_code", value)]


@hsettings(max_examples=300, deadline=None)
@given(card(), digits)
def test_mutated_card_check_never_detected(value: str, d: str) -> None:
    if d == value[-1]:
        return
    mutated = value[:-1] + d
    assert not luhn_ok(mutated)
    assert types_found(f"请转入{mutated}。", ["bank_card"]) == []


@hsettings(max_examples=300, deadline=None)
@given(uscc())
def test_valid_credit_codes_always_detected(value: str) -> None:
    assert valid_uscc(value)
    assert types_found(f"统一社会信用代码：{value}", ["credit_code"]) == [("credit_code", value)]


@hsettings(max_examples=300, deadline=None)
@given(uscc(), st.sampled_from(USCC_ALPHABET))
def test_mutated_credit_code_never_detected(value: str, c: str) -> None:
    if c == value[-1]:
        return
    assert types_found(f"统一社会信用代码：{value[:-1] + c}", ["credit_code"]) == []


def test_checks_on_known_values() -> None:
    # The example number of GB 11643 and a 15-digit legacy number with a real date.
    assert valid_id18("11010519491231002X")
    assert not valid_id18("110105194912310021")
    assert not valid_id18("110105194902300020")  # 2月30日
    assert not valid_id18("990105194912310028")  # no such province
    assert valid_id15("110105491231002")
    assert not valid_id15("110105491332002")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert valid_uscc("91350100M000100Y43")
    assert not valid_uscc("91350100M000100Y44")


# ---- structured types in context -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请拨打13812345678。", [("mobile", "13812345678")]),
        ("电话：+86 138-1234-5678", [("mobile", "+86 138-1234-5678")]),
        ("0086 13912345678 转人工", [("mobile", "0086 13912345678")]),
        ("办公室电话 010-62751234", [("landline", "010-62751234")]),
        ("座机（0571）87654321", [("landline", "(0571)87654321")]),
        ("服务热线400-810-1234", [("landline", "400-810-1234")]),
        ("邮箱 zhang.san@example.gov.cn 已登记", [("email", "zhang.san@example.gov.cn")]),
        ("车牌京A12345违停", [("license_plate", "京A12345")]),
        ("新能源车粤B·D12345和沪AD12345", [("license_plate", "粤B·D12345"), ("license_plate", "沪AD12345")]),
        ("护照号码E12345678", [("passport", "E12345678")]),
        ("护照EA1234567已签发", [("passport", "EA1234567")]),
    ],
)
def test_structured_examples(text: str, expected: list[tuple[str, str]]) -> None:
    got = [(s.type, s.text) for s in pii.detect(text, pii.STRUCTURED_TYPES)]
    # Spans are reported on the original text: the full-width bracket stays as written.
    assert [(t, v.replace("(", "（").replace(")", "）")) for t, v in got] == [
        (t, v.replace("(", "（").replace(")", "）")) for t, v in expected
    ]


@pytest.mark.parametrize(
    "text",
    [
        "根据国发〔2019〕5号文件执行",
        "2019年12月31日前完成，合计12345678元",
        "第十二条第3款，见附件2",
        "订单号6222021234567890128已发货",  # a Luhn-valid number introduced as an order number
        "金额 13812345678 元",  # followed by an amount unit
        "文件编号20230501123456789",
        "版本 1.3.8.1234.5678",
        "GB/T 2260-2007 与 ISO 7064:2003",
    ],
)
def test_not_personal_information(text: str) -> None:
    assert pii.detect(text, pii.STRUCTURED_TYPES) == []


def test_full_width_and_zero_width_spans_on_original() -> None:
    text = "手机１３８１２３４５６７８，证号1101\u200b0519491231002X。"
    spans = pii.detect(text, ["mobile", "id_card"])
    assert [(s.type, s.text) for s in spans] == [("mobile", "１３８１２３４５６７８"), ("id_card", "1101\u200b0519491231002X")]
    for s in spans:
        assert text[s.start : s.end] == s.text
    masked = pii.mask(text, "partial", ["mobile", "id_card"]).text
    assert masked == "手机１３８****５６７８，证号110***********002X。"


# ---- masking styles ------------------------------------------------------------------------------


def test_partial_masking_examples() -> None:
    assert pii.partial("id_card", "11010519491231002X") == "110***********002X"
    assert pii.partial("mobile", "13812345678") == "138****5678"
    assert pii.partial("mobile", "+86 138-1234-5678") == "+86 138-****-5678"
    assert pii.partial("name", "张三") == "张*"
    assert pii.partial("name", "欧阳修文") == "欧阳**"
    assert pii.partial("bank_card", "6222021234567890128") == "6222***********0128"
    assert pii.partial("email", "zhangsan@example.com") == "z*******@example.com"
    assert pii.partial("address", "北京市海淀区中关村大街27号") == "北京市海淀区********"
    assert pii.partial("landline", "010-62751234") == "010-****1234"


def test_tag_style_and_default_types() -> None:
    text = "联系人：王小明，手机13912345678，单位：北京市公安局。"
    result = pii.mask(text, "tag")
    assert result.text == "联系人：[姓名]，手机[手机号]，单位：北京市公安局。"
    assert {s.type for s in result.spans} == {"name", "mobile"}
    # Organisations are detected when asked for, but not masked by default.
    assert any(s.type == "organization" for s in pii.detect(text))
    assert "[机构名称]" in pii.mask(text, "tag", "organization").text


def test_names_and_addresses() -> None:
    text = "投诉人李建国反映，其住址为四川省广安市广安区建设路18号3单元502室，张女士和欧阳娜娜也在场。"
    got = {(s.type, s.text) for s in pii.detect(text)}
    assert ("name", "李建国") in got
    assert ("name", "欧阳娜娜") in got
    assert ("name", "张") in got  # 张女士: the surname is all there is
    assert ("address", "四川省广安市广安区建设路18号3单元502室") in got


def test_place_names_detected_not_masked() -> None:
    text = "北京市和上海市的落户政策有什么不同？"
    assert {s.text for s in pii.detect(text) if s.type == "place"} >= {"北京市", "上海市"}
    assert pii.mask(text).text == text


def test_types_parsing() -> None:
    assert pii.parse_types("mobile, 身份证号") == ("mobile", "id_card")
    with pytest.raises(InvalidInput):
        pii.parse_types("mobile,shoe_size")
    with pytest.raises(InvalidInput):
        pii.mask("x", "blur")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        pii.mask("x", "pseudonym")


# ---- bad input -----------------------------------------------------------------------------------


def test_empty_and_blank_input() -> None:
    assert pii.detect("") == []
    assert pii.mask("   \n").text == "   \n"


def test_mixed_scripts_and_emoji() -> None:
    text = "Hello 世界 😀 call 13812345678 or 邮件 a@b.cn — مرحبا"
    result = pii.mask(text, "tag")
    assert result.text == "Hello 世界 😀 call [手机号] or 邮件 [电子邮箱] — مرحبا"


def test_long_input_is_linear_and_capped() -> None:
    import time

    text = ("市民反映小区噪音扰民，联系电话13812345678。" * 4000)[:100_000]
    began = time.perf_counter()
    result = pii.mask(text, "partial")
    assert time.perf_counter() - began < 30
    assert result.text.count("138****5678") == text.count("13812345678")
    digits_only = "1" * 200_000  # one long run of digits: no backtracking blow-up, nothing found
    assert pii.detect(digits_only, pii.STRUCTURED_TYPES) == []
    with pytest.raises(TextTooLong):
        pii.detect("字" * (pii.MAX_CHARS + 1))


def test_non_string_rejected() -> None:
    with pytest.raises(InvalidInput):
        pii.detect(None)  # type: ignore[arg-type]


# ---- vault ---------------------------------------------------------------------------------------


@pytest.fixture
def pii_service(service: KnowledgeService) -> PiiService:
    return PiiService.from_service(service)


def test_pseudonyms_are_stable_encrypted_and_reversible(pii_service: PiiService, service: KnowledgeService) -> None:
    text = "张三的手机13812345678，张三的身份证11010519491231002X。"
    first = pii_service.mask(text, "pseudonym", actor=SYSTEM)
    tokens = [s.replacement for s in first.spans]
    assert tokens[0] == tokens[2]  # the same name twice: the same token
    assert all(pii.LABELS[s.type] in s.replacement for s in first.spans)
    assert "13812345678" not in first.text and "张三" not in first.text
    # The same number written differently still maps to the same token.
    again = pii_service.mask("电话 138-1234-5678", "pseudonym", "mobile", actor=SYSTEM)
    assert again.spans[0].replacement == tokens[1]
    # Values are encrypted at rest.
    with service.db.session() as s:
        rows = s.execute(select(PiiVaultEntry)).scalars().all()
    assert len(rows) == 3
    assert all("13812345678" not in r.ciphertext and "张三" not in r.ciphertext for r in rows)
    back = pii_service.unmask(first.text, actor=SYSTEM)
    assert back.text == text and back.restored == 4 and back.unknown == []


def test_key_file_is_private_and_needed(pii_service: PiiService, service: KnowledgeService, tmp_path) -> None:
    key = service.settings.data_dir / "secrets" / "pii.key"
    assert key.exists()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    masked = pii_service.mask("李四 13912345678", "pseudonym", actor=SYSTEM).text
    # Another deployment (another key) over the same database cannot read the values back.
    other = PiiService(service.db, b"another-key")
    result = other.unmask(masked, actor=SYSTEM)
    assert result.restored == 0 and len(result.unknown) == 2 and result.text == masked


def test_unknown_tokens_kept(pii_service: PiiService) -> None:
    result = pii_service.unmask("请联系【姓名#ABCD】", actor=SYSTEM)
    assert result.text == "请联系【姓名#ABCD】" and result.unknown == ["【姓名#ABCD】"]


def test_unmask_needs_permission_and_is_audited(pii_service: PiiService, service: KnowledgeService) -> None:
    masked = pii_service.mask("王五 13712345678", "pseudonym", actor=SYSTEM).text
    agent = Actor(id="u1", name="坐席甲", kind="user", roles=frozenset({"agent"}))
    assert pii_service.mask("王五 13712345678", "tag", actor=agent).text == "[姓名] [手机号]"
    with pytest.raises(Forbidden):
        pii_service.unmask(masked, actor=agent)
    with pytest.raises(Forbidden):
        pii_service.mask("王五", actor=ANONYMOUS)
    entries = list(service.audit.iter_all())
    actions = [(e.action, e.result) for e in entries]
    assert ("pii.unmask", "denied") in actions
    assert actions.count(("pii.mask", "ok")) >= 2
    # The audit log holds the masked text only.
    assert not any("13712345678" in (e.input_preview or "") for e in entries)


# ---- CLI -----------------------------------------------------------------------------------------


def test_cli_mask_unmask(tmp_path, monkeypatch) -> None:
    from haoban.cli import app
    from haoban.config import get_settings

    settings = make_settings(tmp_path)
    monkeypatch.setenv("HAOBAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("HAOBAN_EMBEDDING_BACKEND", "none")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["pii", "mask", "张三 13812345678"])
        assert r.exit_code == 0, r.output
        assert "张* 138****5678" in r.stdout
        src = tmp_path / "in.txt"
        src.write_text("身份证号11010519491231002X", encoding="gb18030")
        r = runner.invoke(app, ["pii", "mask", "-f", str(src), "--style", "pseudonym", "--json"])
        assert r.exit_code == 0, r.output
        masked = json.loads(r.stdout)["text"]
        assert "【身份证号#" in masked
        r = runner.invoke(app, ["pii", "unmask", masked, "--json"])
        assert json.loads(r.stdout)["text"] == "身份证号11010519491231002X"
        r = runner.invoke(app, ["pii", "mask", "x", "--style", "blur"])
        assert r.exit_code == 2 and "partial" in r.stderr
        r = runner.invoke(app, ["pii", "mask", "-f", str(tmp_path / "missing.txt")])
        assert r.exit_code == 2 and "无法读取文件" in r.stderr
        r = runner.invoke(app, ["pii", "mask", "x", "--types", "shoe"])
        assert r.exit_code == 2 and "未知的个人信息类型" in r.stderr
    finally:
        get_settings.cache_clear()


def test_policy_text_has_no_false_names() -> None:
    # Ordinary policy wording that jieba's dictionary tags as person names (nr).
    text = "要严格执行制度，杜绝形式主义，培养高素质劳动者，发展普惠性学前教育，建立健全体育竞赛管理机制，提高智能化水平。"
    assert [s.text for s in pii.detect(text, ["name"])] == []
    assert pii.mask(text).text == text


@pytest.mark.parametrize(
    "question",
    [
        "遇到沙尘暴我该怎么办", "沙尘暴来了怎么办", "申请人需要提交什么材料", "温易是什么", "吹风机余温易引发火灾吗",
        "北京市安全迎汛工作重点是什么？", "迎汛责任制包括哪些种类？", "养犬年检怎么收费？", "如何完成幼升小入学信息采集？",
        "劳动人事争议仲裁申请书应当载明哪些事项？", "如何通过支付宝APP查询个人住房公积金情况？", "2021年工伤保险待遇计发基数是多少？",
        "上海市出台了哪些防疫和惠企政策？", "如何预约结婚登记？（微信端）", "如果宗地较大，应先办理土地分割登记", "围棋段位赛报备需要哪些材料？",
        "我是平谷区峪口镇村民，集体土地所有权证发给谁？", "Health Kit（健康宝）如何查疫苗接种记录？",
    ],
)
def test_citizen_questions_have_no_false_names(question: str) -> None:
    # Words of citizen questions that the name rules once took for person names (govqa questions).
    assert [s.text for s in pii.detect(question, ["name"])] == []


@pytest.mark.parametrize(
    ("question", "masked"),
    [
        ("我叫张三，想问社保怎么交", "我叫[姓名]，想问社保怎么交"),
        ("王小明的孩子上学需要什么", "[姓名]的孩子上学需要什么"),
        ("申请人：李建国，需要提交什么材料", "申请人：[姓名]，需要提交什么材料"),
        ("小胡和凤霞想办理结婚登记", "[姓名]和[姓名]想办理结婚登记"),
    ],
)
def test_real_names_in_questions_still_masked(question: str, masked: str) -> None:
    assert pii.mask(question, "tag").text == masked


def test_benchmark_interface(tmp_path) -> None:
    """benchmarks/pii.py on a small NER file: unknown types ignored, last stdout line is the fixed JSON."""
    import subprocess
    import sys
    from pathlib import Path

    rows = [
        {"text": "记者王建国报道，北京市海淀区的小学开学。", "entities": [
            {"type": "PER", "start": 2, "end": 5, "text": "王建国"},
            {"type": "LOC", "start": 8, "end": 14, "text": "北京市海淀区"},
            {"type": "book", "start": 0, "end": 2, "text": "记者"},
        ]},
        {"text": "投诉人李秀英反映问题。", "entities": [{"type": "person", "start": 3, "end": 6, "text": "李秀英"}]},
    ]
    data = tmp_path / "ner.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "result.json"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "pii.py"), "--data", str(data), "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(last) == {"name", "address", "organization"}
    assert last["name"] == {"precision": 1.0, "recall": 1.0}
    assert last["address"]["recall"] == 1.0
    assert json.loads(out.read_text(encoding="utf-8"))["ignored_types"] == {"book": 1}


def test_legacy_15_digit_id() -> None:
    assert types_found("身份证号码：110105491231002", ["id_card"]) == [("id_card", "110105491231002")]
    assert types_found("订单号110105491231002", ["id_card"]) == []


def test_hotline_style_message() -> None:
    text = "市民王女士来电反映：她家住在广安区建设路小区，车牌川X12345，邮箱li.si@163.com。"
    assert pii.mask(text).text == "市民王女士来电反映：她家住在广安区*****，车牌川X****5，邮箱l****@163.com。"
    assert pii.mask(text, "tag").text == "市民[姓名]女士来电反映：她家住在[地址]，车牌[车牌号]，邮箱[电子邮箱]。"


@pytest.mark.parametrize(
    "question",
    [
        # govqa questions whose ordinary words the address rules once took for addresses.
        "北京市的泥石流易发区主要分布在哪里？", "城市道路排水责任区域是怎么划分的？", "传染病医院或传染病区每床日加收多少？",
        "东城区、西城区和通州区白实线道路停车位纳入电子收费", "市政道路与居民楼之间的距离？",
        "如何领取医保电子凭证？（医保北京微信公众号）", "没有中关村高新技术企业证书但有国家高新技术企业证书，可以申报吗？",
        "中关村示范区科技型小微企业研发费用支持政策在什么地方可以看到？",
        # policyqa: districts, zones, generic roads and offices are places or common nouns, not addresses.
        "北京市海淀区有哪些减免中小微企业房租和物业费的政策？", "广州市20家产业园区共计减免租金补贴金额达到多少？",
        "疫情期间，长三角铁路是如何售票的？", "门头沟区信访办公室收信地址是什么？", "自然保护区内可以建房吗？",
    ],
)
def test_citizen_questions_have_no_false_addresses(question: str) -> None:
    assert [s.text for s in pii.detect(question, ["address"])] == []
    assert pii.mask(question, "tag").text == question


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我住在朝阳区望京街道花家地小区3号楼2单元501", "我住在[地址]"),
        ("海淀区中关村大街27号的房子能落户吗", "[地址]的房子能落户吗"),
        ("我家在花家地小区3号楼2单元501室，物业不管", "我家在[地址]，物业不管"),
        ("家住河南省新乡市红旗区，社保在哪交", "家住[地址]，社保在哪交"),  # cued: a person's address
        ("天津市宝坻区石桥工业园区科创路10号", "[地址]"),
    ],
)
def test_real_addresses_still_masked(text: str, masked: str) -> None:
    assert pii.mask(text, "tag").text == masked


def test_bare_area_and_district_names_are_places() -> None:
    got = {(s.type, s.text) for s in pii.detect("中关村和北京市海淀区的政策一样吗", ["address", "place"])}
    assert got >= {("place", "中关村"), ("place", "北京市海淀区")}
    assert not any(t == "address" for t, _ in got)
