#!/usr/bin/env bash
# test_distill.sh XNCA MODEL RESULT_FILE - the imported Distill model still classifies: on the
# first 300 MNIST test digits (fire 0.5, noise on, seed 0) the average cell accuracy at step 100
# must lie within 4 points of 95.5 %. Writes "PASSED FAILED" to RESULT_FILE.
xnca=$1 model=$2 result=$3
want=95.5 tol=4
json=$("$xnca" eval --model "$model" --data mnist --split test --n 300 --at 100 --json)
rc=$?
acc=$(printf '%s' "$json" | ${PYTHON:-/usr/bin/python3} -c "import json,sys; print(json.load(sys.stdin)['metrics'][0]['cell_accuracy'])" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$acc" ] && awk -v a="$acc" -v w=$want -v t=$tol 'BEGIN { exit !(a >= w - t && a <= w + t) }'; then
    echo "distill: PASS cell accuracy at step 100 on 300 digits = $acc % (want $want +- $tol)"
    echo "1 0" >"$result"
else
    echo "distill: FAIL cell accuracy at step 100 on 300 digits = '${acc:-none}' % (want $want +- $tol; eval exit $rc)"
    echo "0 1" >"$result"
    exit 1
fi
