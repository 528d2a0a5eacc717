#!/usr/bin/env bash
# test_bench.sh RESULT: scripts/bench.py, scripts/bench-readme.py and scripts/bench_torch.py's
# model parser and hash on fixtures (no timing, no torch needed). Writes "PASSED FAILED" to RESULT.
set -u
result=$1
py=${PYTHON:-/usr/bin/python3}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
pass=0; fail=0
check() { # check NAME COMMAND...: passes when the command exits 0
    local name=$1; shift
    if "$@" > "$t/out" 2>&1; then pass=$((pass + 1)); echo "bench: PASS $name"
    else fail=$((fail + 1)); echo "bench: FAIL $name"; sed 's/^/    /' "$t/out" | tail -15; fi
}

# ---- fixtures: peers, torch, reference circuit, cycles, place-and-route reports ----
cat > "$t/peers.json" <<'J'
{"images": 10, "steps": 20, "cores": 2, "cpu_path": "avx512", "quant_model": "fixture", "quant_bits": [1, 1],
 "float_model": "fixture", "updates_per_image": {"20": 1000.0, "50": 2500.0, "200": 10000.0},
 "peers": [
  {"name": "c-bnn-1t", "model": "w1a1", "path": "avx512", "threads": 1, "steps": 20, "images_per_s": 3000.0},
  {"name": "c-bnn-all", "model": "w1a1", "path": "avx512", "threads": 2, "steps": 20, "images_per_s": 5000.0},
  {"name": "c-float-1t", "model": "float", "path": "openblas sgemm", "threads": 1, "steps": 20, "images_per_s": 400.0,
   "cell_accuracy": 80.0, "image_accuracy": 94.0},
  {"name": "c-float-all", "model": "float", "path": "openblas sgemm", "threads": 2, "steps": 20, "images_per_s": 700.0,
   "cell_accuracy": 80.0, "image_accuracy": 94.0}]}
J
cat > "$t/torch.json" <<'J'
{"name": "torch-float-all", "model": "distill-float.xnca", "steps": 20, "images": 10, "batch": 10, "threads": 2,
 "draws": "torch", "impl": "gemm-sparse", "images_per_s": 150.0, "cell_accuracy": 79.0, "image_accuracy": 92.0,
 "agreement": 20.0, "torch": "1.13", "blas": "openblas", "results": [{"impl": "gemm-sparse", "images_per_s": 150.0}]}
J
cat > "$t/ref.json" <<'J'
{"command": "fixture", "date": "2026-01-01", "circuit": "fixture", "lanes": 4, "synapses": 720, "c_definition": "fixture",
 "devices": {
  "up5k": {"part": "UP5K", "device_lut4": 5280, "c": 4.0, "c_logic": 2.5, "fmax_mhz": 60.0},
  "85k": {"part": "85F", "device_lut4": 83640, "c": 2.0, "c_logic": 1.0, "fmax_mhz": 180.0},
  "25k": {"part": "25F", "device_lut4": 24288, "c": 2.0, "c_logic": 1.0, "fmax_mhz": 180.0}}}
J
cat > "$t/cycles.json" <<'J'
{"source": "fixture", "runs": [
  {"board": "ulx3s-85f", "model": "w1a1", "steps": 20, "cycles_per_image": 1500, "cycles_per_step": 75},
  {"board": "icebreaker", "model": "w1a1", "steps": 20, "cycles_per_image": 48000}]}
J
mkdir -p "$t/root/bitstreams" "$t/root/build/icebreaker"
echo '{"fmax": {"clk": {"achieved": 75.0, "constraint": 75}}}' > "$t/root/bitstreams/ulx3s-85f.report.json"
# a smoke design's report must not be taken for the accelerator's
echo '{"fmax": {"clk": {"achieved": 70.0, "constraint": 48}}}' > "$t/root/build/icebreaker/report.json"
printf 'board icebreaker\ntop xnca_board_icebreaker_smoke\n' > "$t/root/build/icebreaker/config"

run_bench() { # run_bench CYCLES OUTPREFIX
    "$py" scripts/bench.py --peers "$t/peers.json" --torch "$t/torch.json" --ref "$t/ref.json" --cycles "$1" \
        --report-dir "$t/root" --out-json "$2.json" --out-md "$2.md" --plots ""
}
q() { "$py" - "$@"; } # python snippet on stdin with arguments

# ---- pending RTL: every board pending, link projection present and exact ----
check "pending run exits 0" run_bench "$t/none.json" "$t/p"
check "pending: all boards 'pending RTL', no compute figures" q "$t/p.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["boards"]) == 9, len(d["boards"])
for r in d["boards"]:
    assert r["status"].startswith("pending RTL"), r["status"]
    assert r["images_per_s"] is None and r["images_per_s_e2e"] is None and r["ceiling_share"] is None
