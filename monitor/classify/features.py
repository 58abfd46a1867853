"""Text → features for the learned layer. Pure; no I/O; no third-party imports, so the service
can score items without loading scikit-learn.

Latin-script text gives lowercase words of two or more letters and word bigrams. Chinese (and
Japanese) text has no spaces between words, so a run of CJK characters gives its characters and
its character bigrams: the bigrams carry most words (稀土, 芯片, 钢铁, 条例), the characters the
one-character words and name parts a bigram splits (钢, 铝, 锂, 镓). Measured on the labeled
Chinese set (docs/classification.md): characters and bigrams place sections better than bigrams
alone; character trigrams and dropping function characters measured no better.
"""

from __future__ import annotations

import itertools
import re

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+|[^\W\d_][\w\-]*\w|\d+[a-z]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_STOP_WORDS = (
    "the a an of to in on for and with by at from as is are be its it this that new into over "
    "us about after will has have was were how what why their our your his her they we you "
    "than more can may also not but or"
)
STOP = frozenset(_STOP_WORDS.split())


def cjk_features(run: str) -> list[str]:
    """Character bigrams and characters of a run of CJK characters (a lone character is its
    own feature)."""
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)] + list(run)


def analyze(text: str) -> list[str]:
    """Features of ``text``: words, word bigrams, CJK character bigrams and characters."""
    features: list[str] = []
    words: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        first = token[0]
        if "\u3040" <= first <= "\u30ff" or "\u3400" <= first <= "\u9fff":  # _CJK.match
            features.extend(cjk_features(token))
            words.append("|")  # no bigram across a Chinese run
            continue
        if "-" in token:
            token = token.replace("-", "")
        if token in STOP:
            words.append("|")
            continue
        features.append(token)
        words.append(token)
    features += [f"{a} {b}" for a, b in itertools.pairwise(words) if a != "|" and b != "|"]
    return features
