"""What kind of news an item is, named as the bulletin names it: 发布报告, 宣布资助, 签署行政令 ...
Pure; no I/O.

``act_of`` reads the title (English or Chinese) against ordered tables of rules; the first
rule that matches wins, so specific acts come before general ones (a "Section 232 Investigation"
is launched, but it is an investigation; "Researchers build ... facilities" is a result, not a
factory). In order: the strong rules on the title (acts of state, money, documents, research
results); a call for proposals stated by the summary's first sentence ("Apply for funding ...");
the weak rules on the title (centres, partnerships, launches, factories, data, ...), which a
call's title often shares ("... research partnerships"); a title that opens with a sum ("£300
million to boost ...") is funding; then all rules on the summary's first sentence; else the act
is ``other`` (发布). Rules read English and Chinese.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OTHER", "RESULT", "Act", "act_of", "counts_zh", "lead_sentence"]


@dataclass(frozen=True)
class Act:
    """An act with the verb a headline uses for it.

    ``noun`` names the act in a plain title (idei: 美国国家科学基金会资助); ``template`` places an
    amount (``{amount}``) and a count (``{count}``) in the verb phrase when the act is about money
    or numbered things: 宣布资助{amount}支持{count}, 授予{amount}合同, 遴选{count}.
    """

    key: str
    verb: str
    noun: str = "动态"
    template: str = ""

    @property
    def money(self) -> bool:
        """The verb takes an amount (宣布资助4240万美元)."""
        return "{amount}" in self.template

    def phrase(self, amount: str = "", count: str = "") -> str:
        """The verb phrase with ``amount`` and ``count`` where the template takes them; a missing
        one is dropped with its connective (宣布资助{amount}支持{count} → 宣布资助25个项目)."""
        text = self.template
        if not text or not ((amount and "{amount}" in text) or (count and "{count}" in text)):
            return self.verb
        if not amount:
            text = re.sub(r"\{amount\}(?:支持|，)?", "", text)
        if not count:
            text = re.sub(r"(?:支持|，)?\{count\}", "", text)
        return text.replace("{amount}", amount).replace("{count}", count)


OTHER = Act("other", "发布", "动态")
RESULT = Act("result", "取得研究进展", "研究进展")

_I = re.IGNORECASE
_Rule = tuple[re.Pattern[str], Act]


def _rule(pattern: str, act: Act, flags: int = _I) -> _Rule:
    return re.compile(pattern, flags), act


_FUNDING = "宣布资助{amount}支持{count}"
_CALL = Act("call", "征集项目", "项目征集")
# Phrases of a call for proposals that decide the act from the summary too.
_CALL_STRONG = re.compile(
    r"\bapply for (?:funding|a share)|\bcan apply\b|\bfunding opportunit|\binvites? (?:you to "
    r"apply|applications|proposals)|\bcall for (?:proposals|applications|expressions)|"
    r"\bsolicitation\b|\bexpressions? of interest\b|^apply\b|征集|申报指南|申报通知",
    _I,
)
_SUM = r"(?:up to\s+|over\s+|nearly\s+|more than\s+)?(?:US\$|[A-Z]{0,2}\$|[£€¥₩])\s?\d"

# Decisive in a title: acts of state, money, documents, research results.
_STRONG: tuple[_Rule, ...] = (
    # Statements before the laws, tariffs and investments they comment on.
    _rule(
        r"\b(?:commends|applauds|welcomes|urges|encourages|praises|statement (?:on|by|from))\b",
        Act("statement", "发表声明", "声明"),
    ),
    _rule(
        r"\bpresidential (?:determination|memorandum)|\bNSPM\b",
        Act("executive_order", "签署总统决定", "总统决定"),
    ),
    _rule(r"\bexecutive orders?\b|行政令", Act("executive_order", "签署行政令", "行政令")),
    _rule(r"\bproclamation\b", Act("executive_order", "发布总统公告", "总统公告")),
    _rule(
        r"\b(?:imposing|imposes|impose|new|raises|raising|increases?)\b.{0,40}\btariffs?\b|加征关税",
        Act("tariff", "加征关税", "关税措施"),
    ),
    _rule(r"\btariffs?\b|关税", Act("tariff", "调整关税", "关税措施")),
    _rule(r"\badjust(?:ing|s)? imports\b", Act("tariff", "调整进口措施", "进口调整措施")),
    _rule(r"\binvestigations?\b|\bprobe\b|调查", Act("investigation", "启动调查", "调查")),
    _rule(
        r"\b(?:seeks?|requests?|invites?) (?:public )?(?:input|comments?|feedback|views)\b|"
        r"\bconsultation\b|\brequest for information\b|征求意见",
        Act("consultation", "征求意见", "意见征集"),
    ),
    _rule(
        r"\b(?:signs?|signed) into law\b|\bsigns?\b.{0,40}\b(?:act|bill|law)\b",
        Act("law", "签署法案", "法案"),
    ),
    _rule(
        r"\b(?:comes?|came|enters?|entered) into force\b|\btakes? effect\b|生效",
        Act("law", "法案生效", "法案"),
    ),
    _rule(
        r"\b(?:passes|passed|passage of|adopts?|adopted)\b.{0,60}\b(?:act|bill|law|regulation|"
        r"directive)\b|通过.{0,20}法案?",
        Act("law", "通过法案", "法案"),
    ),
    _rule(
        r"\b(?:proposes?|proposed|introduces?|introduction of|unveils?)\b.{0,60}\b(?:act|bill|"
        r"law|regulation|directive)\b",
        Act("law", "提出法案", "法案"),
    ),
    _rule(
        r"\b(?:round|strand|phase|stage|cohort)\s+(?:\d+|one|two|three|four|five|six)\b|"
        r"\b(?:outline|full|pre-proposal) stage\b|\bcall\b|\bsolicitation\b|\bNSF \d{2}-\d{3}\b|"
        r"\bfeasibility studies\b|\bSBRI\b|\bexpressions? of interest\b|\bfunding opportunit|"
        r"\bdear colleague letter\b",
        _CALL,
    ),
    # Documents whose names hold money words ("Industrial R&D Investment Scoreboard").
    _rule(
        r"\bscoreboard\b|\bwhite paper\b|\bworking paper\b|\bfactbook\b|\bindex\b|\boutlook\b",
        Act("report", "发布报告", "报告"),
    ),
    _rule(
        r"\bcontracts?\b.{0,30}\b(?:award|worth|valued)|\b(?:awards?|awarded|wins?|won|"
        r"secures?)\b.{0,40}\bcontracts?\b|合同",
        Act("contract", "授予合同", "合同", "授予{amount}合同"),
    ),
    _rule(
        r"\bstate aid\b.{0,60}\bapprov|\bapproves?\b.{0,60}\b(?:support|funding|aid|scheme)\b",
        Act("funding", "批准资助", "资助", "批准资助{amount}"),
    ),
    _rule(
        r"\b(?:launch(?:es|ed)?|kicks? off|starts?|unveils?|introduces?|announces?|creates?|"
        r"establish(?:es)?)\b.{0,40}\bfund\b|设立基金",
        Act("launch", "设立基金", "基金", "设立{amount}基金"),
    ),
    _rule(
        r"\b(?:awards?|awarded|awarding|grants?|funding|funds|funded|fund)\b|"
        rf"\b(?:announces?|unveils?|provides?|commits?|allocates?|earmarks?)\s+{_SUM}|资助|拨款",
        Act("funding", "宣布资助", "资助", _FUNDING),
    ),
    _rule(
        r"\b(?:invests?|invested|investing|investments?|pledges?|pledged)\b|投资|投入",
        Act("investment", "宣布投资", "投资", "宣布投资{amount}支持{count}"),
    ),
    _rule(
        r"\b(?:selects?|selected|selection of|chooses|shortlists?)\b|遴选|入选",
        Act("selection", "遴选项目", "项目遴选", "遴选{count}"),
    ),
    _rule(
        r"\b(?:researchers|scientists|engineers|physicists|chemists|research team|breakthrough|"
        r"discover(?:s|y|ed)?|develops|developed|reveals?|demonstrates?|engineer)\b|"
        r"研究人员|科学家|团队|研制|突破",
        RESULT,
    ),
    _rule(
        r"\breports?\b|\bstudy\b|\bassessment\b|\bsurvey\b|\banalysis\b|\bpaper\b|报告|白皮书",
        Act("report", "发布报告", "报告"),
    ),
    _rule(r"\broadmaps?\b|路线图", Act("strategy", "发布路线图", "路线图")),
    _rule(r"\baction plans?\b|行动计划|行动方案", Act("strategy", "发布行动计划", "行动计划")),
    _rule(
        r"\bstrateg(?:y|ies)\b|\bstrategic (?:plan|framework|agenda)\b|战略",
        Act("strategy", "发布战略", "战略"),
    ),
    _rule(
        r"\b(?:plan|blueprint|new deal|framework)\b|规划|计划",
        Act("strategy", "发布计划", "计划"),
    ),
    _rule(r"\bpolic(?:y|ies)\b|政策", Act("strategy", "发布政策", "政策")),
    _rule(r"\brecommendations?\b|建议", Act("guidance", "发布建议", "建议")),
    _rule(r"\bguidance\b|\bguidelines?\b|指南", Act("guidance", "发布指南", "指南")),
    _rule(r"\bstandards?\b|标准", Act("guidance", "发布标准", "标准")),
)
# Generic nouns and verbs: they decide a title only when the summary does not show a call.
_WEAK: tuple[_Rule, ...] = (
    _rule(
        r"\b(?:centres?|centers?|hubs?|institutes?)\b|中心|研究院",
        Act("centre", "成立中心", "新建中心", "成立{count}"),
    ),
    _rule(
        r"\b(?:partnerships?|partners? with|agreements?|deals?|memorandum|MoU|"
        r"collaborat(?:e|es|ion)|consortium|alliance|joins?|teams up)\b|合作|协议|联盟",
        Act("partnership", "签署合作协议", "合作", "签署{amount}合作协议"),
    ),
    _rule(
        r"\b(?:launch(?:es|ed)?|kicks? off|unveils?|initiative|programmes?|programs?|pilot|"
        r"challenge|mission)\b|启动|发起",
        Act("launch", "启动计划", "计划"),
    ),
    _rule(
        r"\b(?:opens?|opened|inaugurates?)\b.{0,40}\b(?:plants?|fabs?|factor(?:y|ies)|"
        r"gigafactor(?:y|ies)|mills?|facilit(?:y|ies)|cleanrooms?|lines?)\b|投产",
        Act("facility", "新工厂启用", "工厂"),
    ),
    _rule(
        r"\b(?:to build|builds?|building|breaks ground)\b.{0,40}\b(?:plants?|fabs?|factor(?:y|ies)"
        r"|gigafactor(?:y|ies)|mills?|facilit(?:y|ies)|lines?)\b|开工|新建",
        Act("facility", "建设工厂", "工厂建设"),
    ),
    _rule(
        r"\b(?:starts?|begins?|commences?) (?:volume |mass |commercial )?production\b|量产",
        Act("facility", "开始量产", "量产"),
    ),
    _rule(
        r"\b(?:completes?|finali[sz]es?|closes?)\b.{0,20}\bacquisition\b",
        Act("acquisition", "完成收购", "收购"),
    ),
    _rule(
        r"(?<!domestic )\bacquisition of\b|\b(?:to acquire|acquires|acquired|buys|merger)\b|收购",
        Act("acquisition", "宣布收购", "收购"),
    ),
    _rule(
        r"\bsales\b|\bbillings\b|\bshipments\b|\boutput\b|\bstatistics\b|\bQ[1-4]\b|"
        r"\byear-(?:to|over)-year\b|数据|同比",
        Act("data", "发布数据", "数据"),
    ),
    _rule(r"\b(?:actions?|measures|steps)\b|举措|措施", Act("measures", "发布举措", "举措")),
    _rule(r"^\s*fact sheet\b", Act("fact_sheet", "发布情况说明", "情况说明")),
    _rule(r"\bspeech\b|\bremarks\b|讲话|致辞", Act("speech", "发表讲话", "讲话")),
)

# A title that opens with a sum: "£300 million to boost ...", "New £59.9 million investment".
_OPENS_WITH_SUM = re.compile(rf"^\s*(?:new\s+)?{_SUM}", _I)
_SUM_OPENS = Act("funding", "宣布投入", "资助", "宣布投入{amount}支持{count}")


def act_of(title: str, summary: str = "") -> Act:
    """The act an item reports: its title's, else its summary's first sentence's."""
    title = " ".join(title.split())
    summary = lead_sentence(summary)
    return (
        _first(title, _STRONG)
        or (_CALL if _CALL_STRONG.search(summary) else None)
        or _first(title, _WEAK)
        or (_SUM_OPENS if _OPENS_WITH_SUM.match(title) else None)
        or _first(summary, _STRONG + _WEAK)
        or OTHER
    )


