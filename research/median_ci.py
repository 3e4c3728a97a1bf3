"""How far a report's medians would move with another draw of its pairs: a bootstrap over pairs.

Why: the targets compare medians over 64 pairs (a model's texture match against 0.8x the
peer's), and a few pairs more or less of one kind move a median by more than the gaps the
targets are missed by. Resampling the pairs (the same resampled pairs for every model, so the
ratio to the peer is paired) gives a 95 % interval for each median and for its ratio to a
reference model's.

    python -m research.median_ci reports/ptest/results.json --metric texture_match --reference peer
"""

from __future__ import annotations

import argparse
import json

import numpy as np

ROUNDS = 5000


def median_intervals(
    values: dict[str, list[float]], reference: str | None = None, rounds: int = ROUNDS, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Per model: its median, the 2.5 and 97.5 percentiles of its bootstrapped median and, with
    a reference model, the same for the ratio of the two medians (pairs resampled together)."""
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise ValueError("every model needs one value per pair, the same pairs")
    n = lengths.pop()
    draws = np.random.default_rng(seed).integers(0, n, (rounds, n))
    medians = {name: np.median(np.asarray(v)[draws], axis=1) for name, v in values.items()}
    out = {}
    for name, v in values.items():
        row = {"median": float(np.median(v))}
        row["low"], row["high"] = (float(x) for x in np.percentile(medians[name], [2.5, 97.5]))
        if reference is not None:
            ratio = medians[name] / medians[reference]
            row["ratio"] = row["median"] / float(np.median(values[reference]))
            row["ratio_low"], row["ratio_high"] = (float(x) for x in np.percentile(ratio, [2.5, 97.5]))
        out[name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("results", help="a results.json of flowstyle eval metrics")
    ap.add_argument("--metric", default="texture_match")
    ap.add_argument("--reference", help="the model the ratios are to (e.g. peer)")
    args = ap.parse_args()
    metrics = json.load(open(args.results))["sections"]["Metrics"]
    values = {name: m[args.metric] for name, m in metrics.items() if args.metric in m}
    print(f"| model | {args.metric} median | 95 % interval |" + (f" / {args.reference} | 95 % interval |" if args.reference else ""))
    print("|---|---|---|" + ("---|---|" if args.reference else ""))
    for name, row in median_intervals(values, args.reference).items():
        line = f"| {name} | {row['median']:.3f} | {row['low']:.3f} - {row['high']:.3f} |"
        if args.reference:
            line += f" {row['ratio']:.3f} | {row['ratio_low']:.3f} - {row['ratio_high']:.3f} |"
        print(line)


if __name__ == "__main__":
    main()