names = [p["name"] for p in d["peers"]]
assert names == ["c-bnn-1t", "c-bnn-all", "c-float-all", "torch-float-all"], names
P
# 196 B grids, 5 per 1 KiB frame: body 4 + 18 + 980 + 2 = 1004, COBS 4, delimiters 2: 202 B/image;
# 3 Mbaud 8N1 = 300,000 B/s -> 1485.1 images/s; 12 Mbaud -> 5940.6.
check "link projection: ULX3S 1485.1, iCEBreaker 5940.6 images/s" q "$t/p.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
got = {r["board"]: r["images_per_s_link"] for r in d["boards"] if r["steps"] == 20}
assert got == {"icebreaker": 5940.6, "ulx3s-85f": 1485.1, "ulx3s-25f": 1485.1}, got
assert d["boards"][0]["link"]["request_wire_bytes_per_image"] == 202.0
P
check "markdown names pending boards and the targets" grep -q "ULX3S-85F compute-bound images/s, 20 steps, W1A1: pending RTL" "$t/p.md"

# ---- with cycle counts: compute, e2e, bottleneck, latency, share ----
check "run with cycle counts exits 0" run_bench "$t/cycles.json" "$t/c"
check "ulx3s-85f: 50,000 images/s compute, link-bound e2e, latency, share" q "$t/c.json" <<'P'
import json, sys
d = json.load(open(sys.argv[1]))
r = next(r for r in d["boards"] if r["board"] == "ulx3s-85f" and r["steps"] == 20)
assert r["status"] == "ok", r["status"]
assert r["fmax_mhz"] == 75.0 and r["images_per_s"] == 50000.0, r
assert r["images_per_s_e2e"] == 1485.1 and r["bottleneck"] == "link", r
assert abs(r["latency_ms"] - 0.02) < 1e-9, r["latency_ms"]
# useful = 50,000 x 1,000 x 22,320 = 1.116e12; ceiling = 83,640 / 2 x 75e6 = 3.1365e12
assert r["ceiling_share"] == round(1.116e12 / 3.1365e12, 4), r["ceiling_share"]
assert r["ceiling_share_logic"] == round(1.116e12 / 6.273e12, 4)
ice = next(r for r in d["boards"] if r["board"] == "icebreaker" and r["steps"] == 20)
assert ice["fmax_mhz"] is None and ice["cycles_per_image"] == 48000, ice   # smoke report skipped
assert ice["status"].startswith("no fmax") and ice["images_per_s"] is None, ice["status"]
P
check "markdown prints cycles and 'no fmax' for a board without a placed design" \
  grep -qE '^\| icebreaker \| w1a1 \| 20 \| [0-9,.]+ \| 48,000 \| no fmax \| no fmax \|' "$t/c.md"
check "bench-readme prints 'no fmax' with the cycles" bash -c "'$py' scripts/bench-readme.py '$t/c.json' | grep -q 'no fmax (48,000 cycles/image)'"
check "targets: 85F compute met, e2e NOT met with ratio" grep -q "end-to-end images/s (link projection included): NOT met (1,485 < 2,000, 0.74x" "$t/c.md"
check "targets: 85F >= fastest all-core CPU engine (c-bnn-all 5,000)" grep -q "c-bnn-all, 5,000 images/s): met" "$t/c.md"

# ---- a build/ report without its bitstream (a failed build) gives no fmax; with it, it does ----
mkdir -p "$t/root/build/ulx3s-25f"
echo '{"fmax": {"clk": {"achieved": 11.8, "constraint": 75}}}' > "$t/root/build/ulx3s-25f/report.json"
printf 'board ulx3s-25f\ntop xnca_board_ulx3s_25f\n' > "$t/root/build/ulx3s-25f/config"
cat > "$t/cycles25.json" <<'J'
{"source": "fixture", "runs": [{"board": "ulx3s-25f", "model": "w1a1", "steps": 20, "cycles_per_image": 1000}]}
J
check "failed build's report (no bitstream) is not an fmax" bash -c "'$py' scripts/bench.py --peers '$t/peers.json' \
  --torch '$t/torch.json' --ref '$t/ref.json' --cycles '$t/cycles25.json' --report-dir '$t/root' --out-json '$t/f.json' \
  --out-md '$t/f.md' --plots '' && grep -q '^| ulx3s-25f | w1a1 | 20 | [0-9.,]* | 1,000 | no fmax' '$t/f.md'"
touch "$t/root/build/ulx3s-25f/xnca.bit"
check "  ... and with its bitstream it is (11.8 MHz: 11,800 images/s)" bash -c "'$py' scripts/bench.py --peers '$t/peers.json' \
  --torch '$t/torch.json' --ref '$t/ref.json' --cycles '$t/cycles25.json' --report-dir '$t/root' --out-json '$t/f.json' \
  --out-md '$t/f.md' --plots '' && grep -q '^| ulx3s-25f | w1a1 | 20 | [0-9.,]* | 1,000 | 11.8 | 11,800 |' '$t/f.md'"

check "--baud ulx3s-85f=1000000 (the board's UART as built) gives the 1 Mbaud link projection" bash -c \
  "'$py' scripts/bench.py --peers '$t/peers.json' --torch '$t/torch.json' --ref '$t/ref.json' --cycles '$t/cycles.json' \
     --report-dir '$t/root' --baud ulx3s-85f=1000000 --out-json '$t/b.json' --out-md '$t/b.md' --plots '' && \
   '$py' -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))[\"boards\"] if r[\"board\"]==\"ulx3s-85f\"][0]; sys.exit(r[\"images_per_s_link\"] != 495.0)' '$t/b.json'"
