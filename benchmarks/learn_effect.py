"""What labels learned from published issues do for later weeks: train on the weeks before a
cut (the labels `monitor learn` would have recorded from those weeks' issues), measure on the
weeks after it, for several cuts, against the rules alone and against the model trained
without any label from the editors' issues (the rules' seed only).

    python benchmarks/learn_effect.py [LABELED.jsonl]
    (default: ../shared/devdata/labeled_items.jsonl)

The labeled items are the editors' picks from real bulletins (label 1, in the section they
were published under) and items of the same agencies they did not pick (label 0): exactly
what learning a published issue records. Figures are for the later weeks only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.classify import Classifier, Doc  # noqa: E402
from monitor.classify.dataset import Example, load_examples  # noqa: E402
from monitor.classify.evaluate import score  # noqa: E402
from monitor.classify.train import fit  # noqa: E402
from monitor.config import load_config  # noqa: E402

CUTS = (0.25, 0.5, 0.75)


def figures(classifier: Classifier, tested: list[Example]) -> str:
    rows, preds = [], []
    for e in tested:
        decision = classifier.classify(
            Doc(title=e.title, summary=e.summary, publisher=e.publisher, section_hint=None)
        )
        rows.append({"label": e.label, "section": e.section})
        preds.append({"relevant": decision.relevant, "section": decision.section})
    s = score(rows, preds)
    return f"P {s.precision:.3f}  R {s.recall:.3f}  F1 {s.f1:.3f}  section {s.section_accuracy:.3f}"


def main() -> None:
    path = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else ROOT.parent / "shared/devdata/labeled_items.jsonl"
    )
    config = load_config(ROOT / "sources.yaml")
    examples = sorted(load_examples(path), key=lambda e: e.date)
    weeks = sorted({e.date[:10] for e in examples})
    rules = Classifier(config)
    print(f"{len(examples)} labeled items, {weeks[0]} to {weeks[-1]}")
    for cut in CUTS:
        day = weeks[int(len(weeks) * cut)]
        learned = [e for e in examples if e.date < day]
        later = [e for e in examples if e.date >= day]
        positives = sum(e.label == "1" for e in later)
        print(
            f"\nlearned from the issues before {day} ({len(learned)} labels); "
            f"measured on {len(later)} later items ({positives} picked by the editors)"
        )
        print(f"  rules alone                  {figures(rules, later)}")
        model = fit(learned, config)
        print(f"  rules + model (learned)      {figures(Classifier(config, model), later)}")
        kept_only = [e for e in learned if e.label == "1"] + [e for e in learned if e.label != "1"][
            : max(1, len(learned) // 10)
        ]
        model = fit(kept_only, config)
        print(f"  kept only, few drops         {figures(Classifier(config, model), later)}")


if __name__ == "__main__":
    main()
