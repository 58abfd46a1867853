"""Names of organisations, places and topics in English and Chinese, each mapped to one
language-neutral key (``org:nsf``, ``geo:us``, ``topic:tariff``). Pure; no I/O.

The publishers of ``sources.yaml`` give the organisations the project watches (name, name_zh,
abbr, short_zh); a small built-in table adds the agencies, countries and topic words that Chinese
reports of US and EU decisions use. A built-in organisation that shares a name with a configured
publisher takes that publisher's key, so both spellings meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Publisher

# key: surface forms (English forms match whole words, case-insensitively unless all capitals;
# Chinese forms match anywhere). Organisation keys follow the publisher keys of sources.yaml.
_BUILTIN: dict[str, tuple[str, ...]] = {
    # organisations
    "org:war": (
        "Department of Defense",
        "Defense Department",
        "Department of War",
        "War Department",
        "DoD",
        "DOD",
        "DoW",
        "Pentagon",
        "国防部",
        "战争部",
        "五角大楼",
        "美防部",
    ),
    "org:doe": ("Department of Energy", "Energy Department", "DOE", "能源部"),
    "org:nsf": ("National Science Foundation", "NSF", "国家科学基金会", "国家科学基金"),
    "org:whitehouse": ("White House", "白宫"),
    "org:commerce": ("Department of Commerce", "Commerce Department", "商务部"),
    "org:nist": ("National Institute of Standards and Technology", "NIST", "国家标准与技术研究院"),
    "org:darpa": ("DARPA", "国防高级研究计划局"),
    "org:ec": ("European Commission", "the Commission", "欧盟委员会", "欧委会", "欧盟执行委员会"),
    "org:jrc": ("Joint Research Centre", "JRC", "联合研究中心"),
    "org:ukri": ("UK Research and Innovation", "UKRI", "英国研究与创新署"),
    "org:dla": ("Defense Logistics Agency", "DLA", "国防后勤局"),
    "org:interior": ("Department of the Interior", "Interior Department", "内政部"),
    "org:usgs": ("Geological Survey", "USGS", "地质调查局"),
    "org:treasury": ("Department of the Treasury", "Treasury", "财政部"),
    "org:sia": ("Semiconductor Industry Association", "SIA", "半导体产业协会", "半导体行业协会"),
    "org:president": ("President", "总统"),
    # places
    "geo:us": ("United States", "U.S.", "US", "USA", "America", "American", "美国", "美方"),
    "geo:eu": ("European Union", "EU", "Europe", "European", "欧盟", "欧洲"),
    "geo:cn": ("China", "Chinese", "中国", "我国"),
    "geo:gb": ("United Kingdom", "UK", "Britain", "British", "英国"),
    "geo:jp": ("Japan", "Japanese", "日本"),
    "geo:kr": ("South Korea", "Korea", "Korean", "韩国"),
    "geo:de": ("Germany", "German", "德国"),
    "geo:ca": ("Canada", "Canadian", "加拿大"),
    "geo:au": ("Australia", "Australian", "澳大利亚", "澳洲"),
    "geo:sg": ("Singapore", "新加坡"),
    "geo:tw": ("Taiwan", "台湾", "台灣"),
    "geo:nc": ("North Carolina", "北卡罗来纳", "北卡"),
    "geo:mn": ("Minnesota", "明尼苏达"),
    "geo:az": ("Arizona", "亚利桑那"),
    "geo:ny": ("New York", "纽约"),
    "geo:tx": ("Texas", "得克萨斯", "德克萨斯", "德州"),
    "geo:ca-state": ("California", "加利福尼亚", "加州"),
    # laws and programmes
    "topic:chips-act": ("CHIPS and Science Act", "CHIPS Act", "芯片与科学法案", "芯片法案"),
    "topic:ira": ("Inflation Reduction Act", "通胀削减法案", "通货膨胀削减法案"),
    "topic:dpa": ("Defense Production Act", "国防生产法"),
    "topic:crma": ("Critical Raw Materials Act", "CRMA", "关键原材料法案", "关键原料法案"),
    "topic:section-232": ("Section 232", "232条款", "232调查"),
    "topic:bil": ("Bipartisan Infrastructure Law", "Infrastructure Law", "基础设施法"),
    # topics
    "topic:tariff": ("tariff", "tariffs", "duties", "关税"),
    "topic:steel": ("steel", "钢铁", "钢材", "钢铝"),
    "topic:aluminium": ("aluminum", "aluminium", "铝"),
    "topic:copper": ("copper", "铜"),
    "topic:rare-earth": ("rare earth", "rare earths", "rare-earth", "稀土"),
    "topic:lithium": ("lithium", "锂"),
    "topic:graphite": ("graphite", "石墨"),
    "topic:nickel": ("nickel", "镍"),
    "topic:cobalt": ("cobalt", "钴"),
    "topic:battery": ("battery", "batteries", "电池"),
    "topic:semiconductor": ("semiconductor", "semiconductors", "chip", "chips", "半导体", "芯片"),
    "topic:microelectronics": ("microelectronics", "微电子"),
    "topic:critical-minerals": ("critical minerals", "critical mineral", "关键矿产", "关键矿物"),
    "topic:raw-materials": ("raw materials", "raw material", "原材料", "原料"),
    "topic:supply-chain": ("supply chain", "supply chains", "供应链"),
    "topic:executive-order": ("executive order", "行政令", "行政命令"),
    "topic:proclamation": ("proclamation", "公告"),
    "topic:hydrogen": ("hydrogen", "氢能", "氢"),
    "topic:solar": ("solar", "photovoltaic", "光伏", "太阳能"),
    "topic:quantum": ("quantum", "量子"),
    "topic:robot": ("robot", "robots", "robotics", "机器人"),
    "topic:additive": ("additive manufacturing", "3D printing", "增材制造", "3D打印"),
    "topic:ai": ("artificial intelligence", "AI", "人工智能"),
    "topic:electric-vehicle": ("electric vehicle", "electric vehicles", "EV", "EVs", "电动汽车"),
    "topic:manufacturing": ("manufacturing", "制造业", "制造"),
    "topic:mining": ("mining", "mine", "采矿", "矿山"),
    "topic:magnet": ("magnet", "magnets", "磁体", "永磁"),
    "topic:foundry": ("foundry", "fab", "晶圆厂", "代工"),
    "topic:workforce": ("workforce", "劳动力", "人才"),
    "topic:hub": ("hub", "hubs", "中心"),
    "topic:grant": ("grant", "grants", "award", "awards", "拨款", "资助", "补贴"),
    "topic:export-control": ("export control", "export controls", "出口管制"),
}

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass(frozen=True)
class Glossary:
    """Surface forms → keys; ``keys_in`` finds the keys an item mentions."""

    forms: Mapping[str, frozenset[str]]
    folded: Mapping[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _latin: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _caps: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _cjk: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def builtin(cls) -> Glossary:
        return _builtin()

    @classmethod
    def build(cls, publishers: Mapping[str, Publisher] | None = None) -> Glossary:
        """The built-in table joined with the publishers of the configuration."""
        forms: dict[str, set[str]] = {}
        for key, surfaces in _BUILTIN.items():
            for surface in surfaces:
                forms.setdefault(surface, set()).add(key)
        for pub_key, publisher in (publishers or {}).items():
            own = {f"org:{pub_key}"}
            if publisher.country:
                own.add(f"geo:{publisher.country.lower()}")
            named = _publisher_forms(publisher)
            _adopt(forms, named, f"org:{pub_key}")
            for surface in named:
                forms.setdefault(surface, set()).update(own)
        frozen = {s: frozenset(k) for s, k in forms.items()}
        folded: dict[str, frozenset[str]] = {}
        for surface, keys in frozen.items():
            folded[surface.lower()] = folded.get(surface.lower(), frozenset()) | keys
        return cls(frozen, folded, *_compile(frozen))

    def keys_in(self, text: str) -> set[str]:
        found: set[str] = set()
        for pattern, fold in ((self._latin, True), (self._caps, False), (self._cjk, False)):
            if pattern is None or (pattern is self._cjk and not _CJK.search(text)):
                continue  # (every Chinese form has a character in _CJK's ranges)
            for match in pattern.finditer(text):
                surface = match.group(1)
                keys = self.forms.get(surface)
                if keys is None and fold:
                    keys = self.folded.get(surface.lower())
                found |= keys or frozenset()
        return found

    def surfaces(self, key: str) -> set[str]:
        """The forms that name ``key`` (to find a publisher named in a title)."""
        return {s for s, keys in self.forms.items() if key in keys}


def _publisher_forms(publisher: Publisher) -> set[str]:
    forms = {publisher.name}
    forms |= {f for f in (publisher.name_zh, publisher.abbr, publisher.short_zh) if f}
    # "U.S. Department of War (Department of Defense until 2025)" → both names
    forms |= {p.strip() for p in re.split(r"[()（）]", publisher.name) if len(p.strip()) > 3}
    forms |= {p.strip() for p in re.split(r"[()（）原]", publisher.name_zh or "") if len(p) > 1}
    return {f for f in forms if f and not f.lower().startswith(("until", "the "))} | {
        f.removeprefix("The ") for f in forms if f.startswith("The ")
    }


def _adopt(forms: dict[str, set[str]], surfaces: set[str], key: str) -> None:
    """A built-in organisation sharing a form with a publisher takes the publisher's key."""
    folded = {s.lower() for s in surfaces}
    shared = {k for s, keys in forms.items() if s.lower() in folded for k in keys}
    for builtin_key in {k for k in shared if k.startswith("org:") and k != key}:
        for surface_keys in forms.values():
            if builtin_key in surface_keys:
                surface_keys.discard(builtin_key)
                surface_keys.add(key)


