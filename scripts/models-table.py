#!/usr/bin/python3
"""models-table.py - evaluate every shipped model (models/*.xnca) with `xnca eval`, choose the
accelerator models (scripts/select-shipped.py), and write the results table into
models/README.md and README.md, the per-model card of models/README.md and the plots.

Every metric comes from `xnca eval` / `xnca info` on the exported file, never from the
trainer. Each evaluation is cached in build/models-table/<file>-<sha256 of the model>-<kind>-
<hash of the eval arguments>.json and found again by the SHA-256 alone, so a rerun (or a
byte-identical copy such as models/mnist.xnca) only evaluates what changed.

    scripts/models-table.py --xnca build/xnca             # full test sets (10,000 images)
    scripts/models-table.py --xnca build/xnca --n 300     # first 300 test images (development)
    scripts/models-table.py --self-test [--xnca build/xnca]   # suite models-table

Evaluations per model: a curve (55 report steps from 1 to 200, plus the argmax tie rate at
step 200) on the test split of the model's `dataset=` metadata key, and for MNIST models the
mutation protocol (`--mutate-at 200`, 400 steps). A file that fails to load or evaluate is
reported as an error row (and the command exits 1 after writing everything else).

Generated text goes between markers (<!-- NAME:begin --> ... <!-- NAME:end -->); everything
outside the markers is left as it is.
"""
import argparse
import glob
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FIRST_MODEL = "distill-float.xnca"  # the reference row: Distill's published float model
FULL_SPLIT = 10000                  # MNIST and Fashion-MNIST test splits
TABLE_STEPS = (20, 50, 100, 200)    # cell accuracy and agreement columns
IMAGE_STEPS = (20, 50, 200)         # image-level accuracy columns
# xnca eval reports at most XNCA_MAX_REPORT (64) steps per run, so the curves are sampled:
# every step to 20, then every 2nd to 50, every 5th to 100, every 10th to 200 (55 steps).
CURVE_STEPS = (list(range(1, 21)) + list(range(22, 51, 2)) + list(range(55, 101, 5))
               + list(range(110, 201, 10)))
MUTATE_AT = 200
# Mutation curve (400 steps): every 10th step before the mutation, dense right after it.
MUTATION_STEPS = (list(range(10, 201, 10)) + list(range(201, 211)) + list(range(212, 241, 2))
                  + list(range(250, 401, 10)))
# How the files without a `command=` key were made.
NO_COMMAND = {FIRST_MODEL: "# imported, not trained here (make distill-model):\n"
                           "xnca import-distill models/third_party/distill/model.json -o models/distill-float.xnca"}
CARD_KEYS = ("dataset", "iterations", "train_steps", "seed", "init", "source", "license")


