"""Layer 1 of the classifier: weighted terms from the configuration. Pure; no I/O.

Term syntax (keys of the ``terms`` mappings in sources.yaml):
- English words and phrases match whole words, case-insensitively; a space or hyphen in a
  phrase matches any run of spaces or hyphens ("3d printing" matches "3D-printing").
- A trailing ``*`` matches any word ending ("manufactur*" matches "manufacturing").
- Words written in capitals (``AI``, ``CHIPS``) match only in capitals, and so does a one-word
  term with an initial capital (``Act``, ``Inc``); everything else ignores case.
- Terms with Chinese characters match as plain text (Chinese has no spaces between words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CJK = re.compile(r"[\u3400-\u9fff]")


def compile_term(term: str) -> re.Pattern[str]:
    """A regular expression for one term; ValueError explains a term that cannot be used."""
    raw = term.strip()
    if not raw or raw == "*":
        raise ValueError("empty term")
    if _CJK.search(raw):
        return re.compile(re.escape(raw.rstrip("*")))
    stem = raw.endswith("*")
    body = raw.rstrip("*")
    words = [w for w in re.split(r"[\s-]+", body) if w]
    if not words:
        raise ValueError(f"term {term!r} has no words")
    proper = len(words) == 1 and words[0][0].isupper()
    pattern = r"[\s\-]+".join(
        f"(?-i:{re.escape(w)})" if proper or _is_acronym(w) else re.escape(w) for w in words
    )
    start = r"(?<![\w])" if body[0].isalnum() else ""
    end = r"\w*" if stem else (r"(?![\w])" if body[-1].isalnum() else "")
    return re.compile(start + pattern + end, re.IGNORECASE)


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


@dataclass(frozen=True)
class Term:
    text: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Hit:
    group: str  # topic id, "exclude", or a section name
    term: str
    weight: float  # after the field factor
    field: str


FIELD_FACTORS = {"title": 1.0, "summary": 0.7, "text": 0.4}


def compile_terms(terms: dict[str, float]) -> tuple[Term, ...]:
    return tuple(Term(t, float(w), compile_term(t)) for t, w in terms.items())


def match(group: str, terms: tuple[Term, ...], fields: dict[str, str]) -> list[Hit]:
    """Each term counts once, in the most telling field it occurs in."""
    hits = []
    for term in terms:
        for field, factor in FIELD_FACTORS.items():
            text = fields.get(field)
            if text and term.pattern.search(text):
                hits.append(Hit(group, term.text, term.weight * factor, field))
                break
    return hits
