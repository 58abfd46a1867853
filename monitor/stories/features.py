"""An item as a bag of weighted features: content words (English and other Latin-script
languages), character bigrams (Chinese, Japanese), and the language-neutral facts of
``monitor.stories.facts``. Pure; no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.stories.facts import Amount, Facts, extract, normalise_text
from monitor.stories.glossary import Glossary

TEXT_LIMIT = 1500  # characters of article text used: its opening says what the story is
KEEP = 64  # features kept per item (bounded memory)
NEUTRAL_PREFIXES = ("amt:", "pct:", "num:", "acr:", "name:", "org:", "geo:", "topic:")

_WORD = re.compile(r"[a-z0-9][a-z0-9'*&-]*[a-z0-9*]|[a-z]", re.IGNORECASE)
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+")
_NOT_LATIN = re.compile(r"[^A-Za-z]+")
_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "said",
        "says",
        "today",
        "new",
        "year",
        "years",
        "week",
        "via",
        "per",
        "amid",
        "across",
        "including",
        "among",
    ]
)
# Words that every agency release uses: kept, but weighted down.
GENERIC = frozenset(
    [
        "administration",
        "agency",
        "announce",
        "announced",
        "announcement",
        "announces",
        "award",
        "awarded",
        "awards",
        "biden",
        "build",
        "builds",
        "department",
        "director",
        "domestic",
        "expand",
        "federal",
        "fund",
        "funded",
        "funding",
        "government",
        "grant",
        "grants",
        "harris",
        "help",
        "helps",
        "industry",
        "invest",
        "invested",
        "investing",
        "investment",
        "investments",
        "invests",
        "million",
        "billion",
        "national",
        "nation",
        "new",
        "office",
        "president",
        "program",
        "programme",
        "project",
        "projects",
        "release",
        "released",
        "research",
        "secretary",
        "state",
        "states",
        "support",
        "supports",
        "united",
        "u.s",
        "deputy",
        "official",
        "officials",
        "plan",
        "plans",
        "launch",
        "launches",
        "initiative",
        "effort",
        "efforts",
        "according",
        "company",
        "companies",
        "first",
        "part",
        "us",
        "america",
        "american",
        "new",
    ]
)


@dataclass(frozen=True)
class Profile:
    """What the index keeps of an item."""

    counts: dict[str, float]  # feature → sublinear term frequency (top ``KEEP`` features)
    cjk: bool  # written mainly in Chinese/Japanese characters
    amounts: tuple[Amount, ...]
    percents: frozenset[float]
    orgs: frozenset[str]
    names: frozenset[str]

    def neutral(self) -> dict[str, float]:
        return {f: w for f, w in self.counts.items() if f.startswith(NEUTRAL_PREFIXES)}


def profile(title: str, summary: str, text: str, glossary: Glossary) -> Profile:
    """The features of an item; the title counts twice (it says what the story is)."""
    body = normalise_text(text)[:TEXT_LIMIT]
    parts = [normalise_text(title), normalise_text(summary), body]
    facts = extract(parts, glossary)
    cjk = _is_cjk(" ".join(parts))
    counts: dict[str, int] = {}
    get = counts.get
    for weight, part in zip((2, 1, 1), parts, strict=True):
        for token in _tokens(part):
            counts[token] = get(token, 0) + weight
    keys = facts.features()
    for key in keys:
        counts[key] = get(key, 0) + 2
    scaled = {f: _sublinear(c) * (0.35 if f in GENERIC else 1.0) for f, c in counts.items()}
    kept = dict(sorted(scaled.items(), key=_rank)[:KEEP])
    for key in keys:  # the facts are never dropped for plain words
        kept.setdefault(key, scaled[key])
    return Profile(
        counts=kept,
        cjk=cjk,
        amounts=facts.amounts,
        percents=facts.percents,
        orgs=frozenset(e for e in facts.entities if e.startswith("org:")),
        names=_names(facts),
    )


def _rank(item: tuple[str, float]) -> tuple[float, str]:
    return -item[1], item[0]


_SUBLINEAR = [0.0] + [1 + math.log(c) for c in range(1, 64)]


def _sublinear(count: int) -> float:
    return _SUBLINEAR[count] if count < 64 else 1 + math.log(count)


def _names(facts: Facts) -> frozenset[str]:
    return facts.names | {a.lower() for a in facts.acronyms}


def tokens(text: str) -> Iterable[str]:
    """Content words (lowercased, plural ``s`` cut) and character bigrams of CJK runs."""
    return _tokens(text)


_TERMS: dict[str, str] = {}  # a lowercased word → its term ("": not a content word)


def _tokens(text: str) -> list[str]:
    found = []
    runs = _CJK_RUN.findall(text)
    for run in runs:
        if len(run) == 1:
            found.append(run)
        found += [run[i : i + 2] for i in range(len(run) - 1)]
    latin = (_CJK_RUN.sub(" ", text) if runs else text).lower()
    terms = _TERMS
    for word in _WORD.findall(latin):
        term = terms.get(word)
        if term is None:
            if len(terms) > 500_000:
                terms.clear()
            term = terms[word] = _term(word)
        if term:
            found.append(term)
    return found


def _term(word: str) -> str:
    if word in _STOP or word.isdigit() or len(word) < 2:
        return ""
    return _stem(word)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _is_cjk(text: str) -> bool:
    cjk = sum(len(r) for r in _CJK_RUN.findall(text))
    latin = len(_NOT_LATIN.sub("", text))
    return cjk > 0 and cjk * 2 >= latin
