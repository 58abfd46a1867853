"""Item identity and near-duplicates. Pure; no I/O.

- ``canonical_url``: the key of an item. Tracking parameters, fragments, ``www.``, default ports,
  trailing slashes and the http/https difference are removed; the remaining query is sorted.
- ``fingerprint``: a hash of the normalised title and summary, to tell a changed item from an
  unchanged one.
- ``same_story``: whether two items from different sources announce the same thing.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PREFIXES = ("utm_", "wt.", "mc_", "_hs", "hsa_", "pk_", "mtm_", "ga_", "__s")
TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "cmpid",
        "ocid",
        "ncid",
        "s_cid",
        "sr_share",
        "ref_src",
        "xtor",
        "spm",
        "smid",
    }
)


def canonical_url(url: str) -> str:
    """The identity of a URL: two URLs with the same canonical form are the same item."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a broken IPv6 host or port: nothing to normalise
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url
    if not re.fullmatch(r"[\w.:%-]+", parts.hostname):  # not a host name: nothing to normalise
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    host = parts.hostname.lower().rstrip(".")
    while host.startswith("www."):  # all of them, or the result would change when repeated
        host = host.removeprefix("www.")
    host = f"[{host}]" if ":" in host else host  # IPv6
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"

    def tidy(path: str) -> str:
        return re.sub(r"/{2,}", "/", path).rstrip("/") or "/"

    rebuilt = urlunsplit(("https", netloc, tidy(parts.path), urlencode(query), ""))
    # canonicalize_url reads "\" as "/", drops control characters and resolves "." segments,
    # which can bring back "//" or a trailing "/" (and change the result of a second pass)
    canonical = urlsplit(canonicalize_url(rebuilt, keep_fragments=False))
    return urlunsplit(canonical._replace(path=tidy(canonical.path)))


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_NAMES or lowered.startswith(TRACKING_PREFIXES)


def clean_link(url: str) -> str:
    """The URL to show an editor: as published, minus tracking parameters and fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # a broken IPv6 host
        return url.strip()
    if not parts.query and not parts.fragment:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_WORD = re.compile(r"[\w]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "is",
        "are",
        "be",
        "its",
        "it",
        "this",
        "that",
        "new",
        "into",
        "over",
        "us",
        "u.s",
        "about",
        "after",
        "will",
        "has",
        "have",
        "was",
        "were",
        "how",
        "what",
        "why",
    ]
)


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).lower()
    return " ".join(_WORD.findall(text))


def fingerprint(title: str, summary: str) -> str:
    """Changes when what an editor reads changes; ignores case, punctuation and spacing."""
    basis = normalise_title(title) + "\n" + normalise_title(summary)
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def title_tokens(title: str) -> frozenset[str]:
    """Content words of a title; Chinese titles give character bigrams."""
    text = normalise_title(title)
    if _CJK.search(text):
        chars = [c for c in text if not c.isspace()]
        return frozenset(a + b for a, b in itertools.pairwise(chars))
    return frozenset(w for w in text.split() if w not in STOPWORDS and len(w) > 1)


@dataclass(frozen=True)
class StoryCandidate:
    """An already stored item that a new one might duplicate."""

    item_id: int
    story_id: int
    source_ids: frozenset[str]
    title: str
    published: date | None


STORY_SIMILARITY = 0.6
STORY_WINDOW_DAYS = 10


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap coefficient of two token sets (robust to one title being longer)."""
    if len(a) < 3 or len(b) < 3:
        return 1.0 if a == b and a else 0.0
    return len(a & b) / min(len(a), len(b))


def same_story(
    title: str, published: date | None, source_id: str, candidates: Iterable[StoryCandidate]
) -> StoryCandidate | None:
    """The stored item of another source most likely announcing the same thing, if any."""
    tokens = title_tokens(title)
    best, best_score = None, STORY_SIMILARITY
    for candidate in candidates:
        if source_id in candidate.source_ids:
            continue
        if (
            published
            and candidate.published
            and abs((published - candidate.published).days) > STORY_WINDOW_DAYS
        ):
            continue
        score = similarity(tokens, title_tokens(candidate.title))
        if score >= best_score:
            best, best_score = candidate, score
    return best