def _first(text: str, rules: tuple[_Rule, ...]) -> Act | None:
    if not text:
        return None
    return next((act for pattern, act in rules if pattern.search(text)), None)


def lead_sentence(text: str, limit: int = 300) -> str:
    """The first sentence of ``text`` (later ones drift to background), at most ``limit`` chars."""
    text = " ".join(text.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0][:limit]


# A full stop and a capital, not after an initial or "U.S."; or Chinese end punctuation.
_SENTENCE_END = re.compile(
    r"(?<![A-Z]\.[A-Z]\.)(?<!\b[A-Z]\.)(?<!\b(?:Dr|Mr|Ms|St|No)\.)(?<=[.!?])\s+(?=[A-Z\"“‘'])"
    r"|(?<=[。！？])"
)


# ------------------------------------------------------------------------------------ counts
_NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
}
_ADJECTIVES = {
    "new": "新",
    "strategic": "战略",
    "research": "研究",
    "pilot": "试点",
    "innovation": "创新",
    "innovative": "创新",
    "collaborative": "合作",
    "demonstration": "示范",
    "regional": "区域",
    "national": "国家级",
}
# English noun (singular and plural stems) → measure word and Chinese noun.
_NOUNS = {
    r"projects?": ("个", "项目"),
    r"programmes?|programs?": ("个", "项目"),
    r"cent(?:re|er)s?": ("个", "中心"),
    r"hubs?": ("个", "中心"),
    r"institutes?": ("个", "研究所"),
    r"compan(?:y|ies)|businesses|firms?": ("家", "企业"),
    r"start-?ups?": ("家", "初创企业"),
    r"universit(?:y|ies)": ("所", "大学"),
    r"teams?": ("个", "团队"),
    r"consorti(?:a|um)s?": ("个", "联盟"),
    r"facilit(?:y|ies)": ("个", "设施"),
    r"semifinalists?": ("名", "半决赛入围者"),
    r"finalists?": ("名", "决赛入围者"),
}
_ADJ_RE = "|".join(_ADJECTIVES)
_NOUN_RE = "|".join(f"(?:{n})" for n in _NOUNS)
_COUNT = re.compile(
    rf"(?<![\w$£€.,])(?P<n>\d{{1,4}}|{'|'.join(_NUMBER_WORDS)})\s+"
    rf"(?P<adj>(?:(?:{_ADJ_RE})[\s-]+){{0,2}})(?P<noun>{_NOUN_RE})\b",
    _I,
)


def counts_zh(text: str) -> list[str]:
    """Counts of projects, centres, companies ... in Chinese, in order, unique:
    "47 Strategic Projects" → 47个战略项目."""
    found: dict[str, None] = {}
    for match in _COUNT.finditer(" ".join(text.split())):
        word = match["n"].lower()
        number = _NUMBER_WORDS.get(word) or int(word)
        if number < 2 or 1900 <= number <= 2100:
            continue
        measure, noun = next(v for k, v in _NOUNS.items() if re.fullmatch(k, match["noun"], _I))
        adjectives = "".join(_ADJECTIVES[a.lower()] for a in match["adj"].replace("-", " ").split())
        found.setdefault(f"{number}{measure}{adjectives}{noun}")
    return list(found)
