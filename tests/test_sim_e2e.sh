#!/usr/bin/env bash
# test_sim_e2e.sh BUILD RESULT: the whole device (rtl/xnca_top.v under Verilator, bit-level UART)
# against the CPU reference device, through the real CLI (suite sim-e2e, mk/top.mk).
# Checks: classify of SIM_E2E_N MNIST test digits gives exactly the CPU device's per-image
# predictions, votes and agreement; INFO's build id is the one make recorded for the Verilated
# model; cycles > 0 per image; a state bit flipped inside the RTL (XNCA_SIM_FAULT) makes the
# comparison fail; `xnca selftest --device sim` passes; bad device specs fail cleanly.
# Writes "PASSED FAILED" to RESULT.
set -u
build=$1; result=$2
xnca=$build/xnca
n=${SIM_E2E_N:-50}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok() { echo "sim-e2e: PASS $1"; pass=$((pass + 1)); }
ko() { echo "sim-e2e: FAIL $1"; fail=$((fail + 1)); }

if [ -f models/mnist.xnca ]; then
    model=models/mnist.xnca
else
    model=$tmp/w1a1.xnca   # random W1A1 model of Distill's dimensions (selftest's seed)
    "$xnca" selftest --device cpu --n 1 --steps 1 --save-model "$model" >/dev/null 2>&1 \
        || { echo "sim-e2e: cannot create the random model"; echo "0 1" > "$result"; exit 1; }
fi

# the per-image part of the JSON: class, votes, agreement, alive per report step
images() {
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for im in d["images"]:
    print(im["image_index"], im["alive"], im["class"], im["votes"], im["agreement"],
          [(a["step"], a["class"], a["votes"], a["agreement"]) for a in im["at"]])
' "$1"
}

run() {  # run DEVICE OUT [n]: classify to OUT.json; returns the CLI's exit code
    timeout 900 "$xnca" classify --device "$1" --model "$model" --data mnist --split test --n "${3:-$n}" \
        --at 10,30 --steps 50 --json > "$2.json" 2> "$2.err"
}

run cpu "$tmp/cpu" || ko "cpu classify (exit $?)"
if run sim "$tmp/sim"; then
    if images "$tmp/cpu.json" > "$tmp/cpu.txt" && images "$tmp/sim.json" > "$tmp/sim.txt" &&
       [ "$(wc -l < "$tmp/sim.txt")" -eq "$n" ] && cmp -s "$tmp/cpu.txt" "$tmp/sim.txt"; then
        ok "classify: $n digits x 50 steps (reports 10, 30, 50): sim equals cpu"
    else
        ko "classify: sim differs from cpu"; diff "$tmp/cpu.txt" "$tmp/sim.txt" | head -5
    fi
    want=$(cat "$build/sim/icebreaker/build_id" 2>/dev/null)
    got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["build_id"])' "$tmp/sim.json")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "build id $got = $build/sim/icebreaker/build_id"
    else ko "build id: device $got, recorded '$want'"; fi
else
    ko "sim classify (exit $?): $(tail -2 "$tmp/sim.err")"
fi

# cycles: every image's CLASSIFY cycles field > 0 (xnca-top-cycles exits 3 on a zero)
if out=$("$build/sim/xnca-top-cycles" --device sim --model "$model" --name e2e --n 3 --steps 20) &&
   python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["cycles_min"] > 0 else 1)' "$out"; then
    ok "cycles per image > 0: $out"
else
    ko "cycles: $out"
fi

# negative control: flip state bit 0 of hidden channel 1 of cell (14, 14) at step 0 (changes 3 of
# the first 10 digits with the random W1A1 model)
if XNCA_SIM_FAULT=0,14,14,1 run sim "$tmp/fault" 10; then
    images "$tmp/fault.json" > "$tmp/fault.txt"
    head -10 "$tmp/cpu.txt" > "$tmp/cpu10.txt"
    if cmp -s "$tmp/cpu10.txt" "$tmp/fault.txt"; then ko "fault injection went unnoticed"
    else ok "fault injection (step 0, cell 14,14, channel 1) changes the results"; fi
else
    ko "sim classify with a fault (exit $?)"
fi

# the device selftest (load, classify, state read-back) on the sim device
if timeout 900 "$xnca" selftest --device sim --n 5 --model "$model" > "$tmp/selftest.txt" 2>&1; then
    ok "xnca selftest --device sim: $(grep -c '^PASS' "$tmp/selftest.txt") checks passed"
else
    ko "xnca selftest --device sim (exit $?)"; cat "$tmp/selftest.txt"
fi

# bad device specs: exit 2 (no such Verilated model) or 1 (unknown board), with a message
"$xnca" info --device sim:nosuchboard > /dev/null 2> "$tmp/bad.err"; rc=$?
if [ $rc -ne 0 ] && grep -q "unknown board" "$tmp/bad.err"; then ok "sim:nosuchboard refused (exit $rc)"
else ko "sim:nosuchboard: exit $rc, $(cat "$tmp/bad.err")"; fi
XNCA_SIM_FAULT=garbage "$xnca" info --device sim > /dev/null 2> "$tmp/bad.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "XNCA_SIM_FAULT" "$tmp/bad.err"; then ok "bad XNCA_SIM_FAULT refused (exit 2)"
else ko "bad XNCA_SIM_FAULT: exit $rc, $(cat "$tmp/bad.err")"; fi

echo "$pass $fail" > "$result"
echo "sim-e2e: $pass passed, $fail failed"
[ $fail -eq 0 ]