check "--baud with an unknown board is exit 1" bash -c "! '$py' scripts/bench.py --peers '$t/peers.json' \
  --torch '$t/torch.json' --ref '$t/ref.json' --baud nosuch=5 --out-json '$t/b.json' --out-md '$t/b.md' --plots '' 2>/dev/null"

# ---- scaling section (scripts/bench-scaling output) ----
cat > "$t/scaling.json" <<'J'
{"config": "ulx3s-85f: UNITS=8", "board": "ulx3s-85f", "steps": 5, "images": 2, "runs": [
 {"series": "digit", "kind": "grid", "grid_w": 16, "grid_h": 16, "fire_t": 128, "steps": 5,
  "cell_updates_per_image": 350.0, "cycles_per_step": 7000.0, "cycles_per_image": 35000.0},
 {"series": "dense", "kind": "firing", "grid_w": 28, "grid_h": 28, "fire_t": 0, "steps": 5,
  "cell_updates_per_image": 0.0, "cycles_per_step": 900.0, "cycles_per_image": 4500.0}]}
J
check "scaling table rendered (cycles per firing cell; zero firing cells do not divide)" bash -c \
  "'$py' scripts/bench.py --peers '$t/peers.json' --torch '$t/torch.json' --ref '$t/ref.json' \
     --cycles '$t/cycles.json' --scaling '$t/scaling.json' --report-dir '$t/root' --out-json '$t/s.json' \
     --out-md '$t/s.md' --plots '' && grep -q '^| digit | 16x16 | 128 | 70.0 | 7,000 | 35,000 | 100.0 |' '$t/s.md' \
     && grep -q '^| dense | 28x28 | 0 | 0.0 | 900 | 4,500 | 0.0 |' '$t/s.md'"

# ---- bad input ----
echo '{"runs": [{"board": "ulx3s-85f", "model": "w1a1", "steps": 20, "cycles_per_image": -5}]}' > "$t/bad.json"
check "negative cycles rejected (exit 1)" bash -c "! run_bench_out=\$('$py' scripts/bench.py --peers '$t/peers.json' \
    --torch '$t/torch.json' --ref '$t/ref.json' --cycles '$t/bad.json' --out-json '$t/x.json' --out-md '$t/x.md' \
    --plots '' 2>&1) && grep -q 'cycles_per_image must be a positive number' <<<\"\$run_bench_out\""
echo '{"runs": [{"board": "nexys", "model": "w1a1", "steps": 20, "cycles_per_image": 5}]}' > "$t/bad2.json"
check "unknown board rejected (exit 1)" bash -c "'$py' scripts/bench.py --peers '$t/peers.json' --torch '$t/torch.json' \
    --ref '$t/ref.json' --cycles '$t/bad2.json' --out-json '$t/x.json' --out-md '$t/x.md' --plots ''; [ \$? -eq 1 ]"

# ---- README table ----
check "bench-readme renders the 85F row" bash -c "'$py' scripts/bench-readme.py '$t/c.json' | grep -q '^| ulx3s-85f (FPGA, fmax 75.0 MHz) | w1a1 | 50,000 | 1,485'"
check "bench-readme: missing file is exit 1" bash -c "'$py' scripts/bench-readme.py '$t/missing.json'; [ \$? -eq 1 ]"

# ---- bench_torch.py: .xnca float parser and the spec 4.1 hash (vectors of tests/test_hash.c) ----
check "bench_torch: hash vectors" q <<'P'
import sys
sys.path.insert(0, "scripts")
import bench_torch as b
for args, want in (((0, 0, 0, 0, 0, 0), 0x7cd7a6c8), ((1, 2, 3, 4, 5, 6), 0x68da26de),
                   ((0xdeadbeef, 59999, 65535, 63, 63, 0xffff), 0xf350d063), ((7, 0, 70000, 1, 2, 3), 0x8abb222f)):
    got = int(b.xnca_hash(*args))
    assert got == want, (args, hex(got))
P
check "bench_torch: parses models/distill-float.xnca" q <<'P'
import sys
sys.path.insert(0, "scripts")
import bench_torch as b
m = b.load_float_model("models/distill-float.xnca")
assert m["C"] == 20 and m["fire_t"] == 128 and abs(m["sigma"] - 0.02) < 1e-7
assert [w.shape for w, _ in m["layers"]] == [(80, 180), (80, 80), (19, 80)]
P
"$py" -c "import sys; b = bytearray(open('models/distill-float.xnca','rb').read()); b[100] ^= 1; open(sys.argv[1],'wb').write(b)" "$t/bad.xnca"
check "bench_torch: corrupted model is exit 1 naming the CRC" bash -c "out=\$('$py' scripts/bench_torch.py --model '$t/bad.xnca' 2>&1); \
    [ \$? -eq 1 ] && grep -q 'CRC mismatch' <<<\"\$out\""

echo "$pass $fail" > "$result"
echo "bench: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
