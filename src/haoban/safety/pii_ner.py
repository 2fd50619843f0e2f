"""Person names, places, detailed addresses and organisations, offline: jieba POS tags plus rules.

Signals: jieba's `nr`/`nrt`/`nrfg` (names), `ns` (places), `nt` (organisations); a surname list and
common given-name characters for names jieba splits apart; transliteration characters for foreign names
("丹尼斯·霍珀"); address suffixes (省/市/区/县/街道/路/号/小区/室…) to grow places into detailed
addresses; organisation suffixes (公司/局/委员会/医院/学校…); context cues (姓名：, 联系人, 住址…).
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache, lru_cache
from importlib import resources
from typing import NamedTuple

import jieba

from haoban.safety.pii_structured import Hit

jieba.setLogLevel(logging.WARNING)

_DATA = resources.files("haoban.safety") / "data"
_lock = threading.Lock()


class Tok(NamedTuple):
    word: str
    flag: str
    start: int
    end: int


def _chars(name: str) -> list[str]:
    lines = (_DATA / name).read_text(encoding="utf-8").splitlines()
    return [w for line in lines if line.strip() and not line.startswith("#") for w in line.split()]


@cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames)."""
    words = _chars("surnames.txt")
    return frozenset(w for w in words if len(w) == 1), frozenset(w for w in words if len(w) == 2)


@cache
def given_chars() -> frozenset[str]:
    return frozenset(_chars("given_chars.txt"))


@cache
def foreign_chars() -> frozenset[str]:
    return frozenset(_chars("foreign_chars.txt"))


@cache
def word_list(name: str) -> frozenset[str]:
    """A data file as a set of words (places.txt, place_stop.txt, name_stop.txt)."""
    return frozenset(_chars(name))


@cache
def _pos():
    """jieba POS tagger over the project's tokenizer (domain dictionary included); loaded once."""
    from jieba import posseg

    from haoban.text.segment import _tokenizer

    with _lock:
        return posseg.POSTokenizer(_tokenizer())


def warm_up() -> None:
    _pos()
    surnames()
    for name in ("places.txt", "place_stop.txt", "name_stop.txt"):
        word_list(name)


def _known(word: str) -> int:
    return _pos().tokenizer.FREQ.get(word) or 0


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    for pair in _pos().cut(text):
        w = pair.word
        toks.append(Tok(w, pair.flag, pos, pos + len(w)))
        pos += len(w)
    return toks


_CJK = re.compile(r"[\u3400-\u9fff]+")
_NAME_TAGS = {"nr", "nrt", "nrfg"}
# Conjunctions, prepositions, adverbs, pronouns, particles…: a surname character with these tags is a word.
_FUNCTION_TAGS = frozenset({"c", "p", "d", "r", "u", "uj", "ul", "uz", "uv", "ud", "ug", "y", "e", "o", "f", "q", "m", "zg"})
# Admin-level endings make a place; detail endings make an address.
_ADMIN_END = ("特别行政区", "自治区", "自治州", "自治县", "省", "市", "区", "县", "旗", "盟", "州", "镇", "乡")
_DETAIL_END = (
    "街道", "大街", "大道", "胡同", "社区", "小区", "花园", "公寓", "大厦", "广场", "家园", "新村", "号楼",
    "单元", "路", "街", "巷", "弄", "里", "号", "栋", "幢", "座", "层", "楼", "室", "村", "组", "屯", "苑", "庄", "湾",
)
# Endings that can open an address on their own (a road, a compound), unlike 号/室/楼 which only continue one.
_START_END = ("街道", "大街", "大道", "胡同", "社区", "小区", "花园", "公寓", "大厦", "家园", "新村", "路", "街", "巷", "弄", "村", "屯", "苑")
# Words that extend a place into an area of it ("德国北部", "阿富汗西部地区", "台儿庄地区").
_AREA_WORDS = frozenset({"东部", "西部", "南部", "北部", "中部", "东南部", "西南部", "东北部", "西北部", "地区", "一带", "境内", "市区", "城区", "郊区", "沿海", "边境"})
_NUM_TOK = re.compile(r"^[0-9a-zA-Z一二三四五六七八九十百零〇两\-]+$")
_ORG_END = (
    "有限责任公司", "股份有限公司", "有限公司", "公司", "集团", "银行", "委员会", "管理局", "人民政府", "政府",
    "法院", "检察院", "派出所", "公安局", "医院", "卫生院", "学校", "大学", "学院", "中学", "小学", "幼儿园",
    "研究院", "研究所", "协会", "学会", "商会", "基金会", "联合会", "俱乐部", "事务所",
    "办公室", "办公厅", "局", "厅", "委", "办", "署", "部", "处", "科", "所", "队", "社", "厂",
    "党委", "支部", "总会", "分行", "支行", "报社", "电视台", "出版社",
)
# Named venues and landmarks: where something is, not who (counted with places).
_VENUE_END = (
    "中心", "广场", "大厦", "公园", "球场", "体育场", "体育馆", "博物馆", "美术馆", "纪念馆", "展览馆", "图书馆",
    "机场", "车站", "火车站", "码头", "商场", "市场", "山庄", "度假村", "景区", "风景区", "花园", "新村", "家园",
    "商务区", "开发区", "新区", "园区", "校区", "大桥", "水库", "公寓", "别墅", "庄园", "古镇", "寺", "宫", "湖", "湾",
    "苑", "书店", "商店", "网吧", "超市", "酒店", "宾馆", "饭店", "餐厅", "会所", "影院", "剧院", "球馆", "街区",
    "步行街", "商业街", "一条街", "公路", "高速公路", "环路", "桥", "村", "店", "城", "观", "坛", "楼", "阁", "园",
)
# One-character venue endings jieba leaves as their own token (天通 + 苑, 晨曦 + 店) need a name before them.
_VENUE_SINGLE = frozenset("苑店村桥湾园楼阁观坛城馆宫寺")
_VENUE_HEAD_TAGS = frozenset({"n", "nz", "nr", "ns", "nt", "nrt", "j", "ng", "s", "an", "vn", "z", "g", "nrfg"})
# …but these "中心" are organisations.
_ORG_CENTRE = ("服务中心", "研究中心", "指挥中心", "管理中心", "信息中心", "控制中心", "监测中心", "调度中心", "培训中心", "数据中心", "疾病预防控制中心", "政务中心")
_ORG_HEAD_TAGS = {"ns", "nt", "nz", "n", "nr", "j", "nrt", "an", "vn"}
# Words that end with an org suffix character but are not organisations.
_ORG_STOP = {"东部", "西部", "南部", "北部", "中部", "大部", "下部", "上部", "底部", "顶部", "部", "局", "处", "所", "站", "队", "社", "馆", "厂", "科", "办", "委", "全部", "内部", "外部", "局部",
             "部分", "之处", "处理", "场所", "住所", "厕所", "车站", "网站", "排队", "一队", "出处", "到处",
             "好处", "用处", "长处", "短处", "相处", "各部", "本部", "干部", "头部", "腹部", "胸部", "背部"}
