"""Split the built corpus into train / val / test / xval / xtest / pval / ptest folders (symlinks).

- val / test: the fixed in-source lists of tables/heldout.csv (unchanged since the first corpus,
  so old numbers stay comparable); val is for choices, test only for final tables.
- train: every other image of the sources whose group in tables/sources.csv is ``insource``.
- xval / xtest: *cross-source* splits: every image of the sources grouped ``xval`` / ``xtest``.
  Those packages contribute nothing to train, val or test, so xtest measures generalisation to
  unseen sources; xval is used for choices, xtest never.
- pval / ptest: *photo x art* splits, held out whole in the same way: every image of the
  sources grouped ``pval`` / ``ptest`` -- natural photographs as contents, paintings and other
  art as styles (see tools/corpus/build.py) -- to see whether a model paints a photograph rather
  than recolouring it. pval is used for choices, ptest never. No package feeds two of the
  held-out splits, nor train/val/test.

The assignment depends only on the tables and the manifest, so it is deterministic; the result
is written to OUT/splits.csv (file, split, source) as well as to the symlink folders.

    python -m tools.corpus.splits data/corpus data/splits
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from tools.corpus.build import MANIFEST_NAME, TABLES, check_not_reserved, load_sources, read_manifest

SPLIT_NAMES = ("train", "val", "test", "xval", "xtest", "pval", "ptest")
# groups of tables/sources.csv whose packages form a split of their own, whole
HELD_OUT_GROUPS = ("xval", "xtest", "pval", "ptest")
KINDS = ("content", "style")


def load_heldout(tables: Path = TABLES) -> dict[str, dict[str, list[str]]]:
    held: dict[str, dict[str, list[str]]] = {}
    with (tables / "heldout.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            held.setdefault(row["split"], {}).setdefault(row["kind"], []).append(row["file"])
    return held


def assign(rows: list[dict[str, str]], tables: Path = TABLES) -> dict[str, str]:
    """Corpus file (content/NAME or style/NAME) -> split name."""
    sources = load_sources(tables)
    held = {
        f"{kind}/{name}": split
        for split, kinds in load_heldout(tables).items()
        for kind, names in kinds.items()
        for name in names
    }
    result = {}
    for row in rows:
        check_not_reserved(row["source"])
        group = sources[row["source"]].group if row["source"] in sources else "insource"
        if group in HELD_OUT_GROUPS:
            result[row["file"]] = group
        else:
            result[row["file"]] = held.get(row["file"], "train")
    missing = set(held) - set(result)
    if missing:
        raise SystemExit(f"held-out files missing from the corpus: {sorted(missing)}")
    return result


def make_splits(corpus: Path, out: Path, tables: Path = TABLES) -> dict[str, Counter[str]]:
    rows = read_manifest(corpus / MANIFEST_NAME)
    assignment = assign(rows, tables)
    counts: dict[str, Counter[str]] = {split: Counter() for split in SPLIT_NAMES}
    for split in SPLIT_NAMES:
        for kind in KINDS:
            folder = out / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.iterdir():
                stale.unlink()
    source_of = {row["file"]: row["source"] for row in rows}
    for file, split in sorted(assignment.items()):
        kind, name = file.split("/", 1)
        (out / split / kind / name).symlink_to((corpus / file).resolve())
        counts[split][kind] += 1
    with (out / "splits.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "split", "source"])
        for file, split in sorted(assignment.items()):
            writer.writerow([file, split, source_of[file]])
    return counts


def report(corpus: Path, out: Path) -> str:
    """Counts per split and per source (what data/READY.txt shows)."""
    with (out / "splits.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    per = Counter((r["split"], r["file"].split("/", 1)[0], r["source"]) for r in rows)
    lines = []
    for split in SPLIT_NAMES:
        c = sum(n for (s, k, _), n in per.items() if s == split and k == "content")
        st = sum(n for (s, k, _), n in per.items() if s == split and k == "style")
        lines.append(f"{split:6s} content {c:4d}  style {st:5d}")
        for (s, k, source), n in sorted(per.items()):
            if s == split:
                lines.append(f"         {k:8s} {source:30s} {n:5d}")
    return "\n".join(lines)


if __name__ == "__main__":
    args = sys.argv[1:3] if len(sys.argv) >= 3 else ("data/corpus", "data/splits")
    corpus, out = (Path(a) for a in args)
    for split, c in make_splits(corpus, out).items():
        print(f"{split:5s} content {c['content']:4d}  style {c['style']:5d}")
