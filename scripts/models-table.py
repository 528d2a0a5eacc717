#!/usr/bin/python3
"""models-table.py - evaluate every shipped model (models/*.xnca) with `xnca eval` and write
the results table into models/README.md and README.md, the per-model card sections of
models/README.md, and the plots in docs/plots/.

Every number comes from `xnca eval` / `xnca info` on the exported file. Evaluations are
cached in build/models-table/<file>-<sha256 of the model>-<args>.json, so a rerun only
evaluates models whose bytes (or whose evaluation arguments) changed.

    scripts/models-table.py --xnca build/xnca            # full test sets (10,000 images)
    scripts/models-table.py --xnca build/xnca --n 1000   # QUICK: first 1,000 test images
    scripts/models-table.py --self-test                  # unit checks of the pure helpers

Generated text goes between markers (<!-- NAME:begin --> ... <!-- NAME:end -->); everything
outside the markers is left as it is.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import time

FIRST_MODEL = "distill-float.xnca"  # the reference row: Distill's published float model
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
# Metadata keys read for the model card (spec 10 plus the trainer's extras).
# How the files without a `command=` key were made.
NO_COMMAND = {FIRST_MODEL: "# imported, not trained here (make distill-model):\n"
                           "xnca import-distill models/third_party/distill/model.json -o models/distill-float.xnca"}
CARD_KEYS = ("dataset", "iterations", "train_steps", "train_seconds", "seed", "source", "license")


# ---------------------------------------------------------------- pure helpers (self-tested)

def synapses(info):
    """Binary synapse count of one cell update: sum over layers of N_in * N_out (spec 3.3)."""
    c, p, m, layers = info["channels"], info["perception_width"], info["mlp_width"], info["hidden_layers"]
    dims = [9 * c, p] + [m] * layers + [c - 1]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def precision(info):
    """(label, m, k): quant WmAk; float variants by the width of what the layers multiply."""
    v = info["variant"]
    if v == "quant":
        m, k = info["weight_bits"], info["act_bits"]
        return "quant W%dA%d" % (m, k), m, k
    # float: float32 weights x float32 inputs; bwn: 1-bit weights (sign, one scale per row) x
    # float32 inputs; ban: float32 weights x 1-bit inputs (spec 2, 8).
    m, k = {"float": (32, 32), "bwn": (1, 32), "ban": (32, 1)}[v]
    return "%s (float32 engine)" % v, m, k


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


LOG_LINE = re.compile(r"^iter (\d+)/\d+ loss ([-+0-9.eE]+|nan|inf)(?: acc@(\d+) ([0-9.]+)%)?")


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


def cache_name(model_file, digest, kind, args):
    """build/models-table/<file>-<sha256>-<args>.json (args: the kind and a hash of the argv)."""
    tag = hashlib.sha256(" ".join(args).encode()).hexdigest()[:12]
    return "%s-%s-%s-%s.json" % (os.path.basename(model_file), digest, kind, tag)


def fmt_pct(v):
    return "-" if v is None else "%.1f" % v


def fmt_int(v):
    return "{:,}".format(v)


def metric_at(ev, step, key):
    for r in ev["metrics"]:
        if r["step"] == step:
            return r[key]
    return None


# ---------------------------------------------------------------- running xnca

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_json(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return json.loads(p.stdout)


def cached_eval(xnca, model, digest, kind, args, cache_dir, log):
    path = os.path.join(cache_dir, cache_name(model, digest, kind, args))
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    argv = [xnca, "eval", "--model", model] + args + ["--json"]
    log("models-table: %s" % " ".join(argv))
    t0 = time.time()
    ev = run_json(argv)
    ev["eval_seconds"] = round(time.time() - t0, 1)
    ev["argv"] = argv
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ev, f, indent=1)
    os.replace(tmp, path)  # a killed run never leaves a half-written cache entry
    return ev


def evaluate(xnca, model, n, cache_dir, log):
    info = run_json([xnca, "info", "--model", model, "--json"])
    meta = info.get("meta") or {}
    dataset = meta.get("dataset", "mnist")
    digest = sha256_file(model)
    base = ["--data", dataset, "--split", "test"] + (["--n", str(n)] if n else [])
    at = ",".join(str(s) for s in CURVE_STEPS)
    main = cached_eval(xnca, model, digest, "curve", base + ["--at", at, "--tie-rate"], cache_dir, log)
    mutation = None
    if dataset == "mnist":
        mat = ",".join(str(s) for s in MUTATION_STEPS)
        mutation = cached_eval(xnca, model, digest, "mutation",
                               base + ["--at", mat, "--mutate-at", str(MUTATE_AT)], cache_dir, log)
    return {"file": model, "name": os.path.basename(model), "info": info, "meta": meta,
            "dataset": dataset, "sha256": digest, "main": main, "mutation": mutation}


def model_order(paths):
    """The Distill float model first, then by name."""
    return sorted(paths, key=lambda p: (os.path.basename(p) != FIRST_MODEL, os.path.basename(p)))


# ---------------------------------------------------------------- tables and card

def table_markdown(rows, n_label):
    head = ("| model | data | precision | bit cost (m x k x synapses) | cell accuracy % at 20 / 50 / 100 / 200 "
            "| agreement % at 20 / 50 / 100 / 200 | image accuracy % at 20 / 50 / 200 | weight_bytes |\n"
            "|---|---|---|---|---|---|---|---:|\n")
    out = []
    for r in rows:
        info, ev = r["info"], r["main"]
        label, m, k = precision(info)
        cost = "%dx%d x %s = %s" % (m, k, fmt_int(synapses(info)), fmt_int(bit_cost(info)))
        if info["variant"] != "quant":
            cost += " \\*"
        cells = " / ".join(fmt_pct(metric_at(ev, s, "cell_accuracy")) for s in TABLE_STEPS)
        agree = " / ".join(fmt_pct(metric_at(ev, s, "agreement")) for s in TABLE_STEPS)
        image = " / ".join(fmt_pct(metric_at(ev, s, "image_accuracy")) for s in IMAGE_STEPS)
        out.append("| `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], r["dataset"], label, cost, cells, agree, image, fmt_int(info["weight_bytes"])))
    notes = ("\nTest split: %s, seed 0; every number from `xnca eval` on the exported file (`make models-table`).\n"
             "Bit cost: binary synapse operations per cell update, `m x k x sum_l N_in N_out` (spec 3.3).\n"
             "\\* float variants are not bit-plane arithmetic: their cost is written as the width of the\n"
             "operands (float32 = 32 bits; `bwn` 1-bit weights x float32 inputs, `ban` float32 weights x\n"
             "1-bit inputs) for comparison only. weight_bytes: bytes a device receives (spec 9; float\n"
             "variants: the float32 payload).\n") % n_label
    return head + "\n".join(out) + "\n" + notes


def card_markdown(rows, n_label, plots):
    out = []
    if plots:
        out.append("Plots (%s):\n" % n_label)
        for title, path in plots:
            out.append("![%s](../%s)" % (title, path))
        out.append("")
    for r in rows:
        info, meta, ev = r["info"], r["meta"], r["main"]
        label, m, k = precision(info)
        out.append("### `%s`\n" % r["name"])
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
        for key in CARD_KEYS:
            val = meta.get(key)
            if key == "train_seconds" and val is not None:
                try:
                    val = "%s (%.1f h)" % (val, float(val) / 3600)
                except ValueError:
                    pass
            out.append("| %s | %s |" % (key, "not recorded" if val is None else val.replace("|", "\\|")))
        out.append("| sha256 | `%s` |" % r["sha256"])
        out.append("")
        cmd = meta.get("command")
        out.append("Trained by:\n\n```sh\n%s\n```\n" % (cmd if cmd else NO_COMMAND.get(r["name"], "# no command= in the metadata: not trained by xnca train")))
        out.append("Test metrics (%s, `%s` test split):\n" % (n_label, r["dataset"]))
        out.append("| step | cell accuracy % | agreement % | image accuracy % |\n|---:|---:|---:|---:|")
        for s in (1, 10, 20, 50, 100, 200):
            out.append("| %d | %s | %s | %s |" % (s, fmt_pct(metric_at(ev, s, "cell_accuracy")),
                                                 fmt_pct(metric_at(ev, s, "agreement")),
                                                 fmt_pct(metric_at(ev, s, "image_accuracy"))))
        tie = ev.get("tie_rate")
        out.append("")
        if tie:
            out.append("Argmax tie rate at step %d: %.3f%% of alive cells have two or more class channels "
                       "sharing the maximum (spec 5 gives them the lowest class)." % (tie["step"], tie["percent"]))
        mu = r["mutation"]
        if mu:
            vals = ", ".join("step %d: %s / %s" % (s, fmt_pct(metric_at(mu, s, "cell_accuracy")),
                                                   fmt_pct(metric_at(mu, s, "agreement")))
                             for s in (200, 210, 250, 300, 400))
            out.append("\nMutation after step %d (`--mutate-at %d`), cell accuracy / agreement %%: %s." % (
                MUTATE_AT, MUTATE_AT, vals))
        out.append("\nEvaluation commands: `%s` (%.0f s)%s\n" % (
            " ".join(["xnca"] + ev["argv"][1:]), ev.get("eval_seconds", 0),
            "; `%s` (%.0f s)" % (" ".join(["xnca"] + mu["argv"][1:]), mu.get("eval_seconds", 0)) if mu else ""))
    return "\n".join(out)


# ---------------------------------------------------------------- plots

def plot_all(rows, plot_dir, n_label, train_dir, log):
    short = n_label.split(" (")[0]  # plot titles: "first 1,000 test images" / "full test set"
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(plot_dir, exist_ok=True)
    made = []
    mnist = [r for r in rows if r["dataset"] == "mnist"]

    def curves(key, title, fname, steps_key):
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for r in mnist:
            ev = r[key]
            if not ev:
                continue
            st = [p["step"] for p in ev["metrics"]]
            ax1.plot(st, [p["cell_accuracy"] for p in ev["metrics"]], label=r["name"][:-5])
            ax2.plot(st, [p["agreement"] for p in ev["metrics"]], label=r["name"][:-5])
        for ax, yl in ((ax1, "average cell accuracy (%)"), (ax2, "total agreement (%)")):
            ax.set_xlabel("step")
            ax.set_ylabel(yl)
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            if key == "mutation":
                ax.axvline(MUTATE_AT, color="k", lw=0.8, ls="--")
        ax2.legend(fontsize=8, loc="lower right")
        fig.suptitle("%s (MNIST, %s)" % (title, short))
        fig.tight_layout()
        path = os.path.join(plot_dir, fname)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append((title, path))

    if mnist:
        curves("main", "Cell accuracy and agreement against step", "accuracy-vs-step.png", CURVE_STEPS)
        curves("mutation", "After a mutation at step %d" % MUTATE_AT, "mutation.png", MUTATION_STEPS)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for r in mnist:
            x = bit_cost(r["info"])
            y = metric_at(r["main"], 200, "cell_accuracy")
            yi = metric_at(r["main"], 200, "image_accuracy")
            quant = r["info"]["variant"] == "quant"
            ax.scatter([x], [y], marker="o" if quant else "s", color="C0" if quant else "C3")
            ax.scatter([x], [yi], marker="^", color="C2", alpha=0.6)
            ax.annotate(precision(r["info"])[0].replace(" (float32 engine)", ""), (x, y), fontsize=7,
                        xytext=(4, -10), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("bit cost per cell update (m x k x synapses; float: operand widths)")
        ax.set_ylabel("accuracy at step 200 (%)")
        ax.scatter([], [], marker="o", color="C0", label="cell accuracy, quant")
        ax.scatter([], [], marker="s", color="C3", label="cell accuracy, float variants")
        ax.scatter([], [], marker="^", color="C2", label="image accuracy")
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3, which="both")
        ax.set_title("Accuracy against bit cost (MNIST, %s)" % short, fontsize=10)
        fig.tight_layout()
        path = os.path.join(plot_dir, "accuracy-vs-bits.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(("Accuracy against bit cost", path))

    logs = {}
    for d in sorted(glob.glob(os.path.join(train_dir, "*"))):
        files = sorted(glob.glob(os.path.join(d, "*.log"))) + ([os.path.join(d, "log")]
                                                                if os.path.isfile(os.path.join(d, "log")) else [])
        lines = []
        for f in files:
            with open(f, errors="replace") as fh:
                lines += fh.readlines()
        pts = parse_train_log(lines)
        if pts:
            logs[os.path.basename(d)] = pts
    if logs:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for name, pts in logs.items():
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], label=name, lw=0.9)
            acc = [p for p in pts if p[2] is not None]
            if acc:
                ax2.plot([p[0] for p in acc], [p[2] for p in acc], label=name, lw=0.9)
        ax1.set_yscale("log")
        ax1.set_ylabel("training loss (batch mean, L2)")
        ax2.set_ylabel("batch cell accuracy at the logged step (%)")
        for ax in (ax1, ax2):
            ax.set_xlabel("iteration")
            ax.grid(alpha=0.3, which="both")
        ax2.legend(fontsize=8)
        fig.suptitle("Training curves (train/<name>/log)")
        fig.tight_layout()
        path = os.path.join(plot_dir, "training-loss.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(("Training curves", path))
    else:
        log("models-table: no training logs under %s/*/ - skipping the loss plot" % train_dir)
    return made


# ---------------------------------------------------------------- main

def write_marked(path, name, body, section=None):
    text = open(path).read() if os.path.exists(path) else ""
    if section:
        text = ensure_markers(text, name, section)
    new = replace_between(text, name, body)
    if new != text:
        with open(path, "w") as f:
            f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xnca", default="build/xnca")
    ap.add_argument("--models", default="models")
    ap.add_argument("--n", type=int, default=0, help="first N test images (0: the whole split)")
    ap.add_argument("--cache", default="build/models-table")
    ap.add_argument("--plots", default="docs/plots")
    ap.add_argument("--train-dir", default="train")
    ap.add_argument("--card", default="models/README.md")
    ap.add_argument("--readme", default="README.md")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    log = lambda s: print(s, file=sys.stderr, flush=True)
    paths = model_order(glob.glob(os.path.join(a.models, "*.xnca")))
    if not paths:
        log("models-table: no models under %s/" % a.models)
        return 1
    os.makedirs(a.cache, exist_ok=True)
    rows = []
    for p in paths:
        try:
            rows.append(evaluate(a.xnca, p, a.n, a.cache, log))
        except (RuntimeError, ValueError) as e:
            log("models-table: %s" % e)
            return 1
    n_label = ("first %s test images (QUICK; run `make models-table` for the full set)" % fmt_int(a.n)
               if a.n else "full test set (10,000 images)")
    plots = plot_all(rows, a.plots, n_label, a.train_dir, log)
    table = table_markdown(rows, n_label)
    write_marked(a.card, "models-table", table)
    write_marked(a.card, "models-card", card_markdown(rows, n_label, plots))
    readme_table = table + "\nPer-model details, training commands and plots: [models/README.md](models/README.md).\n"
    write_marked(a.readme, "models-table", readme_table, section="Results")
    print(table)
    log("models-table: wrote %s, %s and %d plot(s) in %s" % (a.card, a.readme, len(plots), a.plots))
    return 0


def self_test():
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
    check(precision(dict(distill, variant="bwn"))[1:] == (1, 32), "bwn counts 1x32")
    t = "# x\n\n## Results\n\nTODO\n\n## Hardware\n\nhw\n"
    t2 = ensure_markers(t, "models-table", "Results")
    check("TODO\n\n<!-- models-table:begin -->" in t2 and t2.endswith("## Hardware\n\nhw\n"),
          "markers go at the end of the Results section, nothing else changes")
    t3 = replace_between(t2, "models-table", "| a |")
    check("<!-- models-table:begin -->\n| a |\n<!-- models-table:end -->" in t3, "replace_between")
    check(replace_between(t3, "models-table", "| a |") == t3, "replace_between is idempotent")
    check(ensure_markers(t3, "models-table", "Results") == t3, "ensure_markers keeps existing markers")
    check(ensure_markers("# x\n", "m", "Results").endswith("## Results\n\n<!-- m:begin -->\n<!-- m:end -->\n"),
          "ensure_markers creates a missing section")
    try:
        replace_between("no markers", "models-table", "x")
        check(False, "replace_between rejects text without markers")
    except ValueError:
        check(True, "replace_between rejects text without markers")
    pts = parse_train_log(["+ build/xnca train ...\n", "iter 100/1000 loss 97.5 acc@20 10.7% lr 1e-03\n",
                           "iter 200/1000 loss 75.3 acc@20 12.0% lr 1e-03\n",
                           "iter 100/1000 loss 90.0 acc@20 11.0% lr 1e-03\n", "garbage iter x\n"])
    check(pts == [(100, 90.0, 11.0), (200, 75.3, 12.0)], "train log: parsed, deduplicated, sorted")
    k1 = cache_name("models/a.xnca", "ab", "curve", ["--n", "1000"])
    k2 = cache_name("models/a.xnca", "ab", "curve", ["--n", "10000"])
    check(k1 != k2 and k1.startswith("a.xnca-ab-curve-"), "cache key depends on the arguments")
    check(model_order(["models/b.xnca", "models/distill-float.xnca", "models/a.xnca"])[0].endswith(FIRST_MODEL),
          "Distill's model is the first row")
    check(len(CURVE_STEPS) <= 64 and len(MUTATION_STEPS) <= 64 and set(TABLE_STEPS) <= set(CURVE_STEPS),
          "step lists fit xnca eval's 64 report steps and hold the table's steps")
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