_ORG_NAME_CUE = re.compile(r"(?:公司|单位|机构|企业)名称\s*[:：]\s*$")

_NAME_CUE = re.compile(
    r"(?:姓名|名字|联系人|申请人|被申请人|当事人|法定代表人|法人代表|负责人|经办人|投诉人|举报人|来电人|"
    r"反映人|诉求人|户主|患者|收件人|寄件人|签收人|代理人|监护人|委托人|受托人|承办人|记者|通讯员)"
    r"\s*(?:[:：为是]\s*)?$"
)
_TITLE_AFTER = re.compile(r"(?:先生|女士|同志|老师|医生|律师|主任|书记|局长|处长|科长|县长|市长|省长|镇长|乡长|村长|经理|总经理|董事长|教授|师傅)")
_PLACE_TAIL = ("省", "市", "县", "区", "镇", "乡", "村", "屯", "寨", "庄", "山", "河", "湖", "岛", "堡", "湾", "路", "街", "峡", "江", "桥")
_NOT_NAME_END = ("性", "化", "费", "法", "率", "度", "型", "式", "类", "业", "者", "品", "制", "区", "会", "证", "局", "站", "网")
# Endings of roles, forms, contests and disasters (申请人, 段位赛, 沙尘暴, 旱灾): a dictionary word ending so is
# no person's name. (Not 书: 钱钟书.)
_ROLE_END = ("人", "赛", "单", "表", "暴", "灾", "汛", "涝", "旱", "震", "疫", "症")
_NAME_OK_TAIL = ("山", "河", "江", "湖", "峡", "桥")  # 刘中山, 王大河: also common at the end of given names
_ADDR_CUE_FWD = re.compile(r"(?:地址|住址|住所|家住|现住|居住在|住在|户籍地|户籍所在地|所在地|位于|坐落于|送达地址|通讯地址|联系地址)\s*[:：为是在]?\s*")
_TITLE_TAIL = re.compile(_TITLE_AFTER.pattern + "$")
_FOREIGN_DOT = "·•・"
# Abbreviations of countries and regions ("中美关系", "中日", "访华", "抵京").
_COUNTRY_ABBR = frozenset("中美日俄英法德韩朝印巴越泰澳加意葡以苏欧非台港")
_ABBR_RELATION = ("关系", "两国", "双方", "合作", "友好", "之间", "贸易", "会谈", "峰会", "建交", "联合", "边境", "战争", "对话", "协定", "交流")
# Single characters jieba tags ns that do stand for a place (countries, provinces).
_PLACE_ABBR = _COUNTRY_ABBR | frozenset("京沪津渝冀豫云辽黑湘皖鲁苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼华")
_NO_PREFIX_PLACES = frozenset({"大陆", "内地", "两岸", "中东", "中山", "东方", "西方", "南方", "北方", "中亚"})
# 对华投资, 对韩贷款: a one-character country after 对 before an economic or diplomatic word.
_TOWARD_ABBR = re.compile(r"(?<=对)[华韩美日台港俄印朝越英法德](?=投资|贷款|贸易|出口|进口|政策|关系|外交|援助|合作|友好|伙伴|经贸|制裁|立场|战略)")
_VISIT_ABBR = re.compile(r"(?<=[访来抵离返进驻赴旅留援侵])[华京沪港台津渝]")


_CJK_ONLY = re.compile(r"[\u3400-\u9fff]+")


def _is_cjk(s: str) -> bool:
    return _CJK_ONLY.fullmatch(s) is not None


def _common_word(w: str) -> bool:
    """A frequent ordinary word (素质, 衔接): after a surname character it makes a phrase, not a given name."""
    return _known(w) >= 300 and _pos().word_tag_tab.get(w) in {"n", "v", "vn", "a", "d", "ad", "an", "vd"}


