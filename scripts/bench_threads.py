#!/usr/bin/env python3
"""Is every executable fast with no flags? A benchmark, not a test.

Runs each workload with no flags, then with --threads N for each N of --threads-list, in turn,
--rounds times, in a clean environment (none of OMP_WAIT_POLICY, OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, OPENBLAS_CORETYPE or MKL_NUM_THREADS set, as a new user runs them). Prints
each setting's median rate and its spread, then no flags against the best setting, and every
--threads N against no flags. The workloads:

  lm-train          lstm-lm train, PTB small (configs/lm/zaremba-small.yaml), tokens/s
  sentiment-train   lstm-sentiment train, SST-2 (configs/sentiment/sst2.yaml), examples/s
  sentiment-predict lstm-sentiment predict of SST-2 dev sentences, repeated, sentences/s
  bench-inference   lstm-bench, custom LSTM 650, inference, tokens/s
  bench-train       lstm-bench, custom LSTM 650, forward+backward, tokens/s

Run it on an otherwise idle machine: it prints `uptime` before and after.

  scripts/bench_threads.py [--rounds 5] [--threads-list 1 2] [--only lm-train ...]

Environment: LSTM_NLP_DATA (default ../shared/data), LSTM_NLP_BIN (default build/bin).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("LSTM_NLP_BIN", os.path.join(ROOT, "build", "bin"))
DATA = os.environ.get("LSTM_NLP_DATA", os.path.join(ROOT, "..", "shared", "data"))
CLEARED = ["OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
           "MKL_NUM_THREADS", "LSTMNLP_NO_REEXEC", "LSTMNLP_REEXEC", "LSTMNLP_SMALL_GEMM",
           "GOMP_SPINCOUNT", "OPENBLAS_THREAD_TIMEOUT"]


def user_env():
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["LSTM_NLP_DATA"] = DATA
    return env


def run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, env=user_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        sys.exit("bench_threads: %s failed (exit %d):\n%s" %
                 (" ".join(cmd), done.returncode, done.stdout[-3000:]))
    return done.stdout


def train_rate(run_dir, unit):
    """The mean rate of the train records after the first (warm-up)."""
    rows = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if record.get("split") == "train":
                rows.append(record[unit + "_per_s"])
    rows = rows[1:] or rows
    return sum(rows) / len(rows)


class Workloads:
    def __init__(self, work, steps):
        self.work = work
        self.steps = steps
        self.checkpoint = None
        self.predict_input = None

    def train(self, exe, config, unit, flags):
        """`exe train` of `config` for the set number of steps; its mean `unit`/s."""
        out = os.path.join(self.work, "train")
        shutil.rmtree(out, ignore_errors=True)
        run([os.path.join(BIN, exe), "train", "--config", os.path.join(ROOT, config),
             "--set", "train.max_steps=%d" % self.steps, "--set", "train.log_every=25",
             "--set", "train.eval_every=1000000000", "--set", "train.save_every=0",
             "--output-dir", out] + flags, self.work)
        return train_rate(out, unit)

    def prepare_predict(self, lines):
        """A checkpoint (a short SST-2 run) and SST-2 dev's sentences repeated to `lines`."""
        out = os.path.join(self.work, "sst2-model")
        run([os.path.join(BIN, "lstm-sentiment"), "train",
             "--config", os.path.join(ROOT, "configs/sentiment/sst2.yaml"),
             "--set", "train.max_steps=20", "--set", "train.eval_every=1000000000",
             "--output-dir", out], self.work)
        self.checkpoint = os.path.join(out, "latest.pt")
        with open(os.path.join(DATA, "sst2", "dev.tsv")) as f:
            sentences = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
        self.predict_input = os.path.join(self.work, "predict.txt")
        with open(self.predict_input, "w") as f:
            for i in range(lines):
                f.write(sentences[i % len(sentences)] + "\n")

    def sentiment_predict(self, flags):
        output = os.path.join(self.work, "predictions.tsv")
        if os.path.exists(output):
            os.remove(output)
        log = run([os.path.join(BIN, "lstm-sentiment"), "predict", "--checkpoint", self.checkpoint,
                   "--input", self.predict_input, "--output", output] + flags, self.work)
        match = re.search(r"([0-9.]+) sentences/s", log)
        if not match:
            sys.exit("bench_threads: no sentences/s in predict's log:\n" + log[-2000:])
        return float(match.group(1))

    def bench(self, mode, flags):
        path = os.path.join(self.work, "bench.json")
        run([os.path.join(BIN, "lstm-bench"), "--set", "hidden_sizes=[650]",
             "--set", "modes=[%s]" % mode, "--set", "ceiling=false", "--json", path] + flags,
            self.work)
        with open(path) as f:
            rows = json.load(f)
        return rows[0]["custom_tokens_per_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads-list", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=150,
                        help="training steps per run (default 150)")
    parser.add_argument("--predict-lines", type=int, default=50000)
    parser.add_argument("--only", nargs="+", default=None)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench_threads.")
    loads = Workloads(work, args.steps)
    workloads = {
        "lm-train": ("tokens/s", lambda f: loads.train(
            "lstm-lm", "configs/lm/zaremba-small.yaml", "tokens", f)),
        "sentiment-train": ("examples/s", lambda f: loads.train(
            "lstm-sentiment", "configs/sentiment/sst2.yaml", "examples", f)),
        "sentiment-predict": ("sentences/s", loads.sentiment_predict),
        "bench-inference": ("tokens/s", lambda f: loads.bench("inference", f)),
        "bench-train": ("tokens/s", lambda f: loads.bench("forward_backward", f)),
    }
    names = args.only or list(workloads)
    for name in names:
        if name not in workloads:
            sys.exit("bench_threads: unknown workload %r (%s)" % (name, ", ".join(workloads)))
    settings = [("no flags", [])] + [("--threads %d" % n, ["--threads", str(n)])
                                     for n in args.threads_list]
    print("uptime before:", subprocess.run(["uptime"], stdout=subprocess.PIPE,
                                           text=True).stdout.strip(), flush=True)
    try:
        if "sentiment-predict" in names:
            loads.prepare_predict(args.predict_lines)
        for name in names:
            unit, fn = workloads[name]
            rates = {label: [] for label, _ in settings}
            for r in range(args.rounds):
                for label, flags in settings:
                    rates[label].append(fn(flags))
                print("  %s round %d: %s" % (name, r + 1, ", ".join(
                    "%s %.0f" % (label, rates[label][-1]) for label, _ in settings)), flush=True)
            medians = {label: statistics.median(v) for label, v in rates.items()}
            best = max(medians, key=medians.get)
            print("%s (%s, median of %d):" % (name, unit, args.rounds))
            for label, _ in settings:
                v = rates[label]
                print("  %-12s %10.0f  (min %.0f, max %.0f)" % (label, medians[label], min(v), max(v)))
            print("  no flags / best (%s): %.2f" % (best, medians["no flags"] / medians[best]))
            for label, _ in settings[1:]:
                print("  %s / no flags: %.2f" % (label, medians[label] / medians["no flags"]))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("uptime after:", subprocess.run(["uptime"], stdout=subprocess.PIPE,
                                          text=True).stdout.strip())


if __name__ == "__main__":
    main()
