"""The facts that make a news item a story: amounts of money, other significant numbers,
acronyms, Latin-script names and known organisations and places. Pure; no I/O.

Amounts are normalised so that "$29.9 million", "USD 29.9M", "US$29.9m" and "2990万美元" give the
same ``Amount(29_900_000, "USD")``, and "€3 billion" and "30亿欧元" give ``Amount(3e9, "EUR")``.
Organisations and places come from a glossary (the publishers of ``sources.yaml`` plus a small
built-in table of agencies, countries and topic terms in English and Chinese), each mapped to one
language-neutral key, so that a Chinese report and its English original share features.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from monitor.stories.glossary import Glossary

__all__ = [
    "Amount",
    "Facts",
    "acronyms",
    "amounts",
    "extract",
    "names",
    "normalise_text",
    "numbers",
    "percents",
]

# ------------------------------------------------------------------------------------- amounts
_CURRENCY_PREFIX = {
    "us$": "USD",
    "us $": "USD",
    "usd": "USD",
    "$": "USD",
    "ca$": "CAD",
    "c$": "CAD",
    "cad": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "aud": "AUD",
    "s$": "SGD",
    "sgd": "SGD",
    "hk$": "HKD",
    "hkd": "HKD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "₩": "KRW",
    "krw": "KRW",
    "rmb": "CNY",
    "cny": "CNY",
    "chf": "CHF",
}
_CURRENCY_SUFFIX = {
    "dollars": "USD",
    "dollar": "USD",
    "usd": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "eur": "EUR",
    "pounds": "GBP",
    "pound": "GBP",
    "gbp": "GBP",
    "yen": "JPY",
    "jpy": "JPY",
    "won": "KRW",
    "yuan": "CNY",
    "renminbi": "CNY",
    "cny": "CNY",
}
# Chinese and Japanese currency words, longest first so that 美元 wins over 元.
_CJK_CURRENCY = {
    "新加坡元": "SGD",
    "瑞士法郎": "CHF",
    "新元": "SGD",
    "人民币": "CNY",
    "美元": "USD",
    "美金": "USD",
    "欧元": "EUR",
    "英镑": "GBP",
    "日元": "JPY",
    "日圆": "JPY",
    "韩元": "KRW",
    "港元": "HKD",
    "港币": "HKD",
    "加元": "CAD",
    "澳元": "AUD",
    "ドル": "USD",
    "ユーロ": "EUR",
    "ポンド": "GBP",
    "円": "JPY",
    "元": "CNY",
}
_SCALE_WORD = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "mil": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "bln": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
_CJK_SCALE = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "千万": 1e7,
    "百万": 1e6,
    "亿": 1e8,
    "億": 1e8,
}
_CJK_SCALE |= {"万": 1e4, "萬": 1e4, "千": 1e3}

_NUMBER = r"\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PREFIX_RE = "|".join(sorted((re.escape(p) for p in _CURRENCY_PREFIX), key=len, reverse=True))
_SCALE_RE = "|".join(sorted(_SCALE_WORD, key=len, reverse=True))
_SUFFIX_RE = "|".join(sorted(_CURRENCY_SUFFIX, key=len, reverse=True))
_CJK_CUR_RE = "|".join(sorted(_CJK_CURRENCY, key=len, reverse=True))
_CJK_SCALE_RE = "|".join(sorted(_CJK_SCALE, key=len, reverse=True))

# "$29.9 million", "US$ 3.2M", "€3bn", "USD 29.9 million", "GBP 4.5m"
_EN_PREFIXED = re.compile(
    rf"(?<![A-Za-z])(?P<cur>{_PREFIX_RE})\s?(?P<num>{_NUMBER})"
    rf"(?:\s?(?P<scale>{_SCALE_RE})\b)?",
    re.IGNORECASE,
)
# "29.9 million dollars", "3 billion euros", "35 million USD"
_EN_SUFFIXED = re.compile(
    rf"(?<![\w.$€£¥])(?P<num>{_NUMBER})\s?(?P<scale>{_SCALE_RE})?\s(?P<cur>{_SUFFIX_RE})\b",
    re.IGNORECASE,
)
# "2990万美元", "1.6亿美元", "30亿欧元", "4,500万ドル", "252.50亿元"
_CJK_AMOUNT = re.compile(
    rf"(?P<num>{_NUMBER})\s?(?P<scale>{_CJK_SCALE_RE})?\s?(?P<cur>{_CJK_CUR_RE})"
)


@dataclass(frozen=True, order=True)
class Amount:
    """A sum of money: its value in units of ``currency`` (an ISO 4217 code)."""

    value: float
    currency: str
    digits: int = field(default=0, compare=False)  # significant digits as written, 0: unknown

    def __str__(self) -> str:
        for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if self.value >= scale:
                return f"{_plain(self.value / scale)}{unit} {self.currency}"
        return f"{_plain(self.value)} {self.currency}"

    @property
    def key(self) -> str:
        return f"amt:{self}"

    @property
    def precision(self) -> int:
        return self.digits or _significant(self.value)

    def agrees(self, other: Amount) -> bool:
        """The same sum, allowing one side to be a rounded form of the other ("$20 million" for
        $20.6 million, "$240M" for $238M). A single significant digit must match exactly, or
        "$3 billion" would agree with "$3.5 billion"."""
        if self.currency != other.currency:
            return False
        if math.isclose(self.value, other.value, rel_tol=1e-6):
            return True
        rough, fine = sorted((self, other), key=lambda a: a.precision)
        digits = rough.precision
        if digits < 2 or digits >= fine.precision:
            return False
        return any(math.isclose(rough.value, r, rel_tol=1e-6) for r in _rounded(fine.value, digits))


def _plain(value: float) -> str:
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.0f}"


def _significant(value: float) -> int:
    """Significant digits of a value as written (trailing zeros do not count)."""
    mantissa = f"{abs(value):.5e}".split("e")[0].replace(".", "").rstrip("0")
    return max(len(mantissa), 1)


def _rounded(value: float, digits: int) -> tuple[float, float]:
    """``value`` rounded and truncated to ``digits`` significant digits."""
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    unit = 10.0**exponent
    return round(value / unit) * unit, math.floor(value / unit) * unit


_DIGIT = re.compile(r"\d")
_PREFIX_REACH = max(len(p) for p in _CURRENCY_PREFIX) + 1  # "us $" and a space before a number


@dataclass(frozen=True)
class _Digits:
    """Where a text's digits are: the only places a match of a pattern that begins with a
    number can begin (``numbers_at`` tries those alone, not every position as ``finditer``)."""

    every: list[int]
    run_starts: list[int]  # digits after a non-digit

    @classmethod
    def of(cls, text: str) -> _Digits:
        every = [m.start() for m in _DIGIT.finditer(text)]
        return cls(every, [d for i, d in enumerate(every) if not i or every[i - 1] != d - 1])

    def before_numbers(self, reach: int) -> list[int]:
        """The positions up to ``reach`` before each number (where its prefix may begin)."""
        return sorted({s - k for s in self.run_starts for k in range(1, reach + 1) if s >= k})


def _matches_at(pattern: re.Pattern[str], text: str, starts: list[int]) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` when no match can begin elsewhere than at ``starts``
    (ascending): the same matches, left to right, none overlapping the one before."""
    end = 0
    for start in starts:
        if start < end:
            continue
        match = pattern.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def _to_float(number: str) -> float:
    return float(number.replace(",", "").replace("，", ""))


