#!/usr/bin/env bash
# test_sim_e2e.sh BUILD RESULT: the whole device (rtl/xnca_top.v under Verilator, bit-level UART)
# against the CPU reference device, through the real CLI (suite sim-e2e, mk/top.mk).
# Checks: classify of SIM_E2E_N MNIST test digits gives exactly the CPU device's per-image
# predictions, votes and agreement; INFO's build id is the one make recorded for the Verilated
# model; cycles > 0 per image; a state bit flipped inside the RTL (XNCA_SIM_FAULT) makes the
# comparison fail; `xnca selftest --device sim` passes; bad device specs fail cleanly; a LOAD
# whose weight_bytes disagrees with its payload ends in BAD_ARGUMENT, not a hang (load_probe.py).
# Writes "PASSED FAILED" to RESULT.
set -u
build=$1; result=$2
xnca=$build/xnca
n=${SIM_E2E_N:-50}
SUITE=sim-e2e
. "$(dirname "$0")/lib.sh"
tmp=$work

# The main comparisons use a random W1A1 model of Distill's dimensions (selftest's seed, written
# from a directory without models/mnist.xnca): the cheapest model for the simulated array, so 50
# digits at 50 steps stay within CI's time. The shipped model gets its own shorter case below.
model=$tmp/w1a1.xnca
xnca_abs=$(cd "$(dirname "$xnca")" && pwd)/$(basename "$xnca")
(cd "$tmp" && XNCA_DATA=${XNCA_DATA:-$OLDPWD/data} "$xnca_abs" selftest --device cpu --n 1 --steps 1 \
    --save-model "$model" >/dev/null 2>&1) || { bad "cannot create the random model"; finish "$result"; }
"$xnca" info --model "$model" | grep -q 'quant (W1A1)' || { bad "the random model is not W1A1"; finish "$result"; }

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

run cpu "$tmp/cpu" || bad "cpu classify (exit $?)"
if run sim "$tmp/sim"; then
    if images "$tmp/cpu.json" > "$tmp/cpu.txt" && images "$tmp/sim.json" > "$tmp/sim.txt" &&
       [ "$(wc -l < "$tmp/sim.txt")" -eq "$n" ] && cmp -s "$tmp/cpu.txt" "$tmp/sim.txt"; then
        ok "classify: $n digits x 50 steps (reports 10, 30, 50): sim equals cpu"
    else
        bad "classify: sim differs from cpu"; diff "$tmp/cpu.txt" "$tmp/sim.txt" | head -5
    fi
    want=$(cat "$build/sim/icebreaker/build_id" 2>/dev/null)
    got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["build_id"])' "$tmp/sim.json")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then ok "build id $got = $build/sim/icebreaker/build_id"
    else bad "build id: device $got, recorded '$want'"; fi
else
    bad "sim classify (exit $?): $(tail -2 "$tmp/sim.err")"
fi

# cycles: every image's CLASSIFY cycles field > 0 (xnca-top-cycles exits 3 on a zero)
if out=$("$build/sim/xnca-top-cycles" --device sim --model "$model" --name e2e --n 3 --steps 20) &&
   python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["cycles_min"] > 0 else 1)' "$out"; then
    ok "cycles per image > 0: $out"
else
    bad "cycles: $out"
fi

# negative control: flip state bit 0 of hidden channel 1 of cell (14, 14) at step 0 (changes 3 of
# the first 10 digits with the random W1A1 model)
if XNCA_SIM_FAULT=0,14,14,1 run sim "$tmp/fault" 10; then
    images "$tmp/fault.json" > "$tmp/fault.txt"
    head -10 "$tmp/cpu.txt" > "$tmp/cpu10.txt"
    if cmp -s "$tmp/cpu10.txt" "$tmp/fault.txt"; then bad "fault injection went unnoticed"
    else ok "fault injection (step 0, cell 14,14, channel 1) changes the results"; fi
else
    bad "sim classify with a fault (exit $?)"
fi

# the device selftest (load, classify, state read-back) on the sim device
if timeout 900 "$xnca" selftest --device sim --n 5 --model "$model" > "$tmp/selftest.txt" 2>&1; then
    ok "xnca selftest --device sim: $(grep -c '^PASS' "$tmp/selftest.txt") checks passed"
else
    bad "xnca selftest --device sim (exit $?)"; cat "$tmp/selftest.txt"
fi

# bad device specs: exit 2 (no such Verilated model) or 1 (unknown board), with a message
"$xnca" info --device sim:nosuchboard > /dev/null 2> "$tmp/bad.err"; rc=$?
if [ $rc -ne 0 ] && grep -q "unknown board" "$tmp/bad.err"; then ok "sim:nosuchboard refused (exit $rc)"
else bad "sim:nosuchboard: exit $rc, $(cat "$tmp/bad.err")"; fi
XNCA_SIM_FAULT=garbage "$xnca" info --device sim > /dev/null 2> "$tmp/bad.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "XNCA_SIM_FAULT" "$tmp/bad.err"; then ok "bad XNCA_SIM_FAULT refused (exit 2)"
else bad "bad XNCA_SIM_FAULT: exit $rc, $(cat "$tmp/bad.err")"; fi