def _glued_word(toks: list[Tok], i: int) -> bool:
    """An untagged surname-led word the HMM glued together from pieces of other words, not a person.

    The surname is a conjunction or preposition (和 + 续证, 和 + 惠企); a two-character word is a dictionary
    verb (计发) or ends in an adverb (应 + 先); or a lone adjective or numeral character before it was cut off
    the same word (微 + 信端, 余 + 温易; but 小 + 张).
    """
    tags = _pos().word_tag_tab
    w = toks[i].word
    prev = toks[i - 1] if i else None
    return (
        tags.get(w[0]) in {"c", "p"}
        or len(w) == 2 and (_known(w) > 0 and tags.get(w) in {"v", "vn", "vd"} or tags.get(w[1]) == "d")
        or (prev is not None and len(prev.word) == 1 and prev.flag in {"a", "m"} and prev.word not in "小老大阿")
    )


# A candidate followed by one of these is a place (峪口 + 镇, 虞山 + 街道; 易发 + 区 is a zone) or a term being
# asked about (温易 + 是什么).
_PLACE_NEXT = frozenset({"镇", "乡", "县", "区", "村", "屯", "街道", "社区", "小区", "地区"})
_TERM_NEXT = re.compile(r"是什么|是啥|是指|指什么|指的是|什么意思|怎么用|怎么样")


def _not_a_person(text: str, toks: list[Tok], h: Hit) -> bool:
    if h.confidence >= 0.85:
        return False  # cued by 姓名：, 先生… elsewhere
    nxt = next((t for t in toks if t.start == h.end), None)
    return (nxt is not None and nxt.word in _PLACE_NEXT) or _TERM_NEXT.match(text, h.end) is not None


def _compound_word(w: str) -> bool:
    """A three-character dictionary word that extends a frequent ordinary word: 申请 + 书, 支付 + 宝.

    A name's surname and first given-name character seldom make a frequent word of their own; its last two
    characters often do (张 + 大千, 李 + 长春, 花 + 木兰), so they say nothing.
    """
    head = w[:2]
    return (
        _known(head) >= 100 and _pos().word_tag_tab.get(head) not in _NAME_TAGS | {"ns", "nt", "nz"}
        and not _looks_given(w[1:])  # 花木 + 兰: 木兰 is a given name
    )


def _surname_led(w: str) -> bool:
    single, compound = surnames()
    rest = w[2:] if w[:2] in compound else w[1:] if w[0] in single else None
    return rest is not None and _looks_given(rest)


def _looks_given(s: str) -> bool:
    g = given_chars()
    return 1 <= len(s) <= 2 and _is_cjk(s) and all(c in g for c in s)


def _names(text: str, toks: list[Tok]) -> list[Hit]:
    single, compound = surnames()
    stop, places, foreign = word_list("name_stop.txt"), word_list("places.txt"), foreign_chars()
    hits: list[Hit] = []
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        w = t.word
        # A surname jieba left alone, followed by one or two given-name characters.
        if (w in single or w in compound) and i + 1 < n and t.flag not in _FUNCTION_TAGS:
            nxt = toks[i + 1]
            # Two one-character tokens after the surname (周 + 铁 + 农) form the given name together.
            if len(nxt.word) == 1 and i + 2 < n and len(toks[i + 2].word) == 1 and t.flag == "nr":
                given = nxt.word + toks[i + 2].word
                if _looks_given(given) and toks[i + 2].flag not in _FUNCTION_TAGS:
                    hits.append(Hit("name", t.start, toks[i + 2].end, 0.7))
                    i += 3
                    continue
            if (
                _looks_given(nxt.word)
                and nxt.flag not in _FUNCTION_TAGS | {"nt", "x", "m", "t"}
                and (nxt.flag != "ns" or ((t.flag == "nr" or w in compound) and nxt.word not in places))
                and _known(w + nxt.word) == 0
                and (t.flag == "nr" or _known(nxt.word) < 2000)
                and nxt.word not in stop
                and not _TITLE_AFTER.fullmatch(nxt.word)
            ):
                hits.append(Hit("name", t.start, nxt.end, 0.75 if t.flag == "nr" else 0.6))
                i += 2
                continue
        if (
            len(w) == 2 and w[0] in single and i + 1 < n and len(toks[i + 1].word) == 1 and toks[i + 1].flag == "nr"
            and _looks_given(w[1] + toks[i + 1].word) and _known(w + toks[i + 1].word) == 0 and w not in places
        ):
            hits.append(Hit("name", t.start, toks[i + 1].end, 0.6))  # 夏冬 + 梅
            i += 2
            continue
        if w in stop or w in places:
            pass
        elif t.flag == "nt" and len(w) == 3 and _surname_led(w) and _known(w) < 100:
            hits.append(Hit("name", t.start, t.end, 0.7))  # 林熙蕾 tagged as an organisation
        elif t.flag in _NAME_TAGS and len(w) >= 3 and w.endswith(_PLACE_TAIL) and not (_surname_led(w) and w.endswith(_NAME_OK_TAIL)):
            pass  # 高升镇, 坂下村, 大青山: a place jieba's HMM took for a name (but 刘中山 is a person)
        elif t.flag in _NAME_TAGS and _is_cjk(w) and len(w) >= 3 and (m := _TITLE_TAIL.search(w)) and (w[: m.start()] in single or _surname_led(w[: m.start()])):
            hits.append(Hit("name", t.start, t.start + m.start(), 0.75))  # 张女士 as one token: the name is 张
        elif t.flag in _NAME_TAGS and _is_cjk(w) and len(w) >= 2:
            # jieba's dictionary tags many ordinary words nr; trust it for known words only when they look like names.
            # (体育竞赛, 幼儿园, 高水平 are nr in its dictionary), so a known word must look like a name.
            led = w[0] in single or w[:2] in compound
            if _known(w) == 0:
                # A word the HMM built; common word endings (普惠性, 智能化) mean it is not a person, nor does a
                # two-character one that neither starts with a surname nor is a given name (迎汛, 养犬, 幼升;
                # but 凤霞, 小胡) nor is transliterated (tagged nrt or made of transliteration characters).
                if len(w) == 2 and (led or t.flag != "nr" or _looks_given(w) or w[0] in "小老阿" or all(c in foreign for c in w)) or len(w) >= 3 and not w.endswith(_NOT_NAME_END):
                    hits.append(Hit("name", t.start, t.end, 0.8))
            elif (
                # jieba's dictionary tags many ordinary words nr (杜绝, 许可, 智能化): a known word must look like a name.
                (len(w) == 2 and led and (_looks_given(w[1:]) and _known(w) < 3000 or _known(w) < 400))
                or (len(w) == 3 and led and not w.endswith(_NOT_NAME_END + _ROLE_END) and not _common_word(w[1:])
                    and not _compound_word(w))
                or (len(w) == 4 and w[:2] in compound)
                or (t.flag == "nrt" and (len(w) >= 3 or _known(w) < 100 and w[-1] not in "人者员家"))
                or all(c in foreign for c in w)
            ):
                hits.append(Hit("name", t.start, t.end, 0.7))
        elif (
            2 <= len(w) <= 4
            and _is_cjk(w)
            and _surname_led(w)
            and _known(w) < (5 if t.flag == "n" else 40)
            and t.flag not in {"ns", "nt", "t"} | _FUNCTION_TAGS
            and not _glued_word(toks, i)
        ):
            # A surname + given-name word jieba does not know (HMM-found): very likely a person.
            hits.append(Hit("name", t.start, t.end, 0.65))
        i += 1
    hits = [h for h in hits if not _not_a_person(text, toks, h)]
    hits.extend(_foreign_names(text))
    hits.extend(_foreign_runs(toks))
    hits.extend(_latin_names(text))
    hits.extend(_cued_names(text, toks))
    hits.extend(_doctrine_names(toks))
    hits.extend(_list_names(toks, hits))
    return hits