def amounts(text: str) -> list[Amount]:
    """Every sum of money in ``text``, in order of appearance, without repeats."""
    return _amounts(normalise_text(text))[0]


def _amounts(text: str) -> tuple[list[Amount], list[tuple[int, int]]]:
    """The sums of money in normalised ``text``, and where every phrase of money is (each
    pattern's matches, overlapping or not: what ``numbers`` leaves out)."""
    return _amounts_at(text, _Digits.of(text))


def _amounts_at(text: str, digits: _Digits) -> tuple[list[Amount], list[tuple[int, int]]]:
    found: list[tuple[int, Amount]] = []
    spans: list[tuple[int, int]] = []
    if not digits.every:
        return [], spans
    taken: list[tuple[int, int]] = []
    # every phrase of money has a number: it begins at a digit, or at most a currency prefix
    # and a space before the first digit of a number
    prefixed = digits.before_numbers(_PREFIX_REACH)
    for match in _matches_at(_EN_PREFIXED, text, prefixed):
        scale = _SCALE_WORD.get((match["scale"] or "").lower(), 1.0)
        currency = _CURRENCY_PREFIX[re.sub(r"\s+", " ", match["cur"].lower())]
        found.append((match.start(), _amount(match["num"], scale, currency)))
        taken.append(match.span())
    spans += taken
    for pattern, scales, currencies in (
        (_EN_SUFFIXED, _SCALE_WORD, _CURRENCY_SUFFIX),
        (_CJK_AMOUNT, _CJK_SCALE, _CJK_CURRENCY),
    ):
        for match in _matches_at(pattern, text, digits.every):
            spans.append(match.span())
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            scale = scales.get((match["scale"] or "").lower(), 1.0)
            currency = currencies[match["cur"].lower()]
            found.append((match.start(), _amount(match["num"], scale, currency)))
            taken.append(match.span())
    unique: dict[Amount, None] = {}
    for _, amount in sorted(found):
        unique.setdefault(amount)
    return list(unique), spans