def load_selector():
    """scripts/select-shipped.py as a module (its name is not importable as written)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "select-shipped.py")
    spec = importlib.util.spec_from_file_location("select_shipped", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SELECT = load_selector()


# ---------------------------------------------------------------- pure helpers (self-tested)

def synapses(info):
    """Binary synapse count of one cell update: sum over layers of N_in * N_out (spec 3.3)."""
    c, p, m, layers = info["channels"], info["perception_width"], info["mlp_width"], info["hidden_layers"]
    dims = [9 * c, p] + [m] * layers + [c - 1]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def precision(info):
    """(label, m, k): quant WmAk; float variants by the width of what the layers multiply.
    Quant points outside the RTL envelope (m or k > 4, docs/spec.md 9) are 'engine only'."""
    v = info["variant"]
    if v == "quant":
        m, k = info["weight_bits"], info["act_bits"]
        outside = m > SELECT.MAX_BITS or k > SELECT.MAX_BITS
        return "quant W%dA%d%s" % (m, k, " (engine only)" if outside else ""), m, k
    # float: float32 weights x float32 inputs; bwn: 1-bit weights (sign, one scale per row) x
    # float32 inputs; ban: float32 weights x 1-bit inputs (spec 2, 8).
    m, k = {"float": (32, 32), "bwn": (1, 32), "ban": (32, 1)}[v]
    return "%s (float32 engine only)" % v, m, k


def bit_cost(info):
    _, m, k = precision(info)
    return m * k * synapses(info)


def replace_between(text, name, body):
    """Replace what lies between <!-- name:begin --> and <!-- name:end -->; ValueError if absent."""
    begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < 0 or j < i:
        raise ValueError("markers %s / %s not found (in order)" % (begin, end))
    return text[: i + len(begin)] + "\n" + body.rstrip("\n") + "\n" + text[j:]


def ensure_markers(text, name, section):
    """Add empty markers at the end of `## section` (creating the section at the end if absent)."""
    if "<!-- %s:begin -->" % name in text:
        return text
    block = "<!-- %s:begin -->\n<!-- %s:end -->\n" % (name, name)
    m = re.search(r"^## %s[ \t]*\n" % re.escape(section), text, re.M)
    if not m:
        return text.rstrip("\n") + "\n\n## %s\n\n%s" % (section, block)
    nxt = re.search(r"^## ", text[m.end():], re.M)
    at = m.end() + nxt.start() if nxt else len(text)
    head = text[:at].rstrip("\n")
    return head + "\n\n" + block + ("\n" + text[at:] if nxt else "")


LOG_LINE = re.compile(r"^iter (\d+)/\d+ loss ([-+0-9.eE]+|nan|inf)(?: acc@(\d+) ([0-9.]+)%)?"
                      r"(?:.*? ([0-9.]+) it/s)?")
LOG_START = re.compile(r"^xnca train: .*iteration (\d+) -> (\d+)")


def parse_train_log(lines):
    """Progress lines of `xnca train` -> sorted [(iteration, loss, batch_acc or None)]; a resumed
    run that repeats iterations keeps the last line of each iteration."""
    points = {}
    for line in lines:
        m = LOG_LINE.match(line.strip())
        if m:
            acc = float(m.group(4)) if m.group(4) else None
            points[int(m.group(1))] = (float(m.group(2)), acc)
    return [(it, loss, acc) for it, (loss, acc) in sorted(points.items())]


def train_compute(lines, upto):
    """Compute time of a training log, from its progress lines: each line `iter I/N ... R it/s`
    covers the iterations since the previous line (or since the run's start, `xnca train: ...
    iteration S -> N`) at R it/s, i.e. (I - previous) / R seconds. A resumed run restarts at its
    checkpoint S, so intervals of the interrupted run past S were lost and are replaced.
    Returns (seconds for iterations 0..upto on the path that produced the file, seconds of every
    logged interval including lost ones, number of runs started)."""
    path, total, runs, prev = [], 0.0, 0, None
    for line in lines:
        line = line.strip()
        s = LOG_START.match(line)
        if s:
            runs += 1
            prev = int(s.group(1))
            path = [iv for iv in path if iv[1] <= prev]
            continue
        m = LOG_LINE.match(line)
        if not m or m.group(5) is None or prev is None:
            continue
        it, rate = int(m.group(1)), float(m.group(5))
        if rate > 0 and it > prev:
            secs = (it - prev) / rate
            path.append((prev, it, secs))
            total += secs
        prev = it
    used = 0.0
    for a, b, secs in path:
        if b <= upto:
            used += secs
        elif a < upto:
            used += secs * (upto - a) / (b - a)
    return used, total, runs


def log_commands(lines):
    """The commands a training log ran (`+ ...` lines of make train), the binary as `xnca`."""
    out = []
    for line in lines:
        if line.startswith("+ ") and " train " in line:
            out.append(re.sub(r"^\S*xnca(-[\w.+-]+)?(?= )", "xnca", line[2:].strip()))
    return out


def cache_tag(kind, args):
    """Cache key of one evaluation: its kind and a hash of its xnca eval arguments."""
    return "%s-%s" % (kind, hashlib.sha256(" ".join(args).encode()).hexdigest()[:12])


def cache_name(model_file, digest, kind, args):
    """<file>-<sha256>-<kind>-<args hash>.json; looked up by the part after the file name."""
    return "%s-%s-%s.json" % (os.path.basename(model_file), digest, cache_tag(kind, args))


def eval_args(dataset, n, kind):
    """xnca eval arguments of one evaluation (without --model, --json and --threads)."""
    base = ["--data", dataset, "--split", "test"] + (["--n", str(n)] if 0 < n < FULL_SPLIT else [])
    if kind == "curve":
        return base + ["--at", ",".join(str(s) for s in CURVE_STEPS), "--tie-rate"]
    return base + ["--at", ",".join(str(s) for s in MUTATION_STEPS), "--mutate-at", str(MUTATE_AT)]


def fmt_pct(v):
    return "-" if v is None else "%.1f" % v


def fmt_int(v):
    return "{:,}".format(v)


def fmt_hours(s):
    return "%.2f h" % (s / 3600) if s >= 360 else "%.0f min" % (s / 60)


def metric_at(ev, step, key):
    for r in (ev or {}).get("metrics", []):
        if r["step"] == step:
            return r[key]
    return None


def eval_cost(row):
    """Order of evaluation: cheap models first (m x k; float variants last), so an interrupted
    run has cached as many models as it could."""
    info = row.get("info")
    if not info:
        return (0, row["name"])
    return (info.get("weight_bits", 32) * info.get("act_bits", 32) if info["variant"] == "quant" else 1 << 12,
            row["name"])


def model_order(paths):
    """The Distill float model first, then the shipped accelerator models, then by dataset and name."""
    def key(p):
        name = os.path.basename(p)
        shipped = list(SELECT.TARGETS).index(name) if name in SELECT.TARGETS else 9
        dataset = 1 if name.startswith("fashion") else 0
        return (name != FIRST_MODEL, shipped, dataset, name)
    return sorted(paths, key=key)


def summary_row(r):
    """The flat row of table.json (the selection's input) for an evaluated model."""
    row = {"name": r["name"], "sha256": r.get("sha256"), "dataset": r.get("dataset"), "error": r.get("error")}
    if r.get("error") or r.get("pending"):
        row["error"] = row["error"] or "not evaluated yet: " + r["pending"]
        return row
    info, ev = r["info"], r["main"]
    row.update(variant=info["variant"], weight_bits=info.get("weight_bits"), act_bits=info.get("act_bits"),
               weight_bytes=info["weight_bytes"], bit_cost=bit_cost(info),
               tie_rate=(ev.get("tie_rate") or {}).get("percent"))
    for s in TABLE_STEPS:
        row["cell_accuracy@%d" % s] = metric_at(ev, s, "cell_accuracy")
        row["agreement@%d" % s] = metric_at(ev, s, "agreement")
    for s in IMAGE_STEPS:
        row["image_accuracy@%d" % s] = metric_at(ev, s, "image_accuracy")
    return row


def copy_of(row, rows):
    """The non-shipped file a shipped file (mnist.xnca, fashion.xnca) is a byte-identical copy of."""
    if row["name"] not in SELECT.TARGETS or not row.get("sha256"):
        return None
    same = [r["name"] for r in rows if r["name"] not in SELECT.TARGETS and r.get("sha256") == row["sha256"]]
    return same[0] if same else None


# ---------------------------------------------------------------- running xnca

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_json(argv, heartbeat=None, every=60):
    """Run argv, parse its JSON stdout; heartbeat(seconds) is called every `every` s while it runs."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while True:
        try:
            out, err = p.communicate(timeout=every if heartbeat else None)
            break
        except subprocess.TimeoutExpired:
            heartbeat(time.time() - t0)
    if p.returncode != 0:
        msg = err.strip().splitlines()
        raise RuntimeError("`%s` failed (exit %d): %s" % (" ".join(argv[:4]), p.returncode,
                                                       msg[-1] if msg else "no message"))
    try:
        return json.loads(out)
    except ValueError as e:
        raise RuntimeError("`%s` printed no JSON (%s)" % (" ".join(argv[:4]), e))


class Evaluator:
    """Runs (or finds in the cache) the evaluations of the model files, showing progress."""

    def __init__(self, xnca, n, cache_dir, threads, log, cached_only=False):
        self.xnca, self.n, self.cache_dir, self.threads, self.log = xnca, n, cache_dir, threads, log
        self.cached_only = cached_only
        self.ran = 0
        self.seconds = 0.0

    def find(self, digest, kind, args):
        hits = sorted(glob.glob(os.path.join(self.cache_dir, "*-%s-%s.json" % (digest, cache_tag(kind, args)))))
        for h in hits:
            try:
                with open(h) as f:
                    return json.load(f)
            except ValueError:
                continue  # an unreadable entry is evaluated again
        return None

    def prepare(self, model):
        """xnca info + SHA-256 of one file: the row skeleton, or an error row."""
        row = {"file": model, "name": os.path.basename(model)}
        try:
            row["sha256"] = sha256_file(model)
            row["info"] = run_json([self.xnca, "info", "--model", model, "--json"])
        except (OSError, RuntimeError) as e:
            row["error"] = str(e)
            return row
        row["meta"] = row["info"].get("meta") or {}
        row["dataset"] = row["meta"].get("dataset", "mnist")
        if row["dataset"] not in ("mnist", "fashion"):
            row["error"] = "unknown dataset=%s in the metadata" % row["dataset"]
        return row

    def kinds(self, row):
        return ("curve", "mutation") if row["dataset"] == "mnist" else ("curve",)

    def pending(self, row):
        if row.get("error") or row.get("pending"):
            return []
        return [k for k in self.kinds(row) if self.find(row["sha256"], k, eval_args(row["dataset"], self.n, k)) is None]

    def evaluate(self, row, label):
        """Fill row["main"] / row["mutation"] from the cache or by running xnca eval."""
        if row.get("error"):
            self.log("%s %s: ERROR %s" % (label, row["name"], row["error"]))
            return row
        if row.get("pending"):
            return row
        row["mutation"] = None
        for kind in self.kinds(row):
            args = eval_args(row["dataset"], self.n, kind)
            ev = self.find(row["sha256"], kind, args)
            if ev is None and self.cached_only:
                self.log("%s %s: %s not in the cache - shown as not evaluated" % (label, row["name"], kind))
                if kind == "curve":
                    row["pending"] = "no cached result"
                    return row
                continue  # the mutation curve alone is missing: the row keeps its curve metrics
            if ev is None:
                images = "first %d" % self.n if 0 < self.n < FULL_SPLIT else "all"
                self.log("%s %s: %s on %s %s test images ..." % (label, row["name"], kind, images, row["dataset"]))
                argv = [self.xnca, "eval", "--model", row["file"]] + args + ["--json"]
                if self.threads:
                    argv += ["--threads", str(self.threads)]
                t0 = time.time()
                try:
                    ev = run_json(argv, lambda t: self.log("%s %s: %s still running (%.0f s)" % (
                        label, row["name"], kind, t)))
                except RuntimeError as e:
                    row["error"] = str(e)
                    self.log("%s %s: ERROR %s" % (label, row["name"], e))
                    return row
                ev["eval_seconds"] = round(time.time() - t0, 1)
                ev["argv"] = ["xnca"] + argv[1:]
                self.ran += 1
                self.seconds += ev["eval_seconds"]
                path = os.path.join(self.cache_dir, cache_name(row["file"], row["sha256"], kind, args))
                with open(path + ".tmp", "w") as f:
                    json.dump(ev, f, indent=1)
                os.replace(path + ".tmp", path)  # a killed run never leaves a half-written entry
                self.log("%s %s: %s done in %.0f s" % (label, row["name"], kind, ev["eval_seconds"]))
            else:
                self.log("%s %s: %s cached" % (label, row["name"], kind))
            row["main" if kind == "curve" else "mutation"] = ev
        return row


# ---------------------------------------------------------------- training provenance

def training_running(row, train_dir):
    """True if the file's training run is alive (train/<run>/pid names a live process): its
    file is replaced at every export, so evaluating it now would be wasted."""
    run_dir = os.path.join(train_dir, train_provenance(row, train_dir)["run"])
    try:
        with open(os.path.join(run_dir, "pid")) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def train_provenance(row, train_dir):
    """What the card says about how a file was made: commands, iterations, compute time."""
    meta = row.get("meta") or {}
    cmd = meta.get("command", "")
    m = re.search(r"--checkpoint-dir (\S+)", cmd)
    run_dir = m.group(1) if m else os.path.join(train_dir, row["name"][:-5])
    if m and not os.path.isdir(run_dir):  # the metadata path is relative to the repo root
        run_dir = os.path.join(train_dir, os.path.basename(run_dir.rstrip("/")))
    logf = os.path.join(run_dir, "log")
    p = {"run": os.path.basename(run_dir.rstrip("/")), "log": None}
    if os.path.isfile(logf):
        with open(logf, errors="replace") as f:
            lines = f.readlines()
        try:
            iters = int(meta.get("iterations", ""))
        except ValueError:
            iters = None
        used, total, runs = train_compute(lines, iters if iters is not None else 1 << 62)
        p.update(log=logf, commands=log_commands(lines), seconds=used, logged_seconds=total, runs=runs,
                 last_logged=(parse_train_log(lines) or [(0, 0, 0)])[-1][0])
    return p


# ---------------------------------------------------------------- tables and card

def table_markdown(rows, n_label):
    head = ("| model | data | precision | bit cost (m x k x synapses) | cell accuracy % at 20 / 50 / 100 / 200 "
            "| agreement % at 20 / 50 / 100 / 200 | image accuracy % at 20 / 50 / 200 | tie rate % at 200 "
            "| weight_bytes |\n"
            "|---|---|---|---|---|---|---|---:|---:|\n")
    out = []
    for r in rows:
        name = "`%s`" % r["name"]
        src = copy_of(summary_row(r), [summary_row(x) for x in rows])
        if src:
            name += " (copy of `%s`)" % src
        if r.get("error"):
            out.append("| %s | %s | **error**: %s | - | - | - | - | - | - |" % (
                name, r.get("dataset", "-"), r["error"].replace("|", "\\|")))
            continue
        if r.get("pending"):
            label = precision(r["info"])[0]
            out.append("| %s | %s | %s | not evaluated yet: %s | - | - | - | - | %s |" % (
                name, r["dataset"], label, r["pending"], fmt_int(r["info"]["weight_bytes"])))
            continue
        info, ev = r["info"], r["main"]
        label, m, k = precision(info)
        cost = "%dx%d x %s = %s" % (m, k, fmt_int(synapses(info)), fmt_int(bit_cost(info)))
        if info["variant"] != "quant":
            cost += " \\*"
        cells = " / ".join(fmt_pct(metric_at(ev, s, "cell_accuracy")) for s in TABLE_STEPS)
        agree = " / ".join(fmt_pct(metric_at(ev, s, "agreement")) for s in TABLE_STEPS)
        image = " / ".join(fmt_pct(metric_at(ev, s, "image_accuracy")) for s in IMAGE_STEPS)
        tie = (ev.get("tie_rate") or {}).get("percent")
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, r["dataset"], label, cost, cells, agree, image, "-" if tie is None else "%.2f" % tie,
            fmt_int(info["weight_bytes"])))
    notes = ("\nTest split: %s, seed 0; every number from `xnca eval` on the exported file (`make models-table`).\n"
             "Bit cost: binary synapse operations per cell update, `m x k x sum_l N_in N_out` (spec 3.3).\n"
             "\\* float variants are not bit-plane arithmetic: their cost is written as the width of the\n"
             "operands (float32 = 32 bits; `bwn` 1-bit weights x float32 inputs, `ban` float32 weights x\n"
             "1-bit inputs) for comparison only. *engine only*: outside the RTL envelope (m, k <= 4).\n"
             "Tie rate: alive cells whose class channels share the maximum at step 200 (spec 5 gives\n"
             "them the lowest class). weight_bytes: bytes a device receives (spec 9; float variants:\n"
             "the float32 payload).\n") % n_label
    return head + "\n".join(out) + "\n" + notes


def selection_markdown(decisions, subset, copied):
    out = ["Accelerator models (`make models-select`, scripts/select-shipped.py: the cheapest quant model "
           "inside the RTL envelope, m, k <= 4 and weight_bytes <= 12,288, that meets the targets; until one "
           "does, the one with the best image accuracy at step 50):\n"]
    for shipped, d in decisions.items():
        if d["source"]:
            state = "meets the targets" if d["meets_targets"] else "targets not met yet"
            out.append("- `%s`: %s `%s` (%s): %s." % (shipped, "copy of" if d.get("in_place") else "would be a copy of",
                                                     d["source"], state, d["why"].split(": ", 1)[-1]))
        else:
            out.append("- `%s`: not chosen: %s." % (shipped, d["why"].split(": ", 1)[-1]))
    if not copied and not all(d.get("in_place") for d in decisions.values() if d["source"]):
        out.append("\n(%s: the choice is reported, not copied.)" % (
            "Chosen on a subset of the test set" if subset else "Rendered from the cache only"))
    return "\n".join(out) + "\n"


def targets_markdown(summaries):
    """The targets of the shipped files against the best reached (select-shipped.target_status)."""
    out = ["Targets (issue 3, point 6) against the best reached: *shipped* is the accelerator's file, "
           "*best candidate* the best of the models it may be chosen from (quant, m, k <= 4, "
           "weight_bytes <= 12,288), *best of any model* the best evaluated file of the dataset at "
           "any precision and size (what the envelope costs).\n",
           "| file | target | shipped | best candidate | best of any model | met |",
           "|---|---|---:|---|---|---|"]
    for shipped in SELECT.TARGETS:
        for t in SELECT.target_status(summaries, shipped):
            v = t["shipped"]
            bc, ba = t["best_candidate"], t["best_any"]
            any_txt = "-"
            if ba:
                name, val, variant, m, k, wb = ba
                prec = "W%dA%d" % (m, k) if variant == "quant" else variant
                any_txt = "%.2f (`%s`, %s, %s bytes)" % (val, name, prec, fmt_int(wb))
            out.append("| `%s` | %s >= %.2f | %s | %s | %s | %s |" % (
                shipped, t["label"], t["minimum"], "-" if v is None else "%.2f" % v,
                "-" if not bc else "%.2f (`%s`)" % (bc[1], bc[0]), any_txt,
                "yes" if v is not None and v >= t["minimum"] else "**no**"))
    return "\n".join(out) + "\n"


def card_markdown(rows, n_label, plots, train_dir, decisions, subset, card_dir="models", copied=True):
    out = [selection_markdown(decisions, subset, copied)]
    out.append(targets_markdown([summary_row(x) for x in rows]))
    if plots:
        out.append("Plots (%s):\n" % n_label)
        for title, path, _ in plots:
            out.append("![%s](%s)\n" % (title, os.path.relpath(path, card_dir)))
    out.append(COMPUTE_NOTE)
    summaries = [summary_row(x) for x in rows]
    for r in rows:
        out.append("### `%s`\n" % r["name"])
        if r.get("error"):
            out.append("**Error**: %s\n" % r["error"])
            continue
        if r.get("pending"):
            out.append("Not evaluated yet on this test set (%s): run `make models-table`.\n" % r["pending"])
            continue
        info, meta, ev = r["info"], r["meta"], r["main"]
        src = copy_of(summary_row(r), summaries)
        if src:
            out.append("Byte-identical copy of `%s` (same SHA-256), chosen by `make models-select`; "
                       "how it was made: see `%s`.\n" % (src, src))
        label, m, k = precision(info)
        out.append("| | |\n|---|---|")
        out.append("| precision | %s, state %s bits, input %s bits |" % (label, info["state_bits"], info["input_bits"]))
        dims = "%dx%d grid, C = %d, P = %d, L = %d, M = %d" % (
            info["grid"][0], info["grid"][1], info["channels"], info["perception_width"],
            info["hidden_layers"], info["mlp_width"])
        out.append("| dimensions | %s |" % dims)
        out.append("| parameters / weight_bytes | %s / %s |" % (fmt_int(info["params"]), fmt_int(info["weight_bytes"])))
        out.append("| bit cost per cell update | %dx%d x %s = %s |" % (m, k, fmt_int(synapses(info)),
                                                                    fmt_int(bit_cost(info))))
        noise = info.get("noise") or {}
        out.append("| fire rate / noise | %s / %s |" % (info.get("fire_rate"), ", ".join(
            "%s %s" % (a, b) for a, b in noise.items() if a != "kind") or "none"))
        prov = train_provenance(r, train_dir) if not src else {"log": None}
        for key in CARD_KEYS:
            val = meta.get(key)
            if val is None and key in ("init", "train_steps"):
                continue
            out.append("| %s | %s |" % (key, "not recorded" if val is None else val.replace("|", "\\|")))
        if prov["log"]:
            out.append("| compute time | %s, one thread on the 2-core machine (iterations 0-%s; %s logged in "
                       "all, %d run(s)) |" % (fmt_hours(prov["seconds"]), meta.get("iterations", "?"),
                                              fmt_hours(prov["logged_seconds"]), prov["runs"]))
        elif not src and meta.get("iterations") == "0":
            out.append("| compute time | no training (0 iterations; seconds) |")
        tie = ev.get("tie_rate")
        if tie:
            out.append("| argmax tie rate at step %d | %.3f %% of alive cells |" % (tie["step"], tie["percent"]))
        out.append("| sha256 | `%s` |" % r["sha256"])
        out.append("")
        if not src:
            out.append(made_by(r, prov))
        out.append("Test metrics (%s, `%s` test split):\n" % (n_label, r["dataset"]))
        out.append("| step | cell accuracy % | agreement % | image accuracy % |\n|---:|---:|---:|---:|")
        for s in (1, 10, 20, 50, 100, 200):
            out.append("| %d | %s | %s | %s |" % (s, fmt_pct(metric_at(ev, s, "cell_accuracy")),
                                                 fmt_pct(metric_at(ev, s, "agreement")),
                                                 fmt_pct(metric_at(ev, s, "image_accuracy"))))
        mu = r.get("mutation")
        if mu:
            vals = ", ".join("step %d: %s / %s" % (s, fmt_pct(metric_at(mu, s, "cell_accuracy")),
                                                   fmt_pct(metric_at(mu, s, "agreement")))
                             for s in (200, 210, 250, 300, 400))
            out.append("\nMutation after step %d (`--mutate-at %d`), cell accuracy / agreement %%: %s." % (
                MUTATE_AT, MUTATE_AT, vals))
        out.append("\nEvaluated by: `%s` (%.0f s)%s\n" % (
            " ".join(ev["argv"]), ev.get("eval_seconds", 0),
            "; `%s` (%.0f s)" % (" ".join(mu["argv"]), mu.get("eval_seconds", 0)) if mu else ""))
    return "\n".join(out)


COMPUTE_NOTE = """Compute time of a trained file: the sum over its training log's progress lines
(`iter I/N ... R it/s`, one every 100 iterations) of (iterations since the previous line) / R,
for iterations 0 to the file's `iterations`: wall-clock time of one trainer thread on the 2-core
machine, shared with the other training runs (nice 5). Iterations replayed after a resume from
an older checkpoint count once (the run that produced the file); the "logged in all" figure
counts every logged interval, lost ones included. Time between the last progress line and an
interruption is not logged and not counted.
"""


def made_by(r, prov):
    """The 'Made by' paragraph: the exact command(s) that produced the file."""
    meta, name = r["meta"], r["name"]
    cmd = meta.get("command")
    if prov.get("log"):
        cmds = prov["commands"]
        fresh = [c for c in cmds if "--resume" not in c]
        resumes = [c for c in cmds if "--resume" in c]
        text = "Trained by `make train MODEL=%s` (mk/train.mk; `make train-list` prints its command). " % prov["run"]
        text += "The command that started it (from `%s`):\n\n```sh\n%s\n```\n" % (
            prov["log"], fresh[0] if fresh else cmd or "# not in the log")
        if resumes:
            text += "\nResumed %d time(s) from its checkpoint with:\n\n```sh\n%s\n```\n" % (
                len(resumes), resumes[-1])
        if int(meta.get("iterations", "0") or 0) < prov["last_logged"]:
            text += ("\nThis file is the run's export at iteration %s; its log goes on to iteration %d.\n"
                     % (meta.get("iterations"), prov["last_logged"]))
        return text
    if cmd:
        how = " (`make ptq-models`, mk/ptq.mk)" if cmd.startswith("xnca quantize") else ""
        return "Made by%s:\n\n```sh\n%s\n```\n" % (how, cmd)
    return "Made by:\n\n```sh\n%s\n```\n" % NO_COMMAND.get(name, "# no command= in the metadata")


# ---------------------------------------------------------------- plots

def plot_all(rows, plot_dir, n_label, train_dir, log):
    """PNG plots; returns [(title, path, what)]."""
    short = n_label.split(" (")[0]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    made = []
    summaries = [summary_row(x) for x in rows]
    # One curve per distinct MNIST file (copies are drawn once, under their source's name).
    mnist = [r for r in rows if not r.get("error") and not r.get("pending") and r["dataset"] == "mnist"
             and not copy_of(summary_row(r), summaries)]
    colors = plt.get_cmap("tab20")

    def style(i, r):
        if r["name"] == FIRST_MODEL:
            return dict(color="k", lw=2.0)
        ptq = (r["meta"].get("command") or "").startswith("xnca quantize")
        return dict(color=colors(i % 20), lw=0.9 if ptq else 1.5, ls="--" if ptq else "-")

    def save(fig, fname, title, what):
        path = os.path.join(plot_dir, fname)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append((title, path, what))

    def curves(key, title, fname):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
        for i, r in enumerate(mnist):
            ev = r.get(key)
            if not ev:
                continue
            st = [p["step"] for p in ev["metrics"]]
            ax1.plot(st, [p["cell_accuracy"] for p in ev["metrics"]], label=r["name"][:-5], **style(i, r))
            ax2.plot(st, [p["agreement"] for p in ev["metrics"]], label=r["name"][:-5], **style(i, r))
        for ax, yl in ((ax1, "average cell accuracy (%)"), (ax2, "total agreement (%)")):
            ax.set_xlabel("step")
            ax.set_ylabel(yl)
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            if key == "mutation":
                ax.axvline(MUTATE_AT, color="k", lw=0.8, ls=":")
        ax2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.suptitle("%s (MNIST, %s; dashed: PTQ, no training)" % (title, short))
        fig.tight_layout()
        save(fig, fname, title, key)

    if mnist:
        curves("main", "Cell accuracy and agreement against step", "accuracy-vs-step.png")
        curves("mutation", "After a mutation at step %d" % MUTATE_AT, "mutation.png")
        fig, ax = plt.subplots(figsize=(9, 5.5))
        placed = []  # label positions (log10 x, y) already used: labels of close points are stacked
        for r in sorted(mnist, key=lambda r: (bit_cost(r["info"]), -(metric_at(r["main"], 50, "image_accuracy") or 0))):
            x = bit_cost(r["info"])
            y = metric_at(r["main"], 200, "cell_accuracy")
            yi = metric_at(r["main"], 50, "image_accuracy")
            quant = r["info"]["variant"] == "quant"
            ax.scatter([x], [yi], marker="o" if quant else "s", color="C0" if quant else "C3", zorder=3)
            ax.scatter([x], [y], marker="^", color="C2", alpha=0.7, zorder=3)
            ly = yi
            while any(abs(px - math.log10(x)) < 0.35 and abs(py - ly) < 3.2 for px, py in placed):
                ly -= 3.2
            placed.append((math.log10(x), ly))
            ax.annotate(r["name"][:-5], (x, yi), xytext=(x * 1.08, ly - 1.0), fontsize=6.5,
                        arrowprops=dict(arrowstyle="-", lw=0.3, color="0.6") if ly != yi else None)
        ax.axhline(96.0, color="C0", lw=0.8, ls="--")
        ax.axhline(93.0, color="C2", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_ylim(0, 100)
        ax.set_xlabel("bit cost per cell update (m x k x synapses; float: operand widths)")
        ax.set_ylabel("accuracy (%)")
        ax.scatter([], [], marker="o", color="C0", label="image accuracy at step 50 (quant)")
        ax.scatter([], [], marker="s", color="C3", label="image accuracy at step 50 (float variants)")
        ax.scatter([], [], marker="^", color="C2", label="cell accuracy at step 200")
        ax.plot([], [], color="C0", lw=0.8, ls="--", label="target: image 96.0 % at 50")
        ax.plot([], [], color="C2", lw=0.8, ls=":", label="target: cell 93.0 % at 200")
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3, which="both")
        ax.set_title("Accuracy against bit cost (MNIST, %s)" % short, fontsize=10)
        fig.tight_layout()
        save(fig, "accuracy-vs-bits.png", "Accuracy against bit cost", "bits")

    logs = {}
    for d in sorted(glob.glob(os.path.join(train_dir, "*"))):
        f = os.path.join(d, "log")
        if os.path.isfile(f):
            with open(f, errors="replace") as fh:
                pts = parse_train_log(fh.readlines())
            if pts:
                logs[os.path.basename(d)] = pts
    if logs:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
        for i, (name, pts) in enumerate(logs.items()):
            c = colors(i % 20)
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], label=name, lw=0.9, color=c)
            acc = [p for p in pts if p[2] is not None]
            if acc:
                ax2.plot([p[0] for p in acc], [p[2] for p in acc], label=name, lw=0.9, color=c)
        ax1.set_yscale("log")
        ax1.set_ylabel("training loss (batch mean, L2; 100-iteration average)")
        ax2.set_ylabel("batch cell accuracy at the last training step (%)")
        for ax in (ax1, ax2):
            ax.set_xlabel("iteration")
            ax.grid(alpha=0.3, which="both")
        ax2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        fig.suptitle("Training curves (train/<run>/log; trainer numbers, not test metrics)")
        fig.tight_layout()
        save(fig, "training-loss.png", "Training curves", "loss")
    else:
        log("models-table: no training logs under %s/*/log - no loss plot" % train_dir)
    return made


# ---------------------------------------------------------------- main

def write_marked(path, name, body, section=None):
    text = open(path).read() if os.path.exists(path) else ""
    if section:
        text = ensure_markers(text, name, section)
    new = replace_between(text, name, body)
    if new != text:
        with open(path + ".tmp", "w") as f:
            f.write(new)
        os.replace(path + ".tmp", path)


def run(a, log):
    """The whole command; returns the exit status (1 if any model is an error row)."""
    t_start = time.time()
    paths = glob.glob(os.path.join(a.models, "*.xnca"))
    if not paths:
        log("models-table: no models under %s/" % a.models)
        return 1
    if a.n < 0:
        log("models-table: --n must be >= 0")
        return 1
    subset = a.n if 0 < a.n < FULL_SPLIT else 0
    os.makedirs(a.cache, exist_ok=True)
    ev = Evaluator(a.xnca, subset, a.cache, a.threads, log, a.cached_only)
    def prepare_all(paths):
        rows = [ev.prepare(p) for p in model_order(paths)]
        for r in rows if a.skip_running else []:
            if not r.get("error") and training_running(r, a.train_dir):
                r["pending"] = "its training run is still going"
                log("models-table: %s: skipped, its training run is still going (--skip-running)" % r["name"])
        return rows
    rows = prepare_all(paths)
    todo = sum(len(ev.pending(r)) for r in rows)
    log("models-table: %d model files, %s test images, %d evaluation(s) %s, the rest cached in %s" % (
        len(rows), "first %d" % subset if subset else "all 10,000", todo,
        "missing (--cached-only: not run)" if a.cached_only else "to run", a.cache))
    for i, r in enumerate(sorted(rows, key=eval_cost)):
        ev.evaluate(r, "[%d/%d]" % (i + 1, len(rows)))

    # Choose models/mnist.xnca and models/fashion.xnca (copies only from a full-set table).
    copy = not (subset or a.no_select or a.cached_only)
    decisions = SELECT.apply([summary_row(r) for r in rows], a.models, copy=copy,
                             log=lambda s: log("select: " + s))
    if any(d["changed"] for d in decisions.values()):
        rows = prepare_all(glob.glob(os.path.join(a.models, "*.xnca")))
        for i, r in enumerate(sorted(rows, key=eval_cost)):
            ev.evaluate(r, "[%d/%d]" % (i + 1, len(rows)))
    with open(os.path.join(a.cache, "table.json.tmp"), "w") as f:
        json.dump({"n": subset, "rows": [summary_row(r) for r in rows], "selection": decisions}, f, indent=1)
    os.replace(os.path.join(a.cache, "table.json.tmp"), os.path.join(a.cache, "table.json"))

    n_label = ("first %s test images (a subset; `make models-table` evaluates the full set)" % fmt_int(subset)
               if subset else "full test set (10,000 images)")
    plots = [] if a.no_plots else plot_all(rows, a.plots, n_label, a.train_dir, log)
    table = table_markdown(rows, n_label)
    write_marked(a.card, "models-table", table)
    write_marked(a.card, "models-card", card_markdown(rows, n_label, plots, a.train_dir, decisions, subset,
                                                      os.path.dirname(os.path.abspath(a.card)), copy))
    if a.readme:
        readme_table = table + "\nPer-model details, training commands and plots: [models/README.md](models/README.md).\n"
        write_marked(a.readme, "models-table", readme_table, section="Results")
    print(table)
    errors = [r["name"] for r in rows if r.get("error")]
    pending = [r["name"] for r in rows if r.get("pending")]
    if pending:
        log("models-table: not evaluated yet (--cached-only): %s" % ", ".join(pending))
    log("models-table: wrote %s%s and %d plot(s) in %s; %d evaluation(s) run (%.0f s), %.0f s in all%s" % (
        a.card, ", " + a.readme if a.readme else "", len(plots), a.plots, ev.ran, ev.seconds,
        time.time() - t_start, "; ERRORS: " + ", ".join(errors) if errors else ""))
    return 1 if errors else 0


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xnca", default="build/xnca")
    ap.add_argument("--models", default="models")
    ap.add_argument("--n", type=int, default=0, help="first N test images (0 or >= 10000: the whole split)")
    ap.add_argument("--threads", type=int, default=0, help="xnca eval --threads (0: its default, all cores)")
    ap.add_argument("--cache", default="build/models-table")
    ap.add_argument("--plots", default="docs/plots")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--skip-running", action="store_true",
                    help="do not evaluate files whose training run is alive (train/<run>/pid)")
    ap.add_argument("--cached-only", action="store_true",
                    help="run no evaluation: render what the cache holds, the rest as 'not evaluated yet'")
    ap.add_argument("--no-select", action="store_true", help="do not copy models/mnist.xnca, fashion.xnca")
    ap.add_argument("--train-dir", default="train")
    ap.add_argument("--card", default="models/README.md")
    ap.add_argument("--readme", default="README.md", help="'' to skip the README")
    ap.add_argument("--self-test", action="store_true")
    return ap.parse_args(argv)


def main():
    a = parse_args(sys.argv[1:])
    if a.self_test:
        return self_test(a.xnca if "--xnca" in sys.argv else None)
    return run(a, lambda s: print(s, file=sys.stderr, flush=True))


# ---------------------------------------------------------------- self-test (suite models-table)

def synthetic_row(name, m, k, img50, cell200=95.0, agree200=80.0, dataset="mnist", wbytes=None, variant="quant"):
    wb = wbytes if wbytes is not None else {1: 4032, 2: 6862, 3: 9692, 4: 12522}.get(m, 24000)
    return {"name": name, "dataset": dataset, "variant": variant, "weight_bits": m, "act_bits": k,
            "weight_bytes": wb, "bit_cost": m * k * 22320, "image_accuracy@50": img50,
            "cell_accuracy@200": cell200, "agreement@200": agree200, "error": None}


def self_test(xnca):
    results = []

    def check(cond, what):
        print("%s %s" % ("ok  " if cond else "FAIL", what))
        results.append(bool(cond))

    distill = {"variant": "quant", "channels": 20, "perception_width": 80, "mlp_width": 80, "hidden_layers": 1,
               "weight_bits": 2, "act_bits": 2}
    check(synapses(distill) == 180 * 80 + 80 * 80 + 80 * 19, "synapses of Distill's dimensions = 22,320")
    check(bit_cost(distill) == 4 * 22320, "W2A2 bit cost = 4 x synapses")
    check(synapses(dict(distill, hidden_layers=0, mlp_width=0)) == 180 * 80 + 80 * 19, "L = 0 skips the MLP")
    check(precision(dict(distill, variant="float"))[1:] == (32, 32), "float counts 32x32")
    check("engine only" in precision(dict(distill, weight_bits=8))[0], "W8A2 is labelled engine only")
    t = "# x\n\n## Results\n\nTODO\n\n## Hardware\n\nhw\n"
    t2 = ensure_markers(t, "models-table", "Results")
    check("TODO\n\n<!-- models-table:begin -->" in t2 and t2.endswith("## Hardware\n\nhw\n"),
          "markers go at the end of the Results section, nothing else changes")
    t3 = replace_between(t2, "models-table", "| a |")
    check("<!-- models-table:begin -->\n| a |\n<!-- models-table:end -->" in t3
          and replace_between(t3, "models-table", "| a |") == t3, "replace_between, idempotent")
    try:
        replace_between("no markers", "models-table", "x")
        check(False, "replace_between rejects text without markers")
    except ValueError:
        check(True, "replace_between rejects text without markers")
    log = ["+ build/train/xnca-r train --variant quant --seed 1 -o models/r.xnca\n",
           "xnca train: quant W2A2, mnist, iteration 0 -> 1000, 1 threads\n",
           "iter 100/1000 loss 97.5 acc@20 10.7% lr 1e-03 2.000 it/s ETA 1h00m\n",
           "iter 200/1000 loss 75.3 acc@20 12.0% lr 1e-03 4.000 it/s ETA 1h00m\n",
           "iter 300/1000 loss 70.0 acc@20 12.5% lr 1e-03 1.000 it/s ETA 1h00m\n",
           "Terminated\n",
           "+ build/train/xnca-r train --data mnist --resume train/r/latest.ckpt -o models/r.xnca\n",
           "xnca train: quant W2A2, mnist, iteration 200 -> 1000, 1 threads\n",
           "iter 300/1000 loss 90.0 acc@20 11.0% lr 1e-03 5.000 it/s ETA 1h00m\n", "garbage iter x\n"]
    pts = parse_train_log(log)
    check(pts == [(100, 97.5, 10.7), (200, 75.3, 12.0), (300, 90.0, 11.0)], "train log: parsed, deduplicated, sorted")
    used, total, runs = train_compute(log, 300)
    check(abs(used - (50 + 25 + 20)) < 1e-9 and abs(total - (50 + 25 + 100 + 20)) < 1e-9 and runs == 2,
          "compute time: lost iterations after a resume are replaced, total counts them")
    check(abs(train_compute(log, 250)[0] - (50 + 25 + 10)) < 1e-9, "compute time stops at the file's iteration")
    check(log_commands(log)[0] == "xnca train --variant quant --seed 1 -o models/r.xnca", "log commands as `xnca`")
    a1, a2 = eval_args("mnist", 1000, "curve"), eval_args("mnist", 10000, "curve")
    check(cache_tag("curve", a1) != cache_tag("curve", a2) and "--n" not in a2 and a2 == eval_args("mnist", 0, "curve"),
          "cache key depends on the arguments; --n 10000 is the full split")
    check(model_order(["models/b.xnca", "models/mnist.xnca", "models/distill-float.xnca", "models/a.xnca"])[:2]
          == ["models/distill-float.xnca", "models/mnist.xnca"], "Distill's model first, then mnist.xnca")
    check(len(CURVE_STEPS) <= 64 and len(MUTATION_STEPS) <= 64 and set(TABLE_STEPS) <= set(CURVE_STEPS)
          and 200 in CURVE_STEPS and MUTATE_AT in MUTATION_STEPS,
          "step lists fit xnca eval's 64 report steps and hold the table's steps")

    # The selection rule on synthetic rows.
    rows = [synthetic_row("w4a4.xnca", 4, 4, 97.0),                    # too big: 12,522 bytes
            synthetic_row("w3a4.xnca", 3, 4, 96.5),                    # meets, cost 12
            synthetic_row("w3a3.xnca", 3, 3, 96.2, agree200=70.0),     # cheaper, misses agreement
            synthetic_row("w2a4.xnca", 2, 4, 96.1),                    # meets, cost 8: the pick
            synthetic_row("w2a2.xnca", 2, 2, 40.0),
            synthetic_row("w8a8.xnca", 8, 8, 98.0, wbytes=9000),       # outside m, k <= 4
            synthetic_row("mnist.xnca", 1, 1, 99.0),                   # the copy itself: never a candidate
            synthetic_row("bad.xnca", 1, 1, 99.0)]
    rows[-1]["error"] = "CRC mismatch"
    best, meets, _ = SELECT.select(rows, "mnist.xnca")
    check(best["name"] == "w2a4.xnca" and meets, "selection: the cheapest point meeting every target")
    best, meets, _ = SELECT.select([r for r in rows if r["name"] not in ("w2a4.xnca", "w3a4.xnca")], "mnist.xnca")
    check(best["name"] == "w3a3.xnca" and not meets, "selection fallback: best image accuracy at step 50")
    best, _, _ = SELECT.select([synthetic_row("a.xnca", 2, 2, 50.0), synthetic_row("b.xnca", 1, 1, 50.0)], "mnist.xnca")
    check(best["name"] == "b.xnca", "selection fallback: equal accuracy -> lower bit cost")
    fash = [synthetic_row("f-float.xnca", 32, 32, 90.0, dataset="fashion", variant="float", wbytes=90000),
            synthetic_row("f-w2a2.xnca", 2, 2, 86.0, dataset="fashion"),
            synthetic_row("f-w3a3.xnca", 3, 3, 88.0, dataset="fashion")]
    best, meets, _ = SELECT.select(fash, "fashion.xnca")
    check(best["name"] == "f-w3a3.xnca" and meets, "fashion: within 3 points of the float model")
    best, meets, _ = SELECT.select(fash[1:], "fashion.xnca")
    check(best["name"] == "f-w3a3.xnca" and not meets, "fashion: no float model -> targets not met")
    best, _, _ = SELECT.select(rows, "fashion.xnca")
    check(best is None, "fashion: no candidate -> nothing chosen")
    ts = SELECT.target_status([r for r in rows if r["name"] != "mnist.xnca"]
                              + [synthetic_row("mnist.xnca", 3, 3, 95.5, agree200=70.0)], "mnist.xnca")
    img = ts[0]
    check(len(ts) == 3 and img["shipped"] == 95.5 and img["best_candidate"] == ("w3a4.xnca", 96.5)
          and img["best_any"][:2] == ("w8a8.xnca", 98.0) and ts[2]["shipped"] == 70.0,
          "targets: shipped value, best candidate (envelope only), best of any model")
    ts = SELECT.target_status(fash, "fashion.xnca")
    check(len(ts) == 2 and ts[1]["minimum"] == 87.0 and ts[1]["shipped"] is None
          and ts[1]["best_candidate"] == ("f-w3a3.xnca", 88.0),
          "targets: Fashion's float-margin target, no shipped file -> no value")
    md = targets_markdown(rows + fash)
    check("| `mnist.xnca` | image accuracy at step 50 >= 96.00 | 99.00 |" in md
          and "| `fashion.xnca` | image accuracy at step 50 >= 85.00 | - |" in md and md.count("**no**") == 2,
          "targets table renders; a missing shipped value is not met")

    tmp = tempfile.mkdtemp(prefix="select-shipped-test-")
    try:
        for r in rows[:5]:
            with open(os.path.join(tmp, r["name"]), "wb") as f:
                f.write(r["name"].encode() * 3)
        d = SELECT.apply(rows, tmp, log=lambda s: None)
        with open(os.path.join(tmp, "mnist.xnca"), "rb") as f:
            copied = f.read() == b"w2a4.xnca" * 3
        d2 = SELECT.apply(rows, tmp, log=lambda s: None)
        check(copied and d["mnist.xnca"]["changed"] and not d2["mnist.xnca"]["changed"] and d2["mnist.xnca"]["in_place"]
              and not os.path.exists(os.path.join(tmp, "fashion.xnca")),
              "selection: byte-identical copy to mnist.xnca, a rerun changes nothing, no fashion.xnca")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if xnca:
        integration(xnca, check)
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


def sys_argv_of(a):
    """The argument list that parse_args turns back into namespace `a` (for a second run)."""
    return ["--xnca", a.xnca, "--models", a.models, "--n", str(a.n), "--cache", a.cache, "--plots", a.plots,
            "--card", a.card, "--readme", a.readme, "--train-dir", a.train_dir, "--threads", str(a.threads)] + \
        (["--skip-running"] if a.skip_running else []) + \
        (["--no-plots"] if a.no_plots else [])


def integration(xnca, check):
    """The generator end to end on 3 test images: two real models and a corrupted file."""
    tmp = tempfile.mkdtemp(prefix="models-table-test-")
    try:
        mdir = os.path.join(tmp, "models")
        os.makedirs(mdir)
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
        shutil.copyfile(os.path.join(here, FIRST_MODEL), os.path.join(mdir, FIRST_MODEL))
        shutil.copyfile(os.path.join(here, "ptq-w3a3.xnca"), os.path.join(mdir, "a-w3a3.xnca"))
        with open(os.path.join(here, "ptq-w3a3.xnca"), "rb") as f:
            data = bytearray(f.read())
        data[200] ^= 0x5A  # a payload byte: the file's CRC-32 no longer matches
        with open(os.path.join(mdir, "corrupt.xnca"), "wb") as f:
            f.write(data)
        card = os.path.join(tmp, "card.md")
        with open(card, "w") as f:
            f.write("# card\n\n<!-- models-table:begin -->\n<!-- models-table:end -->\n\n"
                    "<!-- models-card:begin -->\n<!-- models-card:end -->\n")
        a = parse_args(["--xnca", xnca, "--models", mdir, "--n", "3", "--cache", os.path.join(tmp, "cache"),
                        "--plots", os.path.join(tmp, "plots"), "--no-plots", "--card", card, "--readme", "",
                        "--train-dir", os.path.join(tmp, "train"), "--threads", "1"])
        msgs = []
        import io
        import contextlib
        with contextlib.redirect_stdout(io.StringIO()):
            rc = run(a, msgs.append)
        text = open(card).read()
        table = text.split("<!-- models-table:begin -->")[1].split("<!-- models-table:end -->")[0]
        body = [l for l in table.splitlines() if l.startswith("| `")]
        check(rc == 1, "a corrupted model makes the command exit 1 (got %d)" % rc)
        check(len(body) == 3, "one table row per model file (%d rows)" % len(body))
        check(body and body[0].startswith("| `%s`" % FIRST_MODEL), "the float row is first")
        bad = [l for l in body if l.startswith("| `corrupt.xnca`")]
        check(bad and "**error**" in bad[0], "the corrupted model is an error row")
        good = [l for l in body if l.startswith("| `a-w3a3.xnca`")]
        check(good and "quant W3A3" in good[0] and "9,692" in good[0], "the W3A3 row: precision and weight_bytes")
        t = json.load(open(os.path.join(tmp, "cache", "table.json")))
        check(t["n"] == 3 and len(t["rows"]) == 3, "table.json records the subset and every row")
        check(not os.path.exists(os.path.join(mdir, "mnist.xnca")), "a subset run does not copy mnist.xnca")
        check("would be a copy of `a-w3a3.xnca`" in text, "the card names the selected model (reported, not copied)")
        msgs.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            run(a, msgs.append)
        check(not any("... " in m for m in msgs) and any("cached" in m for m in msgs), "a rerun evaluates nothing")
        shutil.copyfile(os.path.join(here, "ptq-w4a4.xnca"), os.path.join(mdir, "b-w4a4.xnca"))
        msgs.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            run(parse_args(["--cached-only"] + sys_argv_of(a)), msgs.append)
        text = open(card).read()
        check("| `b-w4a4.xnca` | mnist | quant W4A4 | not evaluated yet: no cached result" in text and not any("... " in m for m in msgs),
              "--cached-only evaluates nothing and marks the new file as not evaluated")
        os.makedirs(os.path.join(tmp, "train", "b-w4a4"))
        with open(os.path.join(tmp, "train", "b-w4a4", "pid"), "w") as f:
            f.write("%d\n" % os.getpid())  # a live process: b-w4a4's "training" is running
        msgs.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            run(parse_args(["--skip-running"] + sys_argv_of(a)), msgs.append)
        text = open(card).read()
        check("| `b-w4a4.xnca` | mnist | quant W4A4 | not evaluated yet: its training run is still going" in text
              and not any("... " in m for m in msgs), "--skip-running leaves a file whose training is alive")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