_FOREIGN_RUN = None


def _foreign_runs(toks: list[Tok]) -> list[Hit]:
    """布 + 塔利亚, 扎 + 多尔 + 诺夫: a transliterated name jieba cut into pieces, one of them tagged a name."""
    foreign, places = foreign_chars(), word_list("places.txt")
    out = []
    i = 0
    while i < len(toks):
        j = i
        while j < len(toks) and toks[j].flag in _RUN_TAGS and _is_cjk(toks[j].word) and all(c in foreign for c in toks[j].word):
            j += 1
        run = toks[i:j]
        if len(run) >= 2 and any(t.flag in {"nr", "nrt", "nrfg"} for t in run) and 3 <= run[-1].end - run[0].start <= 8:
            word = "".join(t.word for t in run)
            if word not in places and not any(t.word in places for t in run):
                out.append(Hit("name", run[0].start, run[-1].end, 0.6))
        i = max(j, i + 1)
    return out


_RUN_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nz", "n", "j", "ng"})


def _foreign_names(text: str) -> list[Hit]:
    global _FOREIGN_RUN
    if _FOREIGN_RUN is None:
        cls = "".join(sorted(foreign_chars()))
        _FOREIGN_RUN = re.compile(f"[{cls}]{{1,8}}(?:[{_FOREIGN_DOT}][{cls}]{{1,8}})+")
    return [Hit("name", m.start(), m.end(), 0.85) for m in _FOREIGN_RUN.finditer(text)]


# "John Smith" inside Chinese text. Capitalised words that are common English or tech terms are skipped.
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9@._\-])[A-Z][a-z]{2,14}(?:[ .·][A-Z][a-z]{1,14}){0,2}(?![A-Za-z0-9@\-])")
_LATIN_STOP = frozenset(
    "The This That And For With From Your Our Inc Ltd Co Corp Group China Chinese Beijing Shanghai Windows Linux "
    "Apple Google Microsoft Office Word Excel Android Wifi Email Http Https Www Html Python Java App Web Online "
    "News Home Page Mr Mrs Ms Dr Prof Sir Madam Hotel Bank Center Centre Street Road Avenue University College "
    "School Club Team City Park Tower Plaza Building Service Please Thank Thanks Hello Dear Yes Not Free New "
    "Pro Plus Max Mini Air Phone Pad Book Mac Ipad Iphone Day Week Month Year Today Open Close Start End Next "
    "Health Kit Pay Wechat Alipay Store Cloud".split()
)


def _latin_names(text: str) -> list[Hit]:
    if not _CJK.search(text):
        return []
    return [
        Hit("name", m.start(), m.end(), 0.5)
        for m in _LATIN_NAME.finditer(text)
        if m.group().split()[0].split(".")[0] not in _LATIN_STOP
    ]


