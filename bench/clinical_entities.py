"""HealthScribe ClinicalInsights: precision and recall of emulator.engine.clinical_entities on
the labelled sentences of tests/unit/clinical_entities_labelled.tsv, overall and per category,
and the extraction time per sentence.

    python bench/clinical_entities.py             # both splits
    python bench/clinical_entities.py --split heldout --misses

Run from the repository root with the project's virtualenv. An entity counts as found when its
category and text (case aside) match a labelled one. It prints a table and exits 0 whatever the
figures are: a measurement, not a test (tests/unit/test_clinical_entities.py holds the floors).
Timings are wall time with spaCy already loaded; on a shared CPU they are rough.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emulator.engine.clinical_entities import CATEGORIES, extract_many  # noqa: E402

LABELLED = REPO / "tests" / "unit" / "clinical_entities_labelled.tsv"


def rows(split: str) -> list[tuple[str, set[tuple[str, str]]]]:
    out = []
    for line in LABELLED.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, sentence, *rest = line.split("\t")
        if split in ("all", name):
            wanted = {tuple(e.split(":", 1)) for e in (rest[0] if rest else "").split("|") if e}
            out.append((sentence, {(c, t.lower()) for c, t in wanted}))
    return out


def measure(split: str, show_misses: bool) -> None:
    data = rows(split)
    extract_many(["warm up"])  # load spaCy outside the timing
    began = time.perf_counter()
    found = extract_many([sentence for sentence, _ in data])
    per_sentence = (time.perf_counter() - began) / max(len(data), 1)
    counts = {c: Counter() for c in ("all", *CATEGORIES)}
    for (sentence, wanted), entities in zip(data, found):
        got = {(e.category, e.span.text.lower()) for e in entities}
        for category in counts:
            keep = (lambda pair: True) if category == "all" else (lambda pair, c=category: pair[0] == c)
            g, w = {p for p in got if keep(p)}, {p for p in wanted if keep(p)}
            counts[category].update(tp=len(g & w), predicted=len(g), expected=len(w))
        if show_misses and got != wanted:
            print(f"  {sentence}\n    extra {sorted(got - wanted)}  missed {sorted(wanted - got)}")
    print(f"{split}: {len(data)} sentences, {per_sentence * 1000:.1f} ms per sentence")
    print(f"  {'category':<26}{'precision':>10}{'recall':>8}{'found':>7}{'labelled':>9}")
    for category, c in counts.items():
        precision = c["tp"] / c["predicted"] if c["predicted"] else float("nan")
        recall = c["tp"] / c["expected"] if c["expected"] else float("nan")
        print(f"  {category:<26}{precision:>10.2f}{recall:>8.2f}{c['predicted']:>7}{c['expected']:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "heldout", "all", "both"), default="both")
    parser.add_argument("--misses", action="store_true", help="print each sentence whose entities differ")
    args = parser.parse_args()
    for split in ("dev", "heldout") if args.split == "both" else (args.split,):
        measure(split, args.misses)


if __name__ == "__main__":
    main()
