#!/usr/bin/python3
"""bench-readme.py [docs/benchmarks.json]: print the README's performance section (markdown) from
the `make bench` results: boards at 20 steps (compute-bound, link-bound projection, end-to-end,
bottleneck, share of the device ceiling), then the CPU and PyTorch peers; then the boards'
bitstream table from bitstreams/<board>.manifest.json + .report.json (issue 6.5: device, core
clock, LUT/FF/BRAM/DSP used and available, fmax, images/s of that configuration at that clock).
A board with cycles but no placed bitstream shows its cycles and 'no fmax'.
`make bench` inserts the output between README.md's bench:begin/end markers (scripts/readme-insert)."""
import json
import os
import sys

UNITS = {"ice40": ("ICESTORM_LC", None, "ICESTORM_RAM", "ICESTORM_DSP"),
         "ecp5": ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D")}


def num(v, spec=",.0f"):
    return "pending RTL" if v is None else format(v, spec)


def rate(r, key):
    if r[key] is None and r.get("cycles_per_image") and r.get("fmax_mhz") is None:
        return f"no fmax ({r['cycles_per_image']:,.0f} cycles/image)"
    return num(r[key])


def bitstream_table(boards, bdir="bitstreams"):
    """Rows of the prebuilt bitstreams; boards: the 20-step benchmark rows (images/s per board)."""
    out = ["| board | device | core clock | fmax | LUT4 | FF | BRAM | DSP | images/s at 20 steps (W1A1 / shipped) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for board in ("icebreaker", "ulx3s-85f", "ulx3s-25f"):
        mpath = os.path.join(bdir, f"{board}.manifest.json")
        ips = {r["model"]: r for r in boards if r["board"] == board and r["steps"] == 20}
        if not os.path.exists(mpath):
            cell = " / ".join(f"{ips[m]['cycles_per_image']:,.0f} cycles, no fmax" if m in ips and
                              ips[m].get("cycles_per_image") else "-" for m in ("w1a1", "shipped"))
            out.append(f"| {board} | - | - | not placed | - | - | - | - | {cell} |")
            continue
        m = json.load(open(mpath))
        rep = json.load(open(os.path.join(bdir, m["report"])))
        util = rep["utilization"]
        cons = min(v["constraint"] for v in rep["fmax"].values())
        fmax = min(v["achieved"] for v in rep["fmax"].values())
        # at the core clock the bitstream runs at (not at fmax)
        cell = " / ".join(f"{cons * 1e6 / ips[k]['cycles_per_image']:,.0f}" if k in ips and
                          ips[k].get("cycles_per_image") else "-" for k in ("w1a1", "shipped"))

        def u(k):
            return "(in LUT4)" if k is None else (f"{util[k]['used']:,} / {util[k]['available']:,}" if k in util else "-")
        lut, ff, ram, dsp = UNITS[m["family"]]
        out.append(f"| {board} | {m['device']} | {cons:g} MHz | {fmax:.1f} MHz | {u(lut)} | {u(ff)} | {u(ram)} | "
                   f"{u(dsp)} | {cell} |")
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/benchmarks.json"
    if len(sys.argv) > 2 or path in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    try:
        doc = json.load(open(path))
        boards, peers = doc["boards"], doc["peers"]
    except (OSError, ValueError, KeyError) as e:
        print(f"bench-readme: {path}: {e} (run make bench)", file=sys.stderr)
        sys.exit(1)
    m = doc.get("meta", {})
    print("| engine | model | images/s at 20 steps | end-to-end images/s | bottleneck | share of device ceiling |")
    print("|---|---|---:|---:|---|---:|")
    for r in boards:
        if r["steps"] != 20:
            continue
        share = "pending RTL" if r["ceiling_share"] is None else f"{100 * r['ceiling_share']:.0f} %"
        clock = "" if r["fmax_mhz"] is None else f", fmax {r['fmax_mhz']:.1f} MHz"
        if r["ceiling_share"] is None and r.get("cycles_per_image"):
            share = "no fmax"
        print(f"| {r['board']} (FPGA{clock}) | {r['model']} | {rate(r, 'images_per_s')} "
              f"| {rate(r, 'images_per_s_e2e')} (link {num(r['images_per_s_link'])}, projected) "
              f"| {r['bottleneck'] or ('no fmax' if r.get('cycles_per_image') else 'pending RTL')} | {share} |")
    for p in peers:
        if p["steps"] != 20:
            continue
        print(f"| {p['name']} ({p.get('engine', 'CPU')}, {p.get('threads', '?')} threads) | {p['model']} "
              f"| {p['images_per_s']:,.0f} | - | - | - |")
    print()
    print(f"MNIST test digits, 20 steps; CPU peers on {m.get('cpu', 'the benchmark machine')} "
          f"({m.get('cores', '?')} cores), {m.get('date', '')}, commit {m.get('commit', '?')}. "
          "Link figures are projections from the USB-UART model; details in docs/benchmarks.md.")
    print()
    print("Prebuilt bitstreams (bitstreams/README.md); images/s = core clock / co-simulated cycles per image:")
    print()
    print("\n".join(bitstream_table(boards)))


if __name__ == "__main__":
    main()