def _cued_names(text: str, toks: list[Tok]) -> list[Hit]:
    """Names after cues (姓名：王某某, 局长李明朝) and before titles (王小明同志, 密特朗总统)."""
    single, compound = surnames()
    ends = {t.end for t in toks}
    hits = []
    for m in _CJK.finditer(text):
        seg = m.group()
        for k in range(len(seg)):
            head = seg[k : k + 2] if seg[k : k + 2] in compound else seg[k]
            if head not in single and head not in compound:
                continue
            start = m.start() + k
            before = text[max(0, start - 12) : start]
            if _NAME_CUE.search(before) or _POSITION_CUE.search(before):
                # The given name runs to a word boundary one or two characters on.
                after = start + len(head)
                for size in (2, 1):
                    given = text[after : after + size]
                    if len(given) == size and _is_cjk(given) and after + size in ends and not any(c in _NOT_IN_NAME for c in given):
                        word = head + given
                        common = _known(word) > 50 and _pos().word_tag_tab.get(word) not in _NAME_TAGS
                        if not _TITLE_AFTER.fullmatch(given) and not common and word not in word_list("name_stop.txt"):
                            hits.append(Hit("name", start, after + size, 0.85))
                        break
                continue
            if _TITLE_AFTER.match(text, start + len(head)):
                hits.append(Hit("name", start, start + len(head), 0.7))  # 程先生: the surname is the name
                continue
            for size in (2, 1):
                given = seg[k + len(head) : k + len(head) + size]
                if len(given) == size and _looks_given(given):
                    end = start + len(head) + size
                    if _TITLE_AFTER.match(text, end):
                        hits.append(Hit("name", start, end, 0.85))
                        break
    places, stop = word_list("places.txt"), word_list("name_stop.txt")
    for i in range(1, len(toks)):
        t, prev = toks[i], toks[i - 1]
        # 密特朗总统, 桥本首相, 老舍先生: the word right before a title or office is the person.
        if (
            (t.word in _TITLES_AFTER_FOREIGN or _TITLE_AFTER.fullmatch(t.word))
            and 2 <= len(prev.word) <= 5
            and _is_cjk(prev.word)
            and prev.flag not in _FUNCTION_TAGS | {"v", "vn", "t", "a", "nt", "b"}
            and prev.word not in places
            and prev.word not in stop
            and not prev.word.endswith(_PLACE_TAIL + _ORG_END)
            and (prev.flag in _NAME_TAGS or _surname_led(prev.word) or all(c in foreign_chars() for c in prev.word))
        ):
            hits.append(Hit("name", prev.start, prev.end, 0.7))
    return hits


_POSITION_CUE = re.compile(
    r"(?:主任|总监|厅长|局长|处长|科长|县长|市长|省长|镇长|乡长|村长|书记|主席|总理|部长|经理|董事长|董事|行长|所长|院长|"
    r"校长|会长|委员|代表|大使|编辑|教授|教练|队长|总统|首相|大臣|议长|法官|检察官|警官|民警|医生|护士|老师|"
    r"弟弟|哥哥|姐姐|妹妹|儿子|女儿|妻子|丈夫|堂弟|堂兄|表哥|表姐|武官|秘书长|理事长|负责人|总裁|主管|站长|社长|馆长|台长)\s*$"
)
_TITLES_AFTER_FOREIGN = frozenset({"总统", "首相", "总理", "议长", "国王", "女王", "大使", "外长", "部长", "主席", "小姐", "夫人", "太太"})
_NOT_IN_NAME = frozenset("的了是在和与及或说等为被把对向从到就也都还又")


def _list_names(toks: list[Tok], hits: list[Hit]) -> list[Hit]:
    """In a list separated by 、, an unknown 2–4 character item between names is a name too (霍震霆、周梁淑怡、单仲)."""
    named = {(h.start, h.end) for h in hits if h.type == "name"}
    starts_named = {s for s, _ in named}
    out = []
    for i, t in enumerate(toks):
        if not (2 <= len(t.word) <= 4 and _is_cjk(t.word)) or (t.start, t.end) in named:
            continue
        if t.flag in _FUNCTION_TAGS | {"v", "ns", "nt", "t"} or t.word in word_list("name_stop.txt"):
            continue
        if _POSITION_CUE.search(t.word) or _TITLE_AFTER.search(t.word) or t.word.endswith(("士", "员", "长", "师", "家")):
            continue  # 刘永坦院士、钱七虎: the title between two names is not a name
        left = i >= 2 and toks[i - 1].word == "、" and toks[i - 2].start in starts_named
        right = i + 2 < len(toks) and toks[i + 1].word == "、" and toks[i + 2].start in starts_named
        if left or right:
            out.append(Hit("name", t.start, t.end, 0.6))
    return out


def _doctrine_names(toks: list[Tok]) -> list[Hit]:
    """马克思主义, 哥德巴赫猜想, 诺贝尔经济学奖: a person's name at the head of a doctrine, prize or line."""
    tags = _pos().word_tag_tab
    out = []
    for t in toks:
        if len(t.word) < 4 or not t.word.endswith(_DOCTRINE_TAIL):
            continue
        for size in range(min(5, len(t.word) - 1), 1, -1):
            if tags.get(t.word[:size]) in _NAME_TAGS:
                out.append(Hit("name", t.start, t.start + size, 0.6))
                break
    return out


_DOCTRINE_TAIL = ("主义", "思想", "理论", "精神", "猜想", "定理", "定律", "效应", "奖", "线", "故居", "纪念馆", "学说")


