#!/usr/bin/python3
"""select-shipped.py - choose the accelerator models models/mnist.xnca and models/fashion.xnca
from the evaluated models (issue 3, points 4 and 6) and copy the chosen files, byte for byte.

The rule, per dataset:
  candidates: quant models of that dataset inside the RTL envelope (m, k <= 4, docs/spec.md 9)
              with weight_bytes <= 12288, that evaluated without error (the shipped names
              mnist.xnca / fashion.xnca themselves are not candidates: they are the copies);
  1. among the candidates that meet every target, the cheapest bit cost
     (ties: higher image accuracy at step 50, then the name);
  2. until one does, the candidate with the best image accuracy at step 50
     (ties: lower bit cost, then the name).
Targets: MNIST image accuracy >= 96.0 % at step 50, cell accuracy >= 93.0 % and agreement
>= 75 % at step 200; Fashion image accuracy >= 85 % at step 50 and within 3 points of the
best float Fashion model's (no float Fashion model evaluated: that target counts as missed).

Input: the summary the table generator writes (build/models-table/table.json, one row per
model file, every number from `xnca eval`). A table made on a subset of the test set is only
reported (nothing is copied) unless --allow-subset is given.

    scripts/select-shipped.py --table build/models-table/table.json --models models
    scripts/select-shipped.py --table ... --dry-run      # print the choice, copy nothing
"""
import argparse
import json
import os
import shutil
import sys

MAX_WEIGHT_BYTES = 12288  # the accelerator's weight memory (issue 3, point 6)
MAX_BITS = 4              # RTL envelope: m, k <= 4 (docs/spec.md section 9)
FLOAT_MARGIN = 3.0        # Fashion: within 3 points of the float model

# Each shipped file: its dataset and the targets as (row key, minimum, label).
TARGETS = {
    "mnist.xnca": {"dataset": "mnist",
                   "targets": [("image_accuracy@50", 96.0, "image accuracy at step 50"),
                               ("cell_accuracy@200", 93.0, "cell accuracy at step 200"),
                               ("agreement@200", 75.0, "agreement at step 200")]},
    "fashion.xnca": {"dataset": "fashion",
                     "targets": [("image_accuracy@50", 85.0, "image accuracy at step 50")]},
}


def in_envelope(row):
    """(ok, why not) for the accelerator: quant, m, k <= 4, weight_bytes <= 12288, no error."""
    if row.get("error"):
        return False, row["error"]
    if row.get("variant") != "quant":
        return False, "%s variant (not bit-plane arithmetic)" % row.get("variant")
    if row["weight_bits"] > MAX_BITS or row["act_bits"] > MAX_BITS:
        return False, "W%dA%d outside m, k <= %d" % (row["weight_bits"], row["act_bits"], MAX_BITS)
    if row["weight_bytes"] > MAX_WEIGHT_BYTES:
        return False, "weight_bytes %d > %d" % (row["weight_bytes"], MAX_WEIGHT_BYTES)
    return True, ""


def float_reference(rows, dataset):
    """The best float model of `dataset` by image accuracy at step 50, or None."""
    floats = [r for r in rows if not r.get("error") and r.get("variant") == "float"
              and r.get("dataset") == dataset and r["name"] not in TARGETS
              and r.get("image_accuracy@50") is not None]
    return max(floats, key=lambda r: (r["image_accuracy@50"], r["name"]), default=None)


def misses(row, spec, rows):
    """The targets `row` misses, as readable strings (empty: it meets them all)."""
    out = []
    for key, minimum, label in spec["targets"]:
        v = row.get(key)
        if v is None or v < minimum:
            out.append("%s %s < %.1f" % (label, "-" if v is None else "%.2f" % v, minimum))
    if spec["dataset"] == "fashion":
        ref = float_reference(rows, "fashion")
        v = row.get("image_accuracy@50")
        if ref is None:
            out.append("no float Fashion model to compare with")
        elif v is None or v < ref["image_accuracy@50"] - FLOAT_MARGIN:
            out.append("image accuracy at step 50 more than %.0f points below %s (%.2f)" % (
                FLOAT_MARGIN, ref["name"], ref["image_accuracy@50"]))
    return out


def select(rows, shipped):
    """Apply the rule for shipped file `shipped` (a key of TARGETS) to the table rows.
    Returns (chosen row or None, meets_targets, lines saying why)."""
    spec = TARGETS[shipped]
    why = []
    cands = []
    for r in rows:
        if r.get("dataset") != spec["dataset"] or r["name"] in TARGETS:
            continue
        ok, reason = in_envelope(r)
        if ok:
            cands.append(r)
        else:
            why.append("  not a candidate: %s (%s)" % (r["name"], reason))
    if not cands:
        return None, False, why + ["%s: no %s model inside the envelope (quant, m, k <= %d, weight_bytes <= %d)"
                                   % (shipped, spec["dataset"], MAX_BITS, MAX_WEIGHT_BYTES)]
    for r in sorted(cands, key=lambda r: r["name"]):
        m = misses(r, spec, rows)
        why.append("  candidate %s: W%dA%d, bit cost %d, image@50 %s -> %s" % (
            r["name"], r["weight_bits"], r["act_bits"], r["bit_cost"], fmt(r.get("image_accuracy@50")),
            "meets every target" if not m else "misses " + "; ".join(m)))
    meeting = [r for r in cands if not misses(r, spec, rows)]
    if meeting:
        best = min(meeting, key=lambda r: (r["bit_cost"], -(r.get("image_accuracy@50") or 0), r["name"]))
        why.append("%s <- %s: the cheapest candidate meeting every target (bit cost %d)" % (
            shipped, best["name"], best["bit_cost"]))
        return best, True, why
    best = max(cands, key=lambda r: (r.get("image_accuracy@50") or -1, -r["bit_cost"], r["name"]))
    why.append("%s <- %s: no candidate meets the targets yet; best image accuracy at step 50 (%s %%) "
               "among %d candidate(s)" % (shipped, best["name"], fmt(best.get("image_accuracy@50")), len(cands)))
    return best, False, why


