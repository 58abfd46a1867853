"""Measures of a classifier against labeled items. Pure; no I/O.

Labels follow the rubric (docs/classification.md): ``label`` 1 include, 0 leave out, "b"
borderline. Borderline items are reported apart and never counted in the scores.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from monitor.config import SECTIONS


@dataclass(frozen=True)
class Scores:
    tp: int
    fp: int
    fn: int
    tn: int
    section_right: int
    section_total: int
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)
    borderline: int = 0
    borderline_included: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def section_accuracy(self) -> float:
        return self.section_right / self.section_total if self.section_total else 0.0


def label_of(row: dict[str, Any]) -> str:
    """ "1", "0" or "b"."""
    return str(row.get("label")).strip().lower()


def score(rows: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> Scores:
    """Compare predictions (``relevant``, ``section``) with labeled rows, pairwise.

    Section accuracy is measured on the items labeled 1, whatever the relevance prediction."""
    tp = fp = fn = tn = right = total = border = border_in = 0
    confusion: Counter[tuple[str, str]] = Counter()
    for row, pred in zip(rows, predictions, strict=True):
        label, relevant = label_of(row), bool(pred.get("relevant"))
        if label == "b":
            border += 1
            border_in += relevant
            continue
        if label == "1":
            tp += relevant
            fn += not relevant
            if row.get("section") in SECTIONS:
                total += 1
                right += pred.get("section") == row["section"]
                confusion[(row["section"], str(pred.get("section")))] += 1
        else:
            fp += relevant
            tn += not relevant
    return Scores(tp, fp, fn, tn, right, total, dict(confusion), border, border_in)


def report(scores: Scores) -> str:
    lines = [
        f"relevance  precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}   (tp {scores.tp}, fp {scores.fp}, fn {scores.fn}, tn {scores.tn})",
        f"section    accuracy {scores.section_accuracy:.3f}   "
        f"({scores.section_right}/{scores.section_total} items labeled 1)",
        f"borderline {scores.borderline} items, {scores.borderline_included} predicted relevant "
        "(not scored)",
        "",
        "section confusion (rows: label, columns: predicted)",
        "           " + " ".join(f"{s:>9}" for s in SECTIONS),
    ]
    for truth in SECTIONS:
        cells = " ".join(f"{scores.confusion.get((truth, p), 0):>9}" for p in SECTIONS)
        lines.append(f"{truth:>10} {cells}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Calibration:
    brier: float
    bins: list[tuple[float, float, int]]  # (mean score, share relevant, count) per score decile


def calibration(rows: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> Calibration:
    """How far scores are from being probabilities (items labeled 0 or 1 only)."""
    pairs = [
        (float(p.get("score", 0.0)), 1.0 if label_of(r) == "1" else 0.0)
        for r, p in zip(rows, predictions, strict=True)
        if label_of(r) in ("0", "1")
    ]
    brier = sum((s - y) ** 2 for s, y in pairs) / len(pairs) if pairs else 0.0
    bins = []
    for b in range(10):
        inside = [(s, y) for s, y in pairs if b / 10 <= s < (b + 1) / 10 or (b == 9 and s == 1)]
        if inside:
            mean = sum(s for s, _ in inside) / len(inside)
            bins.append((mean, sum(y for _, y in inside) / len(inside), len(inside)))
    return Calibration(brier, bins)


def calibration_report(cal: Calibration) -> str:
    lines = [
        f"calibration  Brier score {cal.brier:.3f}  (score bin: mean score → share relevant, n)"
    ]
    lines += [f"  {mean:.2f} → {share:.2f}  (n={n})" for mean, share, n in cal.bins]
    return "\n".join(lines)


def topic_scores(rows: list[dict[str, Any]], predictions: list[dict[str, Any]]) -> str:
    """Micro precision and recall of topics over the items labeled 1 that carry topics."""
    tp = fp = fn = 0
    for row, pred in zip(rows, predictions, strict=True):
        truth = set(row.get("topics") or ())
        if label_of(row) != "1" or not truth:
            continue
        guess = set(pred.get("topics") or ())
        tp, fp, fn = tp + len(truth & guess), fp + len(guess - truth), fn + len(truth - guess)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return f"topics     precision {precision:.3f}  recall {recall:.3f}  (micro, items labeled 1)"