def _abbr_places(toks: list[Tok], text: str) -> list[Hit]:
    """One-character place abbreviations of news and official writing: 中美关系, 港澳台, 美方, 意政府, 美、英、日等."""
    hits = []
    for i, t in enumerate(toks):
        w = t.word
        run = len(w) if all(c in _COUNTRY_ABBR for c in w) else 2 if w[:2] in _PAIR_OK and w[2:] in _ABBR_RELATION else 0
        if 2 <= run <= 4 and len(set(w[:run])) == run and w[:run] not in _ABBR_NOT_PLACE:
            hits.extend(Hit("place", t.start + k, t.start + k + 1, 0.6) for k in range(run))
        elif len(w) >= 2 and w[0] in _COUNTRY_ABBR and w[1:] in _ABBR_SIDE and _known(w) < 5000:
            hits.append(Hit("place", t.start, t.start + 1, 0.6))  # 美方, 港胞, 台商
        elif len(w) == 1 and w in _COUNTRY_ABBR and t.flag not in _FUNCTION_TAGS - {"m"}:
            nxt = toks[i + 1].word if i + 1 < len(toks) else ""
            prev = toks[i - 1].word if i else ""
            if nxt in _ABBR_SIDE or nxt in _ABBR_RELATION or "、" in (nxt, prev) and (
                _abbr_neighbour(toks, i - 2) or _abbr_neighbour(toks, i + 2)
            ):
                hits.append(Hit("place", t.start, t.end, 0.6))
    for i in range(len(toks) - 1):
        a, b = toks[i], toks[i + 1]
        # 中 + 美 cut apart ("中美组建", "发展中韩友好"): jieba tags the first 中 as a locality word.
        if a.word == "中" and len(b.word) == 1 and b.word in _COUNTRY_ABBR and b.word != "中":
            after = toks[i + 2].word if i + 2 < len(toks) else ""
            if after not in ("、",) and not (len(after) == 1 and after in "的了是在"):
                hits += [Hit("place", a.start, a.end, 0.6), Hit("place", b.start, b.end, 0.6)]
    places = word_list("places.txt")
    for t in toks:
        # 法国人, 台湾同胞, 南京大屠杀: a known place at the head of a longer word.
        if t.word in places or t.flag in {"ns", "nt"} or not _is_cjk(t.word):
            continue
        for size in (4, 3, 2):
            head = t.word[:size]
            if len(t.word) > size and head in places and head not in _NO_PREFIX_PLACES:
                hits.append(Hit("place", t.start, t.start + size, 0.6))
                break
    hits.extend(Hit("place", m.start(), m.end(), 0.55) for m in _VISIT_ABBR.finditer(text))
    hits.extend(Hit("place", m.start(), m.end(), 0.55) for m in _TOWARD_ABBR.finditer(text))
    return hits


def _abbr_neighbour(toks: list[Tok], k: int) -> bool:
    return 0 <= k < len(toks) and (toks[k].word in _COUNTRY_ABBR or toks[k].word in word_list("places.txt"))


# Pairs of abbreviations that are ordinary words, not two places.
_ABBR_NOT_PLACE = frozenset({"加法", "非法", "以法", "美意", "中意", "意中", "美德", "中加", "法以", "加以", "以中", "中以"})
_PAIR_OK = frozenset(a + b for a in "中美日俄英法德韩朝印巴越泰澳加意葡以欧非" for b in "中美日俄英法德韩朝印巴越泰澳加意葡以欧非" if a != b)
# What follows a one-character country abbreviation: its side, government, army, traders, nationals.
_ABBR_SIDE = frozenset({"方", "政府", "军", "商", "籍", "胞", "资", "企", "官员", "总统", "总理", "外长", "首相", "国防部", "外交部", "经济", "银行业"})


def _addr_piece(t: Tok) -> str | None:
    """'admin', 'detail', 'area', 'zone', 'num' or None: what this token can contribute to an address run."""
    return _addr_piece_of(t.word, t.flag)


# Generic ways (城市道路, 高速公路, 铁路): a kind of road, not the name of one.
_GENERIC_WAY = ("道路", "公路", "铁路", "马路")
_NOT_NAME_HEAD_TAGS = frozenset({"ns", "nr", "nrt", "nrfg", "nz", "nt", "j"})


def _common_head(head: str) -> bool:
    """The part before a 区 or 路 is an ordinary word (保护 + 区, 示范 + 区, 易发 + 区), not a place's name."""
    return len(head) == 1 or (_known(head) > 0 and _pos().word_tag_tab.get(head) not in _NOT_NAME_HEAD_TAGS)