def _amount(number: str, scale: float, currency: str) -> Amount:
    value = _to_float(number) * scale
    written = re.sub(r"\D", "", number).lstrip("0")
    digits = len(written.rstrip("0")) if "." not in number else len(written)
    digits = max(digits, 2 if len(written) >= 2 else 1)
    return Amount(float(f"{value:.6g}"), currency, digits)


# ------------------------------------------------------------------- percents and other numbers
_PERCENT = re.compile(rf"(?P<num>{_NUMBER})\s?(?:%|％|percent\b|per cent\b)", re.IGNORECASE)
_CJK_PERCENT = re.compile(rf"百分之(?P<num>{_NUMBER})")
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december"
)
_BARE_NUMBER = re.compile(rf"(?<![\w.,$€£¥#/-])(?P<num>{_NUMBER})(?![\w%％.,/-]|\.\d)")
_DATE_CONTEXT = re.compile(rf"(?:{_MONTHS})\.?\s*$", re.IGNORECASE)
_DATE_AFTER = re.compile(rf"^\s*(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{_MONTHS})\b", re.IGNORECASE)
_CJK_NOT_COUNT = re.compile(r"^\s*(?:年|月|日|号|時|时|点|时代|世纪|週|周|日目|位|名次)")


def percents(text: str) -> set[float]:
    """Percentages in ``text`` ("25%", "50 percent", "百分之十" is not read)."""
    return _percents(normalise_text(text))


def _percents(text: str, digits: _Digits | None = None) -> set[float]:
    digits = digits or _Digits.of(text)
    if not digits.every:
        return set()
    values = {_to_float(m["num"]) for m in _matches_at(_PERCENT, text, digits.every)}
    values |= {_to_float(m["num"]) for m in _CJK_PERCENT.finditer(text)}
    return values


def numbers(text: str) -> set[int]:
    """Other significant whole numbers (counts such as "25 projects", "14个州"): not years,
    days of a date, amounts of money, percentages, or 0 and 1."""
    text = normalise_text(text)
    digits = _Digits.of(text)
    return _numbers(text, _amounts_at(text, digits)[1], digits)


def _numbers(text: str, money: list[tuple[int, int]], digits: _Digits) -> set[int]:
    found: set[int] = set()
    for match in _matches_at(_BARE_NUMBER, text, digits.every):
        if "." in match["num"] or any(s <= match.start() < e for s, e in money):
            continue
        value = int(_to_float(match["num"]))
        before, after = text[: match.start()], text[match.end() :]
        if value < 2 or 1900 <= value <= 2100 or _DATE_CONTEXT.search(before[-12:]):
            continue
        if _DATE_AFTER.match(after) or _CJK_NOT_COUNT.match(after):
            continue
        found.add(value)
    return found


