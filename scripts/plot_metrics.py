#!/usr/bin/env python3
"""Plots a run's metrics.jsonl to PNG: every numeric field against step (or the record index).

Usage: scripts/plot_metrics.py RUN_DIR/metrics.jsonl [-o out.png] [--fields loss,ppl]
Needs Debian's python3-matplotlib.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="a metrics.jsonl file")
    parser.add_argument("-o", "--output", help="PNG to write (default: beside the metrics file)")
    parser.add_argument("--fields", help="comma-separated fields to plot (default: all numeric)")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_metrics.py: needs matplotlib (apt-get install python3-matplotlib)")

    records = []
    with open(args.metrics, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"{args.metrics}:{number}: not JSON: {e}")
    if not records:
        sys.exit(f"{args.metrics}: no records")

    skip = {"step", "epoch"}
    fields = args.fields.split(",") if args.fields else sorted(
        {k for r in records for k, v in r.items()
         if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in skip})
    # One panel per split ("train", "valid", ...) would hide comparisons; plot each field per split.
    fig, axes = plt.subplots(len(fields), 1, figsize=(8, 2.5 * len(fields)), squeeze=False)
    for ax, field in zip(axes[:, 0], fields):
        for split in sorted({r.get("split", "") for r in records}):
            points = [(r.get("step", i), r[field]) for i, r in enumerate(records)
                      if field in r and r.get("split", "") == split]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="." if len(xs) < 50 else None, label=split or field)
        ax.set_ylabel(field)
        ax.legend(loc="best", fontsize="small")
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    out = args.output or args.metrics.rsplit(".", 1)[0] + ".png"
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main()