def _compile(
    forms: Mapping[str, frozenset[str]],
) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, re.Pattern[str] | None]:
    latin = [f for f in forms if not _CJK.search(f) and not _is_caps(f)]
    caps = [f for f in forms if not _CJK.search(f) and _is_caps(f)]
    cjk = [f for f in forms if _CJK.search(f)]

    return (
        re.compile(rf"(?<![\w.])({_trie({f.lower() for f in latin})})(?![\w])", re.IGNORECASE)
        if latin
        else None,
        re.compile(rf"(?<![\w.])({_trie(caps)})(?![\w])") if caps else None,
        re.compile(rf"(?=({_trie(cjk)}))") if cjk else None,
    )


_Node = dict[str, "_Node"]


def _trie(forms: Iterable[str]) -> str:
    """A regular expression matching any of ``forms``, longest first, shaped as a trie: the
    same matches as their alternation sorted by length, without trying hundreds of
    alternatives at every position of the text."""
    root: _Node = {}
    for form in forms:
        node = root
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}  # a form ends here

    def pattern(node: _Node) -> str:
        ends = "" in node
        branches = [re.escape(c) + pattern(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:  # a longer form first, then the form that ends here
            return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
        return body

    return pattern(root)


def _is_caps(form: str) -> bool:
    """Acronyms match with their case (US is not "us"); "DoD" and "A*STAR" too."""
    letters = [c for c in form if c.isalpha()]
    return len(form) <= 8 and sum(c.isupper() for c in letters) >= 2


@cache
def _builtin() -> Glossary:
    return Glossary.build(None)
