#!/usr/bin/python3
"""bench-readme.py [docs/benchmarks.json]: print the README's performance table (markdown) from
the `make bench` results: boards at 20 steps (compute-bound, link-bound projection, end-to-end,
bottleneck, share of the device ceiling), then the CPU and PyTorch peers. The lead pastes or
inserts the output into README.md."""
import json
import sys


def num(v, spec=",.0f"):
    return "pending RTL" if v is None else format(v, spec)


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
        clock = "" if r["fmax_mhz"] is None else f", {r['fmax_mhz']:.0f} MHz"
        print(f"| {r['board']} (FPGA{clock}) | {r['model']} | {num(r['images_per_s'])} "
              f"| {num(r['images_per_s_e2e'])} (link {num(r['images_per_s_link'])}, projected) "
              f"| {r['bottleneck'] or 'pending RTL'} | {share} |")
    for p in peers:
        if p["steps"] != 20:
            continue
        print(f"| {p['name']} ({p.get('engine', 'CPU')}, {p.get('threads', '?')} threads) | {p['model']} "
              f"| {p['images_per_s']:,.0f} | - | - | - |")
    print()
    print(f"MNIST test digits, 20 steps; CPU peers on {m.get('cpu', 'the benchmark machine')} "
          f"({m.get('cores', '?')} cores), {m.get('date', '')}, commit {m.get('commit', '?')}. "
          "Link figures are projections from the USB-UART model; details in docs/benchmarks.md.")


if __name__ == "__main__":
    main()
