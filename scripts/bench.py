#!/usr/bin/python3
"""bench.py - assemble `make bench`: docs/benchmarks.json, docs/benchmarks.md and PNG plots.

usage: bench.py --peers PEERS.json --torch TORCH.json --ref bench/ref_popcount.json
                [--cycles CYCLES.json] [--report-dir DIR ...] [--out-json F] [--out-md F]
                [--plots DIR] [--command TEXT]

Inputs, all measured by the same `make bench` run except the cached reference circuit:
  PEERS.json   scripts/bench_peers.c: the C engine peers (c-bnn-1t, c-bnn-all, c-float-1t,
               c-float-all) and the alive firing cells per image at 20/50/200 steps.
  TORCH.json   scripts/bench_torch.py: the torch-float-all peer.
  ref          bench/ref_popcount.json (`make bench-ref`): c = LUT4 sites per synapse per device.
  CYCLES.json  THE RTL PLUG-IN POINT. Cycle counts from the Verilator model of each board's whole
               top (link included), written by the co-simulation (see load_cycles() for the
               format). Missing file or missing board: that board is "pending RTL".
  fmax         per board, the first of bitstreams/<board>.report.json and
               build/<board>/report.json (nextpnr --report) whose design is the accelerator
               (a build/<board>/config naming a *_smoke top is skipped, and so is a build/
               report without a bitstream beside it: that build failed, e.g. on timing).

Everything else is computed here: compute-bound images/s and latency, the link-bound projection
(USB-UART bridge model, link_projection()), end-to-end = min with its bottleneck, the device
ceiling and the design's share of it, and the stated targets.
"""
import argparse
import datetime
import json
import math
import os
import subprocess
import sys

STEPS = (20, 50, 200)
GRID_W = GRID_H = 28
# Distill's dimensions: binary synapses per cell update and plane pair, sum_l N_in(l) N_out(l).
SYNAPSES_PER_UPDATE = 180 * 80 + 80 * 80 + 80 * 19  # 22,320

# USB-UART bridges (docs/boards.md, ../shared/notes/boards-usb.md; FTDI DS_FT231X, DS_FT2232H).
# packet: bulk max packet size; status: modem-status bytes the chip puts at the start of every
# IN packet; frame_s: (micro)frame period; packets_per_frame: the most bulk packets of that size
# one (micro)frame carries (full speed 19 x 64 B per 1 ms frame; high speed 13 x 512 B per
# 125 us microframe); latency_timer_s: the chip flushes a partial IN packet after this long
# (the host sets 1 ms, docs/protocol.md section 5).
BRIDGES = {
    "FT231X": {"usb": "full-speed", "baud": 3_000_000, "packet": 64, "status": 2, "frame_s": 1e-3,
               "packets_per_frame": 19, "latency_timer_s": 1e-3},
    "FT2232H": {"usb": "high-speed", "baud": 12_000_000, "packet": 512, "status": 2, "frame_s": 125e-6,
                "packets_per_frame": 13, "latency_timer_s": 1e-3},
}

# The link runs at the bridge's maximum baud unless --baud BOARD=N gives the board's UART as built
# (mk/bench.mk passes CLOCK_HZ / CLKS_PER_BIT of mk/top.mk TOP_CFG_<board>).
BOARDS = {
    "icebreaker": {"device": "up5k", "bridge": "FT2232H"},
    "ulx3s-85f": {"device": "85k", "bridge": "FT231X"},
    "ulx3s-25f": {"device": "25k", "bridge": "FT231X"},
}

# Link defaults when the cycles file does not give the device's values (docs/protocol.md 7:
# max payload 1 KiB; the shipping models' input bits b = 2).
DEFAULT_MAX_PAYLOAD = 1024
DEFAULT_GRID_BITS = 2

TARGETS = {"ulx3s85_images_per_s": 50_000, "icebreaker_images_per_s": 1_000, "ceiling_share": 0.5,
           "ulx3s_e2e_images_per_s": 2_000}