@lru_cache(maxsize=100_000)
def _addr_piece_of(w: str, flag: str) -> str | None:
    t = Tok(w, flag, 0, 0)
    if w in word_list("place_stop.txt"):
        return None
    if w in word_list("places.txt"):
        return "admin"
    if _is_cjk(w) and flag not in {"ns", "nz", "nt"} and (w.endswith(_GENERIC_WAY) or (len(w) == 2 and w[-1] == "路" and flag == "n")):
        return None  # 市政道路, 马路, 线路: dictionary common nouns (but 京广铁路, 青藏公路 are names)
    if len(w) >= 2 and w[-1] == "室" and not _NUM_TOK.match(w[:-1]):
        return None  # 办公室, 传达室: a kind of room; an address's room has a number (501室)
    if t.flag in _NAME_TAGS and len(w) >= 3 and w.endswith(_PLACE_TAIL) and _is_cjk(w) and not (_surname_led(w) and w.endswith(_NAME_OK_TAIL)):
        return "admin" if w.endswith(_ADMIN_END) else "detail"
    if t.flag == "ns":
        if len(w) == 1 and (w not in _PLACE_ABBR or w == "中"):
            return None
        return "detail" if w.endswith(_DETAIL_END) and not w.endswith(_ADMIN_END) else "admin"
    if _is_cjk(w) and len(w) >= 2 and w.endswith(_ADMIN_END) and t.flag in {"n", "nz", "nr", "nt", "j"}:
        if w[-1] == "区" and w not in _AREA_WORDS and not w.endswith(_DETAIL_END) and _common_head(w[:-1]):
            return "zone"  # 保护区, 示范区, 景区, 病区: a kind of area, not an administrative district
        return "admin" if w[-1] in "省市县区州旗盟" else None
    if _is_cjk(w) and w.endswith(_DETAIL_END) and (len(w) >= 2 or t.flag in {"n", "m", "q", "ns", "zg", "ng"}):
        return "detail"
    if w in _AREA_WORDS:
        return "area"
    if _NUM_TOK.match(w):
        return "num"
    return None


def _bridges_to_detail(toks: list[Tok], j: int) -> bool:
    """Within the next three short name-like tokens there is an address detail (road, compound, number)."""
    for k in range(j, min(j + 4, len(toks))):
        t = toks[k]
        if _addr_piece(t) == "detail":
            # 号/楼/层 only continue an address after a number (3号楼), not after words (微信公众 + 号).
            return k > j and (t.word not in _AFTER_NUMBER or _addr_piece(toks[k - 1]) == "num")
        if not (len(t.word) <= 3 and (_is_cjk(t.word) or _NUM_TOK.match(t.word)) and t.flag in _BRIDGE_TAGS):
            return False
    return False


_AFTER_NUMBER = frozenset({"号", "楼", "层", "室", "单元", "栋", "幢", "座", "户"})
_BRIDGE_TAGS = frozenset({"n", "nz", "nr", "ns", "m", "vn", "a", "nrt", "ng", "eng", "x", "j", "t", "q"})


def _places_and_addresses(text: str, toks: list[Tok]) -> list[Hit]:
    hits: list[Hit] = []
    n = len(toks)
    i = 0
    while i < n:
        kind = _addr_piece(toks[i])
        w0 = toks[i].word
        starts_here = kind == "admin" or (
            kind == "detail" and (len(w0) >= 3 or _known(w0) == 0) and w0.endswith(_START_END) and toks[i].flag in {"n", "ns", "nz", "nr", "nt", "j"}
        )
        # "文汇" + "路": a plain noun right before a bare road/building suffix starts the address.
        if (
            kind is None
            and i + 1 < n
            and _is_cjk(toks[i].word)
            and toks[i].flag in {"n", "nz", "nr", "ns", "nrt", "j", "x", "a"}
            and len(toks[i].word) <= 4
            and toks[i + 1].word in {"路", "街", "大街", "大道", "巷", "胡同", "小区", "村", "镇", "乡", "苑", "区"}
            # 易发 + 区, 传染病 + 区: an ordinary word before 区 makes an area, not a district.
            and not (toks[i + 1].word == "区" and toks[i].flag not in {"ns", "nr", "nrt", "j"} and _known(toks[i].word) > 0)
        ):
            starts_here = True
        if not starts_here:
            i += 1
            continue
        j = i + 1
        pieces = [kind or "detail"]
        while j < n:
            k = _addr_piece(toks[j])
            if k is None and toks[j].word in {"路", "街", "巷", "号", "栋", "幢", "座", "层", "楼", "室", "单元", "期"}:
                k = "detail"
            if k is None and toks[j].word == "区":
                k = "admin"  # 朝阳 + 区 (a district, no detail yet), 东城区 + 区 (a typo)
            if k == "zone":
                # 天津市宝坻石桥 + 工业园区: a zone noun ends a chain that already names a locality as an area of
                # it; after one place word it is a description (四川 + 灾区, 海淀 + 试验区) and ends the run.
                k = "area" if len(pieces) >= 2 else None
            if k is None and _bridges_to_detail(toks, j):
                k = "detail"  # "余家" + "头" + "小区": unknown names inside the address
            if k is None:
                break
            if k == "num" and not (j + 1 < n and _addr_piece(toks[j + 1]) in ("detail", "num")) and pieces[-1] != "detail":
                break
            pieces.append(k)
            j += 1
        # A trailing bare number is not part of the address; an area word only extends a place.
        while j - 1 > i and (pieces[-1] == "num" or (pieces[-1] == "area" and "detail" in pieces)):
            pieces.pop()
            j -= 1
        start, end = toks[i].start, toks[j - 1].end
        if j == i + 1 and toks[i].flag == "ns" and _known(toks[i].word) > 0:
            # 中关村, 长安街 alone: a well-known named area or street is a place; it locates nobody.
            hits.append(Hit("place", start, end, 0.7))
        elif "detail" in pieces and (len(pieces) >= 2 or end - start >= 3):
            conf = 0.9 if pieces.count("detail") + pieces.count("admin") >= 3 else 0.7
            hits.append(Hit("address", start, end, conf))
        elif (
            all(p == "admin" for p in pieces)
            and sum(1 for t in toks[i:j] if t.word.endswith(_ADMIN_END)) >= 2
            and any(t.word.endswith(("区", "县", "镇", "乡", "旗", "街道")) for t in toks[i + 1 : j])
        ):
            # 河南省新乡市红旗区: an administrative chain without a road, compound or number is still a place (a
            # district's government in a policy question); after 住址/家住 _cued_addresses makes it an address.
            hits.append(Hit("place", start, end, 0.8))
        elif pieces[0] == "admin" and pieces[-1] == "area" and set(pieces) <= {"admin", "area"}:
            hits.append(Hit("place", start, end, 0.7))  # 德国北部, 台儿庄地区
        else:
            for t in toks[i:j]:
                if _addr_piece(t) == "admin":
                    hits.append(Hit("place", t.start, t.end, 0.85 if t.word in word_list("places.txt") else 0.7))
        i = j
    hits.extend(_cued_addresses(text))
    return hits


