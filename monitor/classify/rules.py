"""Layer 1 of the classifier: weighted terms from the configuration. Pure; no I/O.

Term syntax (keys of the ``terms`` mappings in sources.yaml):
- English words and phrases match whole words, ignoring case; the words of a phrase may be
  separated by spaces, hyphens or punctuation ("3d printing" matches "3D-printing").
- A trailing ``*`` matches any word ending ("manufactur*" matches "manufacturing").
- Words written in capitals (``AI``, ``CHIPS``) match only in capitals, and so does a one-word
  term with an initial capital (``Act``, ``Inc``).
- Terms with Chinese characters match as plain text (Chinese has no spaces between words).

Matching tokenises each text once and looks terms up in dictionaries, so the cost grows with
the length of the text, not with the number of terms.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"\w+")
FIELD_FACTORS = {"title": 1.0, "summary": 0.7, "text": 0.4}


@dataclass(frozen=True)
class Term:
    """One parsed term: its words (lowercased unless case-sensitive), and how they match."""

    text: str
    weight: float
    words: tuple[str, ...]
    exact_case: tuple[bool, ...]
    stem: bool
    cjk: bool


@dataclass(frozen=True)
class Hit:
    group: str  # topic id, "exclude", or a section name
    term: str
    weight: float  # after the field factor
    field: str


def parse_term(text: str, weight: float = 1.0) -> Term:
    """Parse a term; ValueError explains a term that cannot be used."""
    raw = text.strip()
    body = raw.rstrip("*")
    if not body:
        raise ValueError("empty term")
    if _CJK.search(body):
        return Term(text, weight, (body,), (True,), False, True)
    words = _WORD.findall(body)
    if not words:
        raise ValueError(f"term {text!r} has no letters or digits")
    proper = len(words) == 1 and words[0][0].isupper()
    exact = tuple(proper or _is_acronym(w) for w in words)
    lowered = tuple(w if e else w.lower() for w, e in zip(words, exact, strict=True))
    return Term(text, weight, lowered, exact, raw.endswith("*"), False)


def compile_term(text: str) -> Term:
    """Validate one term (used by the configuration loader)."""
    return parse_term(text)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


class TermIndex:
    """Many groups of weighted terms, matched together."""

    def __init__(self, groups: dict[str, dict[str, float]]) -> None:
        self._by_word: dict[str, list[tuple[str, Term]]] = defaultdict(list)
        self._by_stem: dict[str, list[tuple[str, Term]]] = defaultdict(list)
        self._cjk: list[tuple[str, Term]] = []
        self._stem_lengths: set[int] = set()
        self._stem_cache: dict[str, list[tuple[str, Term]]] = {}
        for group, terms in groups.items():
            for text, weight in terms.items():
                self._add(group, parse_term(text, float(weight)))

    def _add(self, group: str, term: Term) -> None:
        if term.cjk:
            self._cjk.append((group, term))
        elif term.stem and len(term.words) == 1:
            self._by_stem[term.words[0].lower()].append((group, term))
            self._stem_lengths.add(len(term.words[0]))
        else:
            self._by_word[term.words[0].lower()].append((group, term))

    def match(self, fields: dict[str, str]) -> list[Hit]:
        """Each (group, term) counts once, in the most telling field it occurs in."""
        hits: dict[tuple[str, str], Hit] = {}
        for field, factor in FIELD_FACTORS.items():
            text = fields.get(field)
            if not text:
                continue
            for group, term in self._found(text):
                key = (group, term.text)
                if key not in hits:
                    hits[key] = Hit(group, term.text, term.weight * factor, field)
        return list(hits.values())

    def _stemmed(self, token: str) -> list[tuple[str, Term]]:
        """The stem terms a lowercased word starts with (cached: words repeat)."""
        found = self._stem_cache.get(token)
        if found is None:
            found = [
                hit
                for length in self._stem_lengths
                if length <= len(token)
                for hit in self._by_stem.get(token[:length], ())
            ]
            if len(self._stem_cache) > 200_000:
                self._stem_cache.clear()
            self._stem_cache[token] = found
        return found

    def _found(self, text: str) -> Iterable[tuple[str, Term]]:
        tokens = _WORD.findall(text)
        lowered = [t.lower() for t in tokens]
        by_word, stems = self._by_word, self._stem_cache
        for i, token in enumerate(lowered):
            for group, term in by_word.get(token, ()):
                if _matches_at(term, tokens, lowered, i):
                    yield group, term
            stemmed = stems.get(token)
            if stemmed is None:
                stemmed = self._stemmed(token)
            for group, term in stemmed:
                if not term.exact_case[0] or tokens[i].startswith(term.words[0]):
                    yield group, term
        if self._cjk and _CJK.search(text):
            for group, term in self._cjk:
                if term.words[0] in text:
                    yield group, term


def _matches_at(term: Term, tokens: list[str], lowered: list[str], start: int) -> bool:
    if start + len(term.words) > len(tokens):
        return False
    last = len(term.words) - 1
    for offset, (word, exact) in enumerate(zip(term.words, term.exact_case, strict=True)):
        candidate = tokens[start + offset] if exact else lowered[start + offset]
        if offset == last and term.stem:
            if not candidate.startswith(word):
                return False
        elif candidate != word:
            return False
    return True