def target_status(rows, shipped):
    """Every target of `shipped` against the best any model reached (issue 3, point 6: "report
    the best reached, what limits it"). One dict per target: label, minimum, the shipped file's
    value, the best candidate's (inside the accelerator envelope) and the best of any evaluated
    model of the dataset (any precision and size), each with its name. A row without a value
    (not evaluated, error) is left out."""
    spec = TARGETS[shipped]
    data = [r for r in rows if not r.get("error") and r.get("dataset") == spec["dataset"]]
    me = next((r for r in data if r["name"] == shipped), None)
    cands = [r for r in data if r["name"] not in TARGETS and in_envelope(r)[0]]
    others = [r for r in data if r["name"] not in TARGETS]
    targets = list(spec["targets"])
    if spec["dataset"] == "fashion":
        ref = float_reference(rows, "fashion")
        if ref is not None:
            targets.append(("image_accuracy@50", ref["image_accuracy@50"] - FLOAT_MARGIN,
                            "image accuracy at step 50 within %.0f points of %s (%.2f)"
                            % (FLOAT_MARGIN, ref["name"], ref["image_accuracy@50"])))

    def best(pool, key):
        have = [r for r in pool if r.get(key) is not None]
        return max(have, key=lambda r: (r[key], -(r.get("bit_cost") or 0), r["name"]), default=None)

    out = []
    for key, minimum, label in targets:
        bc, ba = best(cands, key), best(others, key)
        out.append({"label": label, "minimum": minimum,
                    "shipped": me.get(key) if me else None,
                    "best_candidate": (bc["name"], bc[key]) if bc else None,
                    "best_any": (ba["name"], ba[key], ba.get("variant"), ba.get("weight_bits"),
                                 ba.get("act_bits"), ba.get("weight_bytes")) if ba else None})
    return out


def fmt(v):
    return "-" if v is None else "%.2f" % v


def same_bytes(a, b):
    if not (os.path.isfile(a) and os.path.isfile(b)):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def copy_model(src, dst):
    """Byte-identical copy, atomically (a reader never sees half a file). True if dst changed."""
    if same_bytes(src, dst):
        return False
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return True


def apply(rows, models_dir, copy=True, log=print):
    """Select and (if copy) copy every shipped file. Returns {shipped: decision dict}."""
    decisions = {}
    for shipped in TARGETS:
        best, meets, why = select(rows, shipped)
        for line in why:
            log(line)
        d = {"source": best["name"] if best else None, "meets_targets": meets, "why": why[-1],
             "changed": False}
        if best and copy:
            d["changed"] = copy_model(os.path.join(models_dir, best["name"]), os.path.join(models_dir, shipped))
            log("%s: %s" % (shipped, "copied from " + best["name"] if d["changed"] else
                            "already a copy of " + best["name"]))
        elif best:
            log("%s: not copied (dry run, subset or cache-only table)" % shipped)
        # Whether the shipped file now is a byte-identical copy of the choice.
        d["in_place"] = bool(best) and same_bytes(os.path.join(models_dir, best["name"]),
                                                  os.path.join(models_dir, shipped))
        decisions[shipped] = d
    return decisions


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", default="build/models-table/table.json")
    ap.add_argument("--models", default="models")
    ap.add_argument("--dry-run", action="store_true", help="print the choice, copy nothing")
    ap.add_argument("--allow-subset", action="store_true",
                    help="copy even if the table was evaluated on a subset of the test set")
    a = ap.parse_args()
    try:
        with open(a.table) as f:
            table = json.load(f)
    except (OSError, ValueError) as e:
        print("select-shipped: cannot read %s (%s); run `make models-table` first" % (a.table, e), file=sys.stderr)
        return 1
    copy = not a.dry_run
    if table.get("n") and not a.allow_subset:
        print("select-shipped: %s was evaluated on the first %d test images only: reporting, not copying "
              "(run `make models-table` on the full set, or pass --allow-subset)" % (a.table, table["n"]))
        copy = False
    waiting = [r["name"] for r in table["rows"] if (r.get("error") or "").startswith("not evaluated yet")]
    if waiting:
        print("select-shipped: not evaluated yet, so not candidates: %s" % ", ".join(waiting))
    apply(table["rows"], a.models, copy=copy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
