#!/usr/bin/env python3
"""Plots `lstm-paper reproduce`'s report.json: per experiment, the fraction of trials solved
against the training sequences seen, one curve per config, the paper's mean as a marker.

Usage: scripts/plot_paper.py RUN_DIR/report.json [-o OUT_DIR]
Writes OUT_DIR/<experiment>.png (default: beside the report). Needs Debian's python3-matplotlib.
"""
import argparse
import json
import os
import re
import sys


def paper_mean(figure):
    """The paper's mean sequences from its figure's text ("8,440 (mean of 30; ...)"), or None."""
    match = re.match(r"\s*([0-9][0-9,]*)", (figure or {}).get("sequences", ""))
    return int(match.group(1).replace(",", "")) if match else None


def paper_rate(figure):
    """The paper's success fraction from "100% of 30", or None."""
    match = re.match(r"\s*([0-9.]+)%", (figure or {}).get("success", ""))
    return float(match.group(1)) / 100 if match else None


def solved_curve(trials):
    """(sequences, fraction of all trials solved by then), a step per successful trial."""
    done = sorted(t["sequences"] for t in trials if t["success"])
    xs, ys = [0], [0.0]
    for i, n in enumerate(done, 1):
        xs += [n, n]
        ys += [ys[-1], i / len(trials)]
    cap = max((t["sequences"] for t in trials), default=0)
    if cap > xs[-1]:
        xs.append(cap)
        ys.append(ys[-1])
    return xs, ys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="report.json of lstm-paper reproduce")
    parser.add_argument("-o", "--output-dir", help="where the PNGs go (default: beside the report)")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_paper.py: needs matplotlib (apt-get install python3-matplotlib)")
    try:
        with open(args.report, encoding="utf-8") as f:
            report = json.load(f)
        runs = report["runs"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"{args.report}: not a report.json of lstm-paper reproduce ({e})")
    out_dir = args.output_dir or os.path.dirname(os.path.abspath(args.report))
    os.makedirs(out_dir, exist_ok=True)

    by_title = {}
    for run in runs:
        by_title.setdefault(run["result"]["title"], []).append(run)
    for title, group in by_title.items():
        fig, ax = plt.subplots(figsize=(7, 4.2))
        marked = set()
        for run in group:
            result = run["result"]
            xs, ys = solved_curve(result["per_trial"])
            label = os.path.basename(run["config"]) + ("" if run["paper_exact"] else " (modern)")
            line, = ax.plot(xs, ys, label=f"{label}, {result['weights']} weights")
            # The paper's mean for this net (a star in the run's colour), once per figure.
            figure = result.get("paper")
            mean, rate = paper_mean(figure), paper_rate(figure)
            if mean is not None and (mean, rate) not in marked:
                marked.add((mean, rate))
                ax.plot([mean], [rate if rate is not None else 1.0], marker="*", markersize=14,
                        linestyle="none", color=line.get_color(), markeredgecolor="black",
                        label=f"paper ({figure.get('source', '')}): mean {mean:,}")
        ax.set_xlabel("training sequences")
        ax.set_ylabel("fraction of trials solved")
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(title + (" (quick)" if report.get("mode") == "quick" else ""), fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        name = group[0]["result"]["experiment"]
        if len({r["result"]["title"] for r in runs if r["result"]["experiment"] == name}) > 1:
            name += "-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        path = os.path.join(out_dir, name + ".png")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(path)


if __name__ == "__main__":
    main()
