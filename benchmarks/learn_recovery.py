"""How much of each published bulletin ``read_published`` recovers, against counts made by hand.

    python benchmarks/learn_recovery.py [DIR]

DIR defaults to ../shared/reference beside the repository. For each .txt, .md, .docx and .pdf file
in it: entries found, entries with a recovered citation title (of a source, not the journal article
a research entry names), with a URL, with a date, with an outlet, with a journal article, and the
sections assigned; for the files counted by hand (EXPECTED) the recall, recovered / expected.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from monitor.learn import PublishedEntry, PublishedError, PublishedIssue, read_published

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "reference"
SUFFIXES = {".txt", ".md", ".docx", ".pdf"}
COLUMNS = ("entries", "title", "url", "date", "outlet", "paper")

# Counted by hand in each file. A date counts where the file states one: the 2020 issue's
# 编译自[YYYY-MM-DD]; the 2024 footnotes state none, but three URLs carry a full date
# (JRC -2024-09-24_en, White House /2024/09/20/, Princeton /2024/09/16/). zj cites outlets only
# (（新华网）...), and its 观点评述 section maps to no key (None).
EXPECTED: dict[str, dict[str, int]] = {
    "cas-bulletin-2024-issue.txt": {
        "entries": 17,
        "title": 17,
        "url": 17,
        "date": 3,
        "outlet": 0,
        "paper": 6,
        "feature": 1,
        "strategy": 3,
        "funding": 5,
        "industry": 1,
        "research": 7,
    },
    "cas-bulletin-2020-issue.txt": {
        "entries": 8,
        "title": 7,  # 长春应化所 ... cites only its Nature article
        "url": 7,
        "date": 7,
        "outlet": 0,
        "paper": 1,
        "feature": 1,
        "strategy": 1,
        "funding": 4,
        "research": 2,
    },
    "zj-bulletin-2021-02.txt": {
        "entries": 23,
        "title": 0,
        "url": 0,
        "date": 0,
        "outlet": 23,
        "paper": 0,
        "strategy": 6,  # 科技战略 4 + 智库报告 2
        "None": 4,  # 观点评述
        "industry": 7,  # 名企快讯 4 + 地方动态 3
        "research": 6,
    },
}


def counts(issue: PublishedIssue) -> Counter[str]:
    """Entries, entries with each kind of recovered citation field, and entries per section."""
    found: Counter[str] = Counter(entries=len(issue.entries))
    for entry in issue.entries:
        for column, present in has(entry).items():
            found[column] += present
        found[str(entry.section)] += 1
    return found


def has(entry: PublishedEntry) -> dict[str, bool]:
    sources = [c for c in entry.citations if c.kind != "paper"]
    return {
        "title": any(c.title for c in sources),
        "url": any(c.url for c in sources),
        "date": any(c.date for c in sources),
        "outlet": any(c.outlet for c in sources),
        "paper": any(c.kind == "paper" for c in entry.citations),
    }


def recall(found: int, expected: int | None) -> str:
    if expected is None:
        return ""
    if expected == 0:
        return "—" if found == 0 else f"{found} unexpected"
    return f"{100 * min(found, expected) / expected:.0f}%"


def report(path: Path) -> tuple[int, int]:
    """Print one file's figures; return (recovered, expected) summed over the counted columns."""
    try:
        issue = read_published(path)
    except PublishedError as e:
        print(f"{e}\n")
        return 0, 0
    found = counts(issue)
    expected = EXPECTED.get(path.name)
    print(f"{path.name}  layout={issue.layout}  title={issue.title}  issue={issue.issue_label}")
    print(f"  {'':<8}{'found':>7}{'expected':>10}{'recall':>9}")
    got = want = 0
    for column in COLUMNS:
        want_here = expected.get(column) if expected else None
        print(
            f"  {column:<8}{found[column]:>7}{want_here if want_here is not None else '':>10}"
            f"{recall(found[column], want_here):>9}"
        )
        if want_here:
            got, want = got + min(found[column], want_here), want + want_here
    keys = ("feature", "strategy", "funding", "industry", "research", "None")
    shown = ", ".join(
        f"{k} {found[k]}" + (f"/{expected.get(k, 0)}" if expected else "")
        for k in keys
        if found[k] or (expected and expected.get(k))
    )
    print(f"  sections: {shown}")
    for note in issue.notes:
        print(f"  note: {note}")
    print()
    return got, want


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    files = sorted(p for p in args.directory.iterdir() if p.suffix.lower() in SUFFIXES)
    if not files:
        parser.error(f"no .txt, .md, .docx or .pdf file in {args.directory}")
    got = want = 0
    for path in files:
        g, w = report(path)
        got, want = got + g, want + w
    if want:
        print(f"overall recall (counted columns): {got}/{want} = {100 * got / want:.1f}%")


if __name__ == "__main__":
    main()
