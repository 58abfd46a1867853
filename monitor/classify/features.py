"""Text → features for the learned layer. Pure; no I/O; no third-party imports, so the service
can score items without loading scikit-learn.

Latin-script text gives lowercase words of two or more letters and word bigrams; Chinese (and
Japanese) text gives character bigrams.
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


def analyze(text: str) -> list[str]:
    """Features of ``text``: words, word bigrams, CJK character bigrams."""
    features: list[str] = []
    words: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        first = token[0]
        if "\u3040" <= first <= "\u30ff" or "\u3400" <= first <= "\u9fff":  # _CJK.match
            features.extend(token[i : i + 2] for i in range(max(len(token) - 1, 1)))
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