def fail(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


def read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        fail(f"{what} {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{what} {path}: not JSON ({e})")


# ---- the RTL plug-in point ------------------------------------------------------------------

def load_cycles(path):
    """Cycle counts of the RTL co-simulation, or {} when the file does not exist (pending RTL).

    Format (one JSON object; extra keys are kept and ignored):
      {"source": "make cosim ...", "commit": "...",
       "runs": [{"board": "icebreaker" | "ulx3s-85f" | "ulx3s-25f",
                 "model": "w1a1" | "shipped", "weight_bits": 1, "act_bits": 1,
                 "steps": 20 | 50 | 200,
                 "images": 100, "first_image": 0,           # MNIST test digits simulated
                 "cycles_per_image": 123456.0,              # mean, CLASSIFY reply `cycles` field
                 "cycles_per_step": 6172.8,                 # mean over the images' steps
                 "cell_updates_per_image": 1271.4,          # optional: alive firing cells
                 "grid_bits": 2, "max_payload": 1024}]}     # optional: link parameters
    Returns {(board, model, steps): run}.
    """
    if not path or not os.path.exists(path):
        return {}
    data = read_json(path, "cycles file")
    runs = {}
    for r in data.get("runs", []):
        for key in ("board", "model", "steps", "cycles_per_image"):
            if key not in r:
                fail(f"cycles file {path}: a run lacks '{key}'")
        if r["board"] not in BOARDS:
            fail(f"cycles file {path}: unknown board '{r['board']}'")
        if not (isinstance(r["cycles_per_image"], (int, float)) and r["cycles_per_image"] > 0):
            fail(f"cycles file {path}: cycles_per_image must be a positive number")
        runs[(r["board"], r["model"], int(r["steps"]))] = r
    return runs


def board_fmax(board, report_dirs):
    """(fmax MHz of the slowest clock, source path) of the board's accelerator build, or (None, why)."""
    for d in report_dirs:
        for path, config in ((os.path.join(d, "bitstreams", f"{board}.report.json"), None),
                             (os.path.join(d, "build", board, "report.json"), os.path.join(d, "build", board, "config"))):
            if not os.path.exists(path):
                continue
            if config and os.path.exists(config):
                top = [ln.split(None, 1)[1].strip() for ln in open(config) if ln.startswith("top ")]
                if top and top[0].endswith("_smoke"):
                    continue
            if config:
                # a build/ report counts only when that build produced its bitstream (timing met)
                bits = [os.path.join(d, "build", board, f) for f in ("xnca.bit", "xnca.bin")]
                if not any(os.path.exists(b) and os.path.getmtime(b) >= os.path.getmtime(path) for b in bits):
                    continue
            r = read_json(path, "nextpnr report")
            f = [v["achieved"] for v in r.get("fmax", {}).values()]
            if f:
                return min(f), path
    return None, "no accelerator place-and-route report (bitstreams/<board>.report.json)"


# ---- link model ---------------------------------------------------------------------------------

def cobs_wire_bytes(body):
    """Bytes on the wire of a frame with `body` decoded bytes: two 0x00 delimiters plus COBS's
    code bytes (at most one per 254 body bytes, at least one; the worst case is used)."""
    return body + max(1, math.ceil((body + 1) / 254)) + 2


def link_projection(bridge_name, grid_bits=DEFAULT_GRID_BITS, max_payload=DEFAULT_MAX_PAYLOAD, n_report=1,
                    w=GRID_W, h=GRID_H, baud=None):
    """Link-bound images/s of a CLASSIFY stream over a USB-UART bridge (a projection: the model, not
    a measurement). Requests carry as many packed grids as max_payload allows; the host keeps
    frames in flight (docs/protocol.md section 2), so each direction is a pipe limited by its
    slowest stage: UART 8N1 (10 bits per byte), and USB bulk (IN packets lose `status` bytes)."""
    br = dict(BRIDGES[bridge_name])
    if baud:
        br["baud"] = baud
    grid = math.ceil(w * h * grid_bits / 8)
    fixed = 16 + 2 * n_report
    per_frame = max(1, min(255, (max_payload - fixed) // grid))
    req_body = 4 + fixed + per_frame * grid + 2
    rep_body = 4 + 3 + per_frame * (6 + 22 * n_report) + 2
    req_wire = cobs_wire_bytes(req_body) / per_frame
    rep_wire = cobs_wire_bytes(rep_body) / per_frame
    uart = br["baud"] / 10.0
    usb_out = br["packets_per_frame"] * br["packet"] / br["frame_s"]
    usb_in = usb_out * (br["packet"] - br["status"]) / br["packet"]
    limits = {
        "uart host->device": uart / req_wire,
        "uart device->host": uart / rep_wire,
        "usb out": usb_out / req_wire,
        "usb in": usb_in / rep_wire,
    }
    stage = min(limits, key=limits.get)
    # One image alone: USB OUT scheduling (one (micro)frame), the request on the UART, then the
    # reply on the UART, the latency timer (a reply shorter than a packet waits for it) and one
    # (micro)frame for the IN poll. The compute time is added by the caller.
    one_req = cobs_wire_bytes(4 + fixed + grid + 2)
    one_rep = cobs_wire_bytes(4 + 3 + 6 + 22 * n_report + 2)
    wait_timer = br["latency_timer_s"] if one_rep < br["packet"] - br["status"] else 0.0
    latency_s = br["frame_s"] + one_req / uart + one_rep / uart + wait_timer + br["frame_s"]
    return {"bridge": bridge_name, "usb": br["usb"], "baud": br["baud"], "grid_bits": grid_bits,
            "grid_bytes": grid, "images_per_frame": per_frame, "max_payload": max_payload,
            "request_wire_bytes_per_image": round(req_wire, 2), "reply_wire_bytes_per_image": round(rep_wire, 2),
            "images_per_s": limits[stage], "limit": stage,
            "limits": {k: round(v, 1) for k, v in limits.items()}, "latency_s_without_compute": latency_s}


# ---- assembly -----------------------------------------------------------------------------------

def ceiling(ref, device, fmax_mhz):
    """Synapse ops/s of the device filled with the reference circuit at the design's fmax."""
    d = ref["devices"][device]
    return {"c": d["c"], "c_logic": d["c_logic"], "device_lut4": d["device_lut4"],
            "ops_per_s": d["device_lut4"] / d["c"] * fmax_mhz * 1e6 if fmax_mhz else None,
            "ops_per_s_logic": d["device_lut4"] / d["c_logic"] * fmax_mhz * 1e6 if fmax_mhz else None,
            "ref_fmax_mhz": d["fmax_mhz"],
            "ops_per_s_at_ref_fmax": d["device_lut4"] / d["c"] * d["fmax_mhz"] * 1e6}


def board_rows(cycles, ref, peers, report_dirs):
    updates = {int(k): v for k, v in peers["updates_per_image"].items()}
    rows = []
    for board, cfg in BOARDS.items():
        fmax, fmax_src = board_fmax(board, report_dirs)
        models = sorted({m for (b, m, _s) in cycles if b == board}) or ["w1a1"]
        for model in models:
            for steps in STEPS:
                run = cycles.get((board, model, steps))
                link = link_projection(cfg["bridge"], run.get("grid_bits", DEFAULT_GRID_BITS) if run else
                                       DEFAULT_GRID_BITS,
                                       run.get("max_payload", DEFAULT_MAX_PAYLOAD) if run else DEFAULT_MAX_PAYLOAD,
                                       baud=cfg.get("baud"))
                ups = (run or {}).get("cell_updates_per_image", updates.get(steps))
                mk = ((run or {}).get("weight_bits", 1) * (run or {}).get("act_bits", 1))
                # synapses per cell update of the run's model (older cycle files: Distill's dimensions)
                syn = (run or {}).get("synapses", SYNAPSES_PER_UPDATE)
                ceil = ceiling(ref, cfg["device"], fmax)
                row = {"board": board, "model": model, "steps": steps, "device": cfg["device"],
                       "cycles_per_image": None, "cycles_per_step": None, "fmax_mhz": fmax,
                       "fmax_source": fmax_src, "images_per_s": None,
                       "images_per_s_link": round(link["images_per_s"], 1), "images_per_s_e2e": None,
                       "bottleneck": None, "latency_ms": None, "latency_ms_e2e": None, "ceiling_share": None,
                       "ceiling_share_logic": None, "ceiling_ops_per_s": ceil["ops_per_s"],
                       "useful_ops_per_s": None, "cell_updates_per_image": ups, "link": link, "ceiling": ceil}
                if not run:
                    row["status"] = "pending RTL (no cycle counts" + ("" if fmax else ", no fmax") + ")"
                elif not fmax:
                    # issue 6.5: a board without a placed accelerator prints cycles only
                    row["status"] = "no fmax (not placed): cycles only"
                else:
                    row["status"] = "ok"
                row["model_path"] = (run or {}).get("model_path")
                if run:
                    row["cycles_per_image"] = run["cycles_per_image"]
                    row["cycles_per_step"] = run.get("cycles_per_step", run["cycles_per_image"] / steps)
                if run and fmax:
                    ips = fmax * 1e6 / run["cycles_per_image"]
                    row["images_per_s"] = round(ips, 1)
                    row["latency_ms"] = round(run["cycles_per_image"] / (fmax * 1e3), 4)
                    row["latency_ms_e2e"] = round(row["latency_ms"] + link["latency_s_without_compute"] * 1e3, 4)
                    e2e = min(ips, link["images_per_s"])
                    row["images_per_s_e2e"] = round(e2e, 1)
                    row["bottleneck"] = "compute" if ips <= link["images_per_s"] else "link"
                    useful = ips * ups * mk * syn
                    row["useful_ops_per_s"] = useful
                    row["ceiling_share"] = round(useful / ceil["ops_per_s"], 4)
                    row["ceiling_share_logic"] = round(useful / ceil["ops_per_s_logic"], 4)
                if run and run.get("units"):
                    # what bounds the rate (the targets' "what bounds it"): the array's size against
                    # the device's capacity, and how busy the array is. The array is the one the
                    # device reports in INFO (xnca-top-cycles); older cycle files have none.
                    arr = run["units"] * run["syn_bits"]
                    cap = ceil["device_lut4"] / ceil["c"]
                    row["array_bits"] = arr
                    row["cycles_per_update"] = round(run["cycles_per_image"] / ups, 2)
                    row["synapses_per_update"] = syn
                    row["ideal_cycles_per_update"] = round(syn * mk / arr, 2)
                    row["utilization"] = round(ups * mk * syn / (arr * run["cycles_per_image"]), 4)
                    row["array_capacity_share"] = round(arr / cap, 4)
                rows.append(row)
    return rows


def verdict(value, target, unit="", missing="pending RTL"):
    if value is None:
        return missing
    if value >= target:
        return f"met ({value:,.0f}{unit} >= {target:,.0f}{unit})" if unit != "%" else \
            f"met ({value:.1f} % >= {target:.0f} %)"
    if unit == "%":
        return f"NOT met ({value:.1f} % < {target:.0f} %, short by {target - value:.1f} points)"
    return f"NOT met ({value:,.0f}{unit} < {target:,.0f}{unit}, {value / target:.2f}x of the target)"


def targets(rows, peers):
    def get(board, key, steps=20, model="w1a1"):
        for r in rows:
            if r["board"] == board and r["steps"] == steps and r["model"] == model:
                return r.get(key)
        return None
    fastest = max((p for p in peers if p["name"].endswith("-all")), key=lambda p: p["images_per_s"])
    share = lambda b: None if get(b, "ceiling_share") is None else 100 * get(b, "ceiling_share")
    # a board with co-simulated cycles but no placed design has no fmax, so no rate to judge
    ice_missing = ("no fmax: cycles only, no iCEBreaker bitstream meets timing yet (make synth-up5k)"
                   if get("icebreaker", "cycles_per_image") is not None and get("icebreaker", "fmax_mhz") is None
                   else "pending RTL")
    def rate_bound(b, target):
        """Why board b's compute-bound rate misses `target`: cycles per image and what they are made of."""
        if get(b, "utilization") is None or get(b, "images_per_s") is None or get(b, "images_per_s") >= target:
            return ""
        need = get(b, "fmax_mhz") * 1e6 / target
        return (f"; bounded by cycles: {get(b, 'cycles_per_image'):,.0f} per image at {get(b, 'fmax_mhz'):.1f} MHz "
                f"where the target needs <= {need:,.0f}; a cell update costs {get(b, 'cycles_per_update'):,.1f} "
                f"cycles against the {get(b, 'ideal_cycles_per_update'):,.1f} its {get(b, 'array_bits'):,}-bit "
                f"array needs (array utilization {100 * get(b, 'utilization'):.1f} %: the serial per-cell front "
                f"end, gather and write-back, dominates), and even at 100 % the array alone allows "
                f"{get(b, 'fmax_mhz') * 1e6 / (get(b, 'cell_updates_per_image') * get(b, 'ideal_cycles_per_update')):,.0f}"
                f" images/s")

    def share_bound(b):
        if get(b, "utilization") is None or share(b) is None or share(b) >= 100 * TARGETS["ceiling_share"]:
            return ""
        return (f"; bounded by size and use: share = array utilization {100 * get(b, 'utilization'):.1f} % x "
                f"array size {get(b, 'array_bits'):,} bit/cycle / the {get(b, 'array_bits') / get(b, 'array_capacity_share'):,.0f} "
                f"synapses/cycle the device holds as reference circuits ({100 * get(b, 'array_capacity_share'):.1f} %): "
                f"the rest of the device holds the state and weight RAM ports, the per-cell front end, "
                f"quantizers, hash, link and adapter")

    def e2e_bound():
        c, l = get("ulx3s-85f", "images_per_s"), get("ulx3s-85f", "images_per_s_link")
        if c is None or min(c, l) >= TARGETS["ulx3s_e2e_images_per_s"]:
            return ""
        return (f"; bounded by {'compute' if c <= l else 'the link'} ({c:,.0f} compute-bound, {l:,.0f} link "
                f"projection)")

    def link_bound():
        for r in rows:
            if r["board"] == "ulx3s-85f" and r["steps"] == 20 and r["model"] == "w1a1":
                k = r["link"]
                if k["images_per_s"] >= TARGETS["ulx3s_e2e_images_per_s"]:
                    return ""
                top = link_projection(k["bridge"], k["grid_bits"], k["max_payload"])
                return (f"; bounded by the UART: {k['request_wire_bytes_per_image']:.1f} wire bytes per image "
                        f"in at {k['baud']:,} baud (limit: {k['limit']}); at the {k['bridge']}'s maximum, "
                        f"{top['baud']:,} baud, the projection is {top['images_per_s']:,.0f} images/s "
                        f"({top['limit']})")
        return ""

    with_bound = lambda v, bound: v + bound if v.startswith("NOT met") else v
    return [
        ("ULX3S-85F compute-bound images/s, 20 steps, W1A1",
         with_bound(verdict(get("ulx3s-85f", "images_per_s"), TARGETS["ulx3s85_images_per_s"]),
             rate_bound("ulx3s-85f", TARGETS["ulx3s85_images_per_s"]))),
        (f"ULX3S-85F vs the fastest CPU engine on all cores ({fastest['name']}, "
         f"{fastest['images_per_s']:,.0f} images/s)",
         with_bound(verdict(get("ulx3s-85f", "images_per_s"), fastest["images_per_s"]),
             rate_bound("ulx3s-85f", fastest["images_per_s"]))),
        ("iCEBreaker compute-bound images/s, 20 steps, W1A1",
         with_bound(verdict(get("icebreaker", "images_per_s"), TARGETS["icebreaker_images_per_s"], missing=ice_missing),
             rate_bound("icebreaker", TARGETS["icebreaker_images_per_s"]))),
        ("ULX3S-85F share of its device ceiling",
         with_bound(verdict(share("ulx3s-85f"), 100 * TARGETS["ceiling_share"], "%"), share_bound("ulx3s-85f"))),
        ("iCEBreaker share of its device ceiling",
         with_bound(verdict(share("icebreaker"), 100 * TARGETS["ceiling_share"], "%", missing=ice_missing),
             share_bound("icebreaker"))),
        ("ULX3S-85F end-to-end images/s (link projection included)",
         with_bound(verdict(get("ulx3s-85f", "images_per_s_e2e"), TARGETS["ulx3s_e2e_images_per_s"]), e2e_bound())),
        (f"ULX3S link-bound projection alone ({BOARDS['ulx3s-85f'].get('baud', BRIDGES['FT231X']['baud']) / 1e6:g} "
         f"Mbaud, the run's grid encoding) vs the end-to-end target",
         with_bound(verdict(get("ulx3s-85f", "images_per_s_link"), TARGETS["ulx3s_e2e_images_per_s"]), link_bound())),
    ]


def fmt(v, spec=",.0f", none="pending"):
    return none if v is None else format(v, spec)


def fmt_rate(r, key):
    """A rate column: the value, 'no fmax' for a board with cycles but no placed design."""
    if r[key] is None and r["cycles_per_image"] is not None and r["fmax_mhz"] is None:
        return "no fmax"
    return fmt(r[key])


def write_md(path, doc, target_lines, plots):
    m = doc["meta"]
    L = []
    L += ["# Benchmarks", "",
          f"Generated by `{m['command']}` (mk/bench.mk, scripts/bench.py); do not edit by hand.", "",
          f"- Machine: {m['cpu']} ({m['cores']} cores online; load average at start {m['load_average']}); "
          f"commit {m['commit']}; {m['date']}.",
          f"- Workload: the first {m['peer_images']} MNIST test digits (torch: {m['torch_images']}), "
          f"{m['peer_steps']} steps, seed 0, fire rate 0.5.",
          f"- RTL cycle counts: {m['cycles_source']}.", ""]
    L += ["## Boards", "",
          "Compute-bound images/s = fmax / cycles per image; latency = cycles per image / fmax (one image, "
          "compute only). The link column is a **projection** from the USB-UART model below, not a "
          "measurement; end-to-end = min(compute, link).", "",
          "| board | model | steps | cycles/step | cycles/image | fmax MHz | images/s (compute) | latency ms | "
          "images/s (link, projected) | images/s (end-to-end) | bottleneck | ceiling share | status |",
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in doc["boards"]:
        L.append(f"| {r['board']} | {r['model']} | {r['steps']} | {fmt(r['cycles_per_step'], ',.1f')} | "
                 f"{fmt(r['cycles_per_image'])} | {fmt(r['fmax_mhz'], '.1f', 'no fmax')} | "
                 f"{fmt_rate(r, 'images_per_s')} | "
                 f"{fmt(r['latency_ms'], '.3f', 'no fmax' if r['cycles_per_image'] else 'pending')} | "
                 f"{fmt(r['images_per_s_link'])} | {fmt_rate(r, 'images_per_s_e2e')} | "
                 f"{r['bottleneck'] or ('no fmax' if r['cycles_per_image'] else 'pending')} | "
                 f"{'pending' if r['ceiling_share'] is None else format(100 * r['ceiling_share'], '.1f') + ' %'} | "
                 f"{r['status']} |")
    paths = {}
    for r in doc["boards"]:
        if r.get("model_path"):
            paths.setdefault(r["model"], r["model_path"])
    if paths:
        L += ["", "Models: " + "; ".join(f"`{k}` = {v}" for k, v in sorted(paths.items())) +
              (" (stand-in until models/mnist.xnca exists: same Distill dimensions)"
               if "ptq-w4a4" in paths.get("shipped", "") else "") + ". "
              "'no fmax': the board has co-simulated cycles but no placed accelerator bitstream "
              "(bitstreams/<board>.report.json), so only cycles are given."]
    bound_rows = [r for r in doc["boards"] if r.get("utilization") is not None and r["steps"] == 20]
    if bound_rows:
        L += ["", "Where the cycles go (20 steps): a cell update is one alive firing cell's update "
              "(the model's synapses x m k plane pairs); ideal = those synapse ops / the array's "
              "bits per cycle; utilization = ideal / measured over whole images (intake, weight slices, drains "
              "and the link included); capacity share = the array's bits per cycle / the synapses per cycle "
              "the device would hold as reference circuits (section Ceiling). Ceiling share = utilization x "
              "capacity share.", "",
              "| board | model | synapses | array bit/cycle | cycles per cell update | ideal | utilization | "
              "capacity share |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in bound_rows:
            L.append(f"| {r['board']} | {r['model']} | {r['synapses_per_update']:,} | {r['array_bits']:,} | "
                     f"{r['cycles_per_update']:,.1f} | "
                     f"{r['ideal_cycles_per_update']:,.1f} | {100 * r['utilization']:.1f} % | "
                     f"{100 * r['array_capacity_share']:.1f} % |")
    sc = doc.get("scaling")
    if sc:
        L += ["", "## Scaling (co-simulation)", "",
              f"Configuration: {sc['config']}; random W1A1 model of Distill's dimensions; {sc['steps']} steps, "
              f"{sc['images']} image(s) per point; cycles from the Verilated top (link included). "
              "'digit': MNIST test digits centred in the grid (alive cells = the digit's ink, fire rate 0.5); "
              "'dense': every cell alive and firing (the dense sweep a design without a fire mask pays).", "",
              "| series | grid | fire_t | firing cells / step | cycles / step | cycles / image | cycles per firing cell |",
              "|---|---|---:|---:|---:|---:|---:|"]
        for r in sc["runs"]:
            fc = r["cell_updates_per_image"] / r["steps"]
            L.append(f"| {r['series']} | {r['grid_w']}x{r['grid_h']} | {r['fire_t']} | {fc:,.1f} | "
                     f"{r['cycles_per_step']:,.0f} | {r['cycles_per_image']:,.0f} | "
                     f"{(r['cycles_per_step'] / fc if fc else 0):,.1f} |")
    L += ["", "## CPU and PyTorch peers (same run, same machine)", "",
          "| peer | model | engine | threads | steps | images/s | cell acc % | image acc % |",
          "|---|---|---|---:|---:|---:|---:|---:|"]
    for p in doc["peers"]:
        L.append(f"| {p['name']} | {p['model']} | {p['engine']} | {p['threads']} | {p['steps']} | "
                 f"{p['images_per_s']:,.1f} | {fmt(p.get('cell_accuracy'), '.2f', '-')} | "
                 f"{fmt(p.get('image_accuracy'), '.2f', '-')} |")
    t = doc["torch"]
    L += ["", f"- C engines: the quant model is {m['quant_model']} (a random model has chance accuracy: it "
          f"measures speed only); CPU path `{m['cpu_path']}`, chosen at run time.",
          f"- PyTorch {t['torch']}: {t['threads']} threads, torch.inference_mode, batch {t['batch']}, "
          f"fastest implementation `{t['impl']}` of " +
          ", ".join(f"`{r['impl']}` {r['images_per_s']:,.1f}" for r in t["results"]) +
          f" images/s; BLAS: {t['blas']}" + (f" (OPENBLAS_CORETYPE={t['openblas_coretype']})"
                                            if t.get("openblas_coretype") else "") + ".",
          f"- Accuracy check at {t['steps']} steps on the same {t['images']} digits: torch "
          f"{t['cell_accuracy']:.2f} % cells / {t['image_accuracy']:.2f} % images vs the C float engine "
          f"{doc['accuracy_check']['c_float_cell_accuracy']:.2f} % / "
          f"{doc['accuracy_check']['c_float_image_accuracy']:.2f} % on its {m['peer_images']} digits "
          f"({doc['accuracy_check']['verdict']}; draws differ: torch's RNG vs the spec hash).", ""]
    L += ["## Link model (projection)", "",
          "Requests carry packed grids (`b` bits per cell, 196 B per 28 x 28 digit at b = 2) as many per CLASSIFY "
          "frame as the device's max payload allows; header, CRC, COBS (worst case) and delimiters counted; "
          "the reply is 28 B of payload per image (one report step). UART 8N1; USB bulk: full speed 19 x 64-byte "
          "packets per 1 ms frame, high speed 13 x 512-byte packets per 125 us microframe, 2 status bytes at the "
          "start of every IN packet, latency timer 1 ms (single-image latency only).", "",
          "| board | bridge | USB | baud | images/frame | wire B/image in / out | images/s (limit) | "
          "single-image link latency ms |", "|---|---|---|---:|---:|---:|---:|---:|"]
    seen = set()
    for r in doc["boards"]:
        k = r["link"]
        if (r["board"], k["grid_bits"]) in seen:
            continue
        seen.add((r["board"], k["grid_bits"]))
        L.append(f"| {r['board']} | {k['bridge']} | {k['usb']} | {k['baud']:,} | {k['images_per_frame']} | "
                 f"{k['request_wire_bytes_per_image']:.1f} / {k['reply_wire_bytes_per_image']:.1f} | "
                 f"{k['images_per_s']:,.0f} ({k['limit']}) | {1e3 * k['latency_s_without_compute']:.2f} |")
    ref = doc["reference"]
    L += ["", "## Ceiling", "",
          f"Reference circuit: {ref['circuit']} ({ref['lanes']} lanes, {ref['synapses']} synapses), placed and "
          f"routed per device by `{ref['command']}` on {ref['date']}, cached in bench/ref_popcount.json. "
          f"c = {ref['c_definition']}. Ceiling = device LUT4s / c x the design's fmax, in synapse ops/s; the "
          f"share = the design's useful binary synapse ops/s (alive firing cells x m k x the model's synapses per "
          f"update: {SYNAPSES_PER_UPDATE:,} at Distill's dimensions) / the ceiling. `c logic` counts logic LUT4s only (a stricter ceiling).", "",
          "| device | c (sites/synapse) | c logic | device LUT4 | ref fmax MHz | ceiling at ref fmax, synapse ops/s | "
          "as images/s at 20 steps |", "|---|---:|---:|---:|---:|---:|---:|"]
    ups20 = doc["updates_per_image"]["20"]
    for dev, d in ref["devices"].items():
        at_ref = d["device_lut4"] / d["c"] * d["fmax_mhz"] * 1e6
        L.append(f"| {d['part']} | {d['c']:.3f} | {d['c_logic']:.3f} | {d['device_lut4']:,} | {d['fmax_mhz']:.1f} | "
                 f"{at_ref:.3e} | {at_ref / (ups20 * SYNAPSES_PER_UPDATE):,.0f} |")
    L += ["", f"(Alive firing cells per image at 20 / 50 / 200 steps: " +
          " / ".join(f"{v:,.1f}" for v in doc["updates_per_image"].values()) + ".)", ""]
    L += ["## Targets (20 steps, W1A1, Distill dimensions)", ""]
    L += [f"- {name}: {v}" for name, v in target_lines]
    L += ["", "## Plots", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in plots]
    L += ["", "## Reproduce", "", "    make bench            # everything above (minutes)",
          "    make bench-ref        # re-run the reference circuit's place and route (cached otherwise)", ""]
    with open(path, "w") as f:
        f.write("\n".join(L))


def plots(doc, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: matplotlib missing, no plots", file=sys.stderr)
        return []
    written = []
    # 1. images/s at 20 steps: peers and boards (compute, link projection, end-to-end).
    labels, values, colors = [], [], []
    for p in doc["peers"]:
        labels.append(f"{p['name']} ({p['model']})")
        values.append(p["images_per_s"])
        colors.append("tab:gray")
    for r in doc["boards"]:
        if r["steps"] != 20:
            continue
        for key, name, col in (("images_per_s", "compute", "tab:blue"), ("images_per_s_link", "link (proj.)",
                                                                          "tab:orange"),
                               ("images_per_s_e2e", "end-to-end", "tab:green")):
            labels.append(f"{r['board']} {r['model']} {name}")
            values.append(r[key] or 0)
            colors.append(col if r[key] else "white")
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(labels) + 1.2))
    y = range(len(labels))
    ax.barh(y, [max(v, 1e-9) for v in values], color=colors, edgecolor="black", linewidth=0.5)
    for i, v in enumerate(values):
        ax.text(max(v, 1), i, f" {v:,.0f}" if v else " pending RTL", va="center", fontsize=8)
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(1, max(values + [10]) * 20)
    ax.set_xlabel("MNIST images/s at 20 steps (log)")
    ax.set_title("xnca throughput: boards vs CPU and PyTorch peers")
    fig.tight_layout()
    p = os.path.join(outdir, "benchmarks-throughput.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    # 2. cycles per image vs steps, per board.
    fig, ax = plt.subplots(figsize=(6, 4))
    any_data = False
    for board in BOARDS:
        pts = [(r["steps"], r["cycles_per_image"]) for r in doc["boards"] if r["board"] == board and
               r["cycles_per_image"]]
        if pts:
            any_data = True
            ax.plot(*zip(*pts), marker="o", label=board)
    if any_data:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "pending RTL cycle counts", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("steps")
    ax.set_ylabel("cycles per image")
    ax.set_title("Verilator co-simulation: cycles per image")
    fig.tight_layout()
    p = os.path.join(outdir, "benchmarks-cycles.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    # 3. ceiling vs design, synapse ops/s.
    fig, ax = plt.subplots(figsize=(6, 4))
    names, ceil, design = [], [], []
    for board, cfg in BOARDS.items():
        r = next(r for r in doc["boards"] if r["board"] == board and r["steps"] == 20)
        names.append(board)
        ceil.append(r["ceiling_ops_per_s"] or r["ceiling"]["ops_per_s_at_ref_fmax"])
        design.append(r["useful_ops_per_s"] or 0)
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], ceil, 0.4, label="ceiling (ref. fmax where design fmax pending)",
           color="tab:gray")
    ax.bar([i + 0.2 for i in x], [max(d, 1) for d in design], 0.4, label="design, useful (pending RTL = none)",
           color="tab:blue")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names)
    ax.set_yscale("log")
    ax.set_ylabel("binary synapse ops/s")
    ax.legend(fontsize=8)
    ax.set_title("Device ceiling vs the design")
    fig.tight_layout()
    p = os.path.join(outdir, "benchmarks-ceiling.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    # 4. scaling: cycles per step against grid size and against firing cells (digit vs dense).
    sc = doc.get("scaling")
    if sc:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        for series, col in (("digit", "tab:blue"), ("dense", "tab:red")):
            g = sorted((r["grid_w"], r["cycles_per_step"]) for r in sc["runs"]
                       if r["series"] == series and r["kind"] == "grid")
            if g:
                a1.plot([x for x, _ in g], [y for _, y in g], marker="o", color=col, label=series)
            f = sorted((r["cell_updates_per_image"] / r["steps"], r["cycles_per_step"]) for r in sc["runs"]
                       if r["series"] == series and r["kind"] == "firing")
            if f:
                a2.plot([x for x, _ in f], [y for _, y in f], marker="o", color=col, label=series)
        a1.set_xlabel("grid side (cells)")
        a1.set_ylabel("cycles per step")
        a1.set_yscale("log")
        a1.set_title("cycles per step vs grid size")
        a1.legend()
        a2.set_xlabel("firing cells per step")
        a2.set_ylabel("cycles per step")
        a2.set_title("cycles per step vs firing cells (28x28)")
        a2.legend()
        fig.suptitle(f"Scaling in co-simulation: {sc['config']}", fontsize=9)
        fig.tight_layout()
        p = os.path.join(outdir, "benchmarks-scaling.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)
    return written


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                                check=False).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    return cpu, commit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--ref", default="bench/ref_popcount.json")
    ap.add_argument("--cycles", default="")
    ap.add_argument("--scaling", default="", help="scripts/bench-scaling output (optional)")
    ap.add_argument("--baud", action="append", default=[], help="BOARD=N: the board's UART baud as built")
    ap.add_argument("--report-dir", action="append", default=None, help="where bitstreams/ and build/ are")
    ap.add_argument("--out-json", default="docs/benchmarks.json")
    ap.add_argument("--out-md", default="docs/benchmarks.md")
    ap.add_argument("--plots", default="docs", help="folder for the PNG plots ('' for none)")
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--load-average", default="")
    a = ap.parse_args()

    peers_in = read_json(a.peers, "peers file")
    torch_in = read_json(a.torch, "torch file")
    ref = read_json(a.ref, "reference circuit file")
    for dev in ("up5k", "85k", "25k"):
        if dev not in ref.get("devices", {}):
            fail(f"{a.ref}: no results for device {dev} (run make bench-ref)")
    cycles = load_cycles(a.cycles)
    for spec in a.baud:
        board, _, n = spec.partition("=")
        if board not in BOARDS or not n.isdigit() or int(n) <= 0:
            fail(f"--baud {spec}: want BOARD=N with a known board and N > 0")
        BOARDS[board]["baud"] = int(n)
    rows = board_rows(cycles, ref, peers_in, a.report_dir or ["."])

    peers, extra = [], []  # the schema's four peers; c-float-1t goes to "extra_peers"
    for p in peers_in["peers"]:
        if p["name"] in ("c-bnn-1t", "c-bnn-all", "c-float-all", "c-float-1t"):
            (peers if p["name"] != "c-float-1t" else extra).append({"name": p["name"], "steps": p["steps"], "model": p["model"],
                          "images_per_s": round(p["images_per_s"], 1), "threads": p["threads"],
                          "engine": f"C reference, {p['path']}", "cell_accuracy": p.get("cell_accuracy"),
                          "image_accuracy": p.get("image_accuracy")})
    peers.append({"name": "torch-float-all", "steps": torch_in["steps"], "model": "float",
                  "images_per_s": round(torch_in["images_per_s"], 1), "threads": torch_in["threads"],
                  "engine": f"PyTorch {torch_in['torch']} ({torch_in['impl']})",
                  "cell_accuracy": torch_in["cell_accuracy"], "image_accuracy": torch_in["image_accuracy"]})
    cf = next(p for p in peers if p["name"] == "c-float-all")
    dcell = abs(torch_in["cell_accuracy"] - cf["cell_accuracy"])
    dimg = abs(torch_in["image_accuracy"] - cf["image_accuracy"])
    cpu, commit = machine()
    doc = {
        "meta": {"command": a.command, "date": datetime.date.today().isoformat(), "commit": commit, "cpu": cpu,
                 "cores": os.cpu_count(), "load_average": a.load_average or "unknown",
                 "peer_images": peers_in["images"], "peer_steps": peers_in["steps"],
                 "torch_images": torch_in["images"], "cpu_path": peers_in["cpu_path"],
                 "quant_model": peers_in["quant_model"],
                 "cycles_source": (f"{a.cycles}" if cycles else
                                   "pending RTL (no cycle counts: " + (a.cycles or "no --cycles") + ")")},
        "boards": rows,
        "peers": peers,
        "extra_peers": extra,
        "torch": torch_in,
        "reference": ref,
        "updates_per_image": peers_in["updates_per_image"],
        "scaling": read_json(a.scaling, "scaling file") if a.scaling and os.path.exists(a.scaling) else None,
        "accuracy_check": {"c_float_cell_accuracy": cf["cell_accuracy"],
                           "c_float_image_accuracy": cf["image_accuracy"],
                           "torch_cell_accuracy": torch_in["cell_accuracy"],
                           "torch_image_accuracy": torch_in["image_accuracy"],
                           "verdict": "roughly matches" if dcell <= 3 and dimg <= 5 else "DIFFERS",
                           "tolerance": "3 points cell accuracy, 5 points image accuracy"},
    }
    target_lines = targets(rows, peers)
    doc["targets"] = [{"target": n, "verdict": v} for n, v in target_lines]
    written = plots(doc, a.plots) if a.plots else []
    with open(a.out_json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    write_md(a.out_md, doc, target_lines, written)
    for n, v in target_lines:
        print(f"bench: target: {n}: {v}", file=sys.stderr)
    print(f"bench: wrote {a.out_json}, {a.out_md}" + (", " + ", ".join(written) if written else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