_DOOR_NUMBER = re.compile(r"[0-9]{1,5}[室号]?")
_ADDR_BODY = re.compile(r"[\u3400-\u9fff0-9a-zA-Z\-#（）()]{4,60}")


def _cued_addresses(text: str) -> list[Hit]:
    """What follows 住址：, 家住, 位于 … up to its last address character (省/市/区/路/号/室…)."""
    hits = []
    for cue in _ADDR_CUE_FWD.finditer(text):
        m = _ADDR_BODY.match(text, cue.end())
        if m is None:
            continue
        body = re.split(r"[的了和及与并]", m.group(), maxsplit=1)[0]
        last = max(body.rfind(c) for c in "省市区县镇乡村路街巷号室栋幢楼苑园院元层户")
        if last >= 1 and re.search(r"[省市区县镇乡村路街巷号室栋幢楼]", body[: last + 1]):
            # 2单元501: the door number after the last suffix, when nothing but 室/号 follows it.
            door = _DOOR_NUMBER.match(body, last + 1)
            end = door.end() if door and door.end() == len(body) else last + 1
            hits.append(Hit("address", m.start(), m.start() + end, 0.85))
    return hits


def _head_start(toks: list[Tok], i: int) -> int:
    """Walk back from a suffix token over name-like tokens to where the proper name begins."""
    s = i
    while s > 0 and i - s < 4 and toks[s - 1].flag in _ORG_HEAD_TAGS and _is_cjk(toks[s - 1].word):
        s -= 1
        if toks[s].flag in {"ns", "nt", "nz", "nrt", "j"} or toks[s].word in word_list("places.txt"):
            break
    return s


def _venue_start(toks: list[Tok], i: int) -> int:
    """Where a venue's name begins: up to three name-like tokens (≤ 8 characters) before its ending."""
    s, chars = i, 0
    while s > 0 and i - s < 3:
        prev = toks[s - 1]
        ok = _is_cjk(prev.word) and (prev.flag in _VENUE_HEAD_TAGS or (prev.flag == "v" and len(prev.word) >= 2 and _known(prev.word) < 100))
        if not ok or prev.word in word_list("place_stop.txt") or chars + len(prev.word) > 8:
            break
        s -= 1
        chars += len(prev.word)
        if prev.word in word_list("places.txt"):
            break
    if s == i and len(toks[i].word) == 1:
        return i
    return s


def _organizations(text: str, toks: list[Tok]) -> list[Hit]:
    """Organisations (公司/局/医院…) and named venues (…中心/广场/公园/球场/馆), the latter as places."""
    hits = []
    for i, t in enumerate(toks):
        w = t.word
        if t.flag == "nt" and len(w) == 3 and _surname_led(w) and _known(w) < 100:
            continue  # 林熙蕾: a person the tagger took for an organisation (see _names)
        if t.flag == "nt" and len(w) >= 2 and not w.endswith(("省", "市", "区", "县")) and w[:2] not in _PAIR_OK:
            # Extend an nt word with a place before it ("北京市" + "公安局").
            s = i
            while s > 0 and toks[s - 1].flag in {"ns", "nt"} and i - s < 3:
                s -= 1
            hits.append(Hit("organization", toks[s].start, t.end, 0.8))
            continue
        if w in _ORG_STOP or not _is_cjk(w):
            continue
        venue = w.endswith(_VENUE_END) and not w.endswith(_ORG_CENTRE)
        if not venue and not w.endswith(_ORG_END):
            continue
        if venue:
            s = _venue_start(toks, i)
            if s < i or (len(w) >= 3 and t.flag not in _FUNCTION_TAGS | {"v", "a", "d"} and w not in word_list("place_stop.txt")):
                hits.append(Hit("place", toks[s].start, t.end, 0.65))
            continue
        if t.flag in _NAME_TAGS | {"v", "vn", "d", "a", "ad"} | _FUNCTION_TAGS:
            continue  # 蒋建科 (a name), 签署 (a verb): the suffix character is a coincidence
        s = _head_start(toks, i)
        if s == i and len(w) <= 2:
            continue
        if s < i and all(toks[k].flag in {"n", "vn", "an"} for k in range(s, i)) and len(w) <= 1:
            continue
        kind = "place" if venue else "organization"
        hits.append(Hit(kind, toks[s].start, t.end, 0.7 if s < i else 0.6))
    return hits


def find_entities(text: str) -> list[Hit]:
    """Names, places, addresses and organisations in normalised text (spans may overlap)."""
    if not text or not _CJK.search(text):
        return []
    toks = tokenize(text)
    return _names(text, toks) + _places_and_addresses(text, toks) + _abbr_places(toks, text) + _organizations(text, toks)