# ------------------------------------------------------------------------- acronyms and names
_ACRONYM = re.compile(r"(?<![\w*])([A-Z][A-Za-z0-9]*[A-Z*][A-Za-z0-9*&]*)(?![\w*])")
_NOT_ACRONYMS = frozenset(
    {
        "FACT",
        "SHEET",
        "JOBS",
        "REPORT",
        "TRUMP",
        "EFFECT",
        "NEW",
        "THE",
        "AND",
        "FOR",
        "US",
        "UK",
        "EU",
        "AI",
        "CEO",
        "PM",
        "AM",
    }
)
_NAME_WORD = re.compile(r"(?<![\w'])[A-Z][a-z]+(?:[-'][A-Za-z]+)*")
# Capitalised words that begin sentences or fill headlines without naming anything.
_COMMON = frozenset(
    [
        "a",
        "about",
        "across",
        "additional",
        "advanced",
        "after",
        "against",
        "all",
        "also",
        "america",
        "american",
        "americans",
        "an",
        "and",
        "announce",
        "announced",
        "announcement",
        "announces",
        "another",
        "any",
        "are",
        "as",
        "at",
        "award",
        "awarded",
        "awarding",
        "awards",
        "batteries",
        "battery",
        "be",
        "been",
        "before",
        "being",
        "between",
        "billion",
        "both",
        "but",
        "by",
        "can",
        "chain",
        "chains",
        "could",
        "critical",
        "day",
        "department",
        "deputy",
        "director",
        "during",
        "each",
        "energy",
        "establish",
        "establishing",
        "expand",
        "expanding",
        "federal",
        "first",
        "for",
        "from",
        "funding",
        "future",
        "government",
        "grant",
        "grants",
        "has",
        "have",
        "help",
        "helps",
        "how",
        "in",
        "inaugural",
        "including",
        "industrial",
        "industry",
        "initial",
        "innovation",
        "into",
        "investing",
        "investment",
        "investments",
        "invests",
        "is",
        "it",
        "its",
        "key",
        "latest",
        "launch",
        "launches",
        "make",
        "manufacturing",
        "material",
        "materials",
        "million",
        "more",
        "most",
        "national",
        "new",
        "next",
        "not",
        "of",
        "on",
        "one",
        "or",
        "our",
        "over",
        "partner",
        "partners",
        "plan",
        "president",
        "program",
        "programme",
        "project",
        "projects",
        "proposed",
        "receive",
        "receives",
        "research",
        "secretary",
        "sector",
        "secures",
        "selected",
        "semiconductor",
        "semiconductors",
        "signs",
        "so",
        "states",
        "strategy",
        "supply",
        "support",
        "supporting",
        "technologies",
        "technology",
        "that",
        "the",
        "their",
        "these",
        "this",
        "through",
        "to",
        "today",
        "two",
        "under",
        "united",
        "up",
        "us",
        "what",
        "when",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "year",
        "years",
    ]
)


def acronyms(text: str) -> set[str]:
    """Acronyms and camel-case short names: NSF, DoD, CHIPS, A*STAR, HREE."""
    return _acronyms(normalise_text(text))


def _acronyms(text: str) -> set[str]:
    found = set()
    for match in _ACRONYM.finditer(text):
        word = match[1]
        if len(word) <= 12 and word.upper() not in _NOT_ACRONYMS and not word.isdigit():
            found.add(word.upper())
    return found


def names(text: str) -> set[str]:
    """Capitalised words that may name something (companies, places, programmes), lowercased,
    without the words that headlines capitalise by style: "albemarle", "mountain", "nordtech"."""
    return _names(normalise_text(text))


def _names(text: str) -> set[str]:
    return {w.lower() for w in _NAME_WORD.findall(text) if len(w) >= 3 and w.lower() not in _COMMON}


# --------------------------------------------------------------------------------- all facts
@dataclass(frozen=True)
class Facts:
    """What an item says, in language-neutral form."""

    amounts: tuple[Amount, ...] = ()
    percents: frozenset[float] = frozenset()
    numbers: frozenset[int] = frozenset()
    acronyms: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()  # glossary keys: org:nsf, geo:us, topic:tariff

    def features(self) -> set[str]:
        """Language-neutral features for matching."""
        keys = {a.key for a in self.amounts}
        keys |= {f"pct:{_plain(p)}" for p in self.percents}
        keys |= {f"num:{n}" for n in self.numbers}
        keys |= {f"acr:{a}" for a in self.acronyms}
        keys |= {f"name:{n}" for n in self.names}
        return keys | set(self.entities)


def extract(texts: Iterable[str], glossary: Glossary | None = None) -> Facts:
    """The facts of an item from its title, summary and (bounded) article text."""
    joined = "\n".join(t for t in texts if t)
    text = normalise_text(joined)  # once: each step below reads the same normalised text
    digits = _Digits.of(text)
    found, money = _amounts_at(text, digits)
    return Facts(
        amounts=tuple(found),
        percents=frozenset(_percents(text, digits)),
        numbers=frozenset(_numbers(text, money, digits)),
        acronyms=frozenset(_acronyms(text)),
        names=frozenset(_names(text)),
        entities=frozenset((glossary or Glossary.builtin()).keys_in(joined)),
    )


def normalise_text(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), one space for any run of white space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip()


def amount_keys(found: Iterable[Amount]) -> Mapping[str, Amount]:
    return {a.key: a for a in found}