# ---- the same device served by `xnca sim` on a Unix socket (sim:BOARD@SOCKET) ----
sock=$tmp/sim.sock
"$xnca" sim --board icebreaker --socket "$sock" > "$tmp/serve.out" 2> "$tmp/serve.err" &
spid=$!
if wait_for 60 grep -qs . "$tmp/serve.out" && [ -S "$sock" ]; then
    ok "xnca sim --board icebreaker serves on a socket ($(head -1 "$tmp/serve.out"))"
    t0=$(date +%s.%N)
    if run "sim:icebreaker@$sock" "$tmp/served" 10; then
        t1=$(date +%s.%N)
        images "$tmp/served.json" > "$tmp/served.txt"
        head -10 "$tmp/cpu.txt" > "$tmp/cpu10s.txt"
        if [ "$(wc -l < "$tmp/served.txt")" -eq 10 ] && cmp -s "$tmp/cpu10s.txt" "$tmp/served.txt"; then
            ok "classify through the socket: 10 digits x 50 steps equal cpu ($(python3 -c "print('%.2f images/s end to end' % (10 / ($t1 - $t0)))"))"
        else
            bad "classify through the socket differs from cpu"; diff "$tmp/cpu10s.txt" "$tmp/served.txt" | head -5
        fi
        json_check "served device reports the RTL's build id and cycles > 0" \
            "j['build_id'] == '$(cat "$build/sim/icebreaker/build_id" 2>/dev/null)' and j['board'] == 'sim:icebreaker' and min(i['cycles'] for i in j['images']) > 0" \
            "$tmp/served.json"
    else
        bad "classify through the socket (exit $?): $(tail -2 "$tmp/served.err")"
    fi
    expect "a host asking for another board is refused (exit 2)" 2 "serves board 'sim:icebreaker'" -- \
        timeout 60 "$xnca" info --device "sim:ulx3s-85f@$sock"
    expect "info --json through the socket" 0 '"board": "sim:icebreaker"' -- \
        timeout 60 "$xnca" info --device "sim@$sock" --json
    # a LOAD whose weight_bytes disagrees with its payload ends in BAD_ARGUMENT at LOAD_END (the
    # core's walk measures spec 9's weight_bytes; docs/protocol.md 3.3), never in a hang; the
    # right LOAD and HELLO still work afterwards (tests/load_probe.py speaks the wire protocol)
    if out=$(timeout 300 "$py" "$(dirname "$0")/load_probe.py" "$sock" "$model" 2>&1); then
        ok "LOAD with a wrong weight_bytes: BAD_ARGUMENT at LOAD_END, then the right LOAD and HELLO"
    else
        bad "LOAD length probe (exit $?): $(echo "$out" | tr '\n' ' ')"
    fi
else
    bad "xnca sim did not start within 60 s: $(cat "$tmp/serve.err")"
fi
kill -TERM "$spid" 2>/dev/null
if wait_for 10 bash -c "! kill -0 $spid 2>/dev/null"; then
    wait "$spid"; rc=$?
    if [ $rc -eq 0 ] && [ ! -e "$sock" ]; then ok "xnca sim stops on SIGTERM (exit 0, socket removed)"
    else bad "xnca sim on SIGTERM: exit $rc, socket $( [ -e "$sock" ] && echo left || echo removed)"; fi
else
    kill -KILL "$spid"; bad "xnca sim still running 10 s after SIGTERM"
fi

# ---- automatic device choice: a USB board if one answers, else the simulated accelerator ----
expect "classify picks the device automatically and says which" 0 \
    "xnca classify: device (sim \(board sim:icebreaker|usb).*picked automatically" -- \
    env -u XNCA_DEVICE timeout 300 "$xnca" classify --model "$model" --data mnist --n 2 --steps 5 --quiet
expect "selftest picks the device automatically and says which" 0 "xnca selftest: device (sim|usb).*picked automatically" -- \
    env -u XNCA_DEVICE timeout 300 "$xnca" selftest --n 2 --model "$model"
expect "watch picks the device automatically and says which" 0 "xnca watch: device (sim|usb).*picked automatically" -- \
    env -u XNCA_DEVICE timeout 300 "$xnca" watch --model "$model" --data mnist --steps 3 --no-term
mkdir -p "$tmp/alone"; cp "$xnca" "$tmp/alone/xnca"
expect "without a Verilated device the auto-pick falls back to cpu and says so" 0 \
    "device cpu .*sim device is not available, running on the reference engine" -- \
    env -u XNCA_DEVICE -u XNCA_SIM_DIR bash -c "cd '$tmp/alone' && ./xnca classify --model '$(realpath "$model")' \
        --n 1 --steps 2 --quiet '$PWD/data/mnist/t10k-images-idx3-ubyte'"

# ---- the shipped model on the simulated iCEBreaker: 5 digits, 20 steps, equal to the CPU engine ----
if [ -f models/mnist.xnca ]; then
    if timeout 900 "$xnca" classify --device sim --model models/mnist.xnca --data mnist --split test --n 5 \
            --steps 20 --json > "$tmp/ship-sim.json" 2> "$tmp/ship-sim.err" &&
       "$xnca" classify --device cpu --model models/mnist.xnca --data mnist --split test --n 5 \
            --steps 20 --json > "$tmp/ship-cpu.json" 2> "$tmp/ship-cpu.err"; then
        if [ "$(images "$tmp/ship-sim.json")" = "$(images "$tmp/ship-cpu.json")" ]; then
            ok "models/mnist.xnca: 5 digits on sim:icebreaker equal the cpu engine (class, votes, agreement)"
        else bad "models/mnist.xnca: sim and cpu differ"; fi
    elif grep -q "exceeds the device" "$tmp/ship-sim.err"; then
        bad "models/mnist.xnca is refused by sim:icebreaker: $(tail -1 "$tmp/ship-sim.err")"
    else bad "models/mnist.xnca on sim: $(tail -1 "$tmp/ship-sim.err")"; fi
fi

finish "$result"
