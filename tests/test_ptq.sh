#!/usr/bin/env bash
# test_ptq.sh XNCA RESULT_FILE - `xnca quantize` (post-training quantization, models/xnca_ptq.c):
# the output loads and passes `xnca info` with the requested precision and provenance metadata,
# is deterministic, W8A8 keeps the float model's image accuracy at step 50 on the first 200 MNIST
# test digits (within 3 points), W2A2 does not (so the accuracy check can fail), bad arguments
# exit 1. Writes "PASSED FAILED" to RESULT_FILE.
xnca=$1
result=$2
float=models/distill-float.xnca
SUITE=ptq
. "$(dirname "$0")/lib.sh"

# image accuracy at step 50 on the first 200 test digits (empty on failure)
acc50() {
    "$xnca" eval --model "$1" --data mnist --split test --n 200 --at 50 --json 2>/dev/null |
        "$py" -c "import json,sys; print(json.load(sys.stdin)['metrics'][0]['image_accuracy'])" 2>/dev/null
}

calib="--calib 30 --calib-steps 100"

# ---- the file: loads, passes info, carries the precision and provenance ----
expect "quantize W8A8 writes a model" 0 "wrote .*W8A8" -- \
    "$xnca" quantize --model "$float" --weight-bits 8 --act-bits 8 $calib -o "$work/w8a8.xnca"
expect "info accepts the W8A8 model" 0 "variant +quant \(W8A8\)" -- "$xnca" info --model "$work/w8a8.xnca"
expect "info: weight 8 / activation 8 / state 8 / input 2 bits" 0 "weight 8, activation 8, state 8, input 2" -- \
    "$xnca" info --model "$work/w8a8.xnca"
expect "metadata: command" 0 "command=xnca quantize --model $float" -- "$xnca" info --model "$work/w8a8.xnca"
expect "metadata: source says PTQ" 0 "source=distill-float.xnca PTQ" -- "$xnca" info --model "$work/w8a8.xnca"
expect "metadata: dataset" 0 "dataset=mnist" -- "$xnca" info --model "$work/w8a8.xnca"
expect "noise_p from the float sigma (13 at LSB 1/16)" 0 "noise_p 13" -- "$xnca" info --model "$work/w8a8.xnca"
expect "options reach the file (S 6, b 1, noise_p 5)" 0 "W3A2, state 6 bits, input 1 bits, fire_t 128, noise_p 5" -- \
    "$xnca" quantize --model "$float" --weight-bits 3 --act-bits 2 --state-bits 6 --input-bits 1 --noise-p 5 \
    $calib -o "$work/w3a2.xnca"
expect "the W3A2 model loads" 0 "noise_p 5" -- "$xnca" info --model "$work/w3a2.xnca"

# ---- deterministic: the same command writes the same bytes ----
cp "$work/w8a8.xnca" "$work/first.xnca"
"$xnca" quantize --model "$float" --weight-bits 8 --act-bits 8 $calib -o "$work/w8a8.xnca" >/dev/null 2>&1
if cmp -s "$work/first.xnca" "$work/w8a8.xnca"; then ok "deterministic output"; else bad "deterministic output"; fi

# ---- accuracy: W8A8 within 3 points of float, W2A2 not (the check discriminates) ----
fa=$(acc50 "$float")
qa=$(acc50 "$work/w8a8.xnca")
if [ -n "$fa" ] && [ -n "$qa" ] && awk -v q="$qa" -v f="$fa" 'BEGIN { exit !(q >= f - 3) }'; then
    ok "W8A8 image accuracy at step 50 on 200 digits $qa % within 3 points of float $fa %"
else
    bad "W8A8 image accuracy at step 50 on 200 digits '${qa:-none}' % not within 3 points of float '${fa:-none}' %"
fi
"$xnca" quantize --model "$float" --weight-bits 2 --act-bits 2 $calib -o "$work/w2a2.xnca" >/dev/null 2>&1
la=$(acc50 "$work/w2a2.xnca")
if [ -n "$fa" ] && [ -n "$la" ] && awk -v q="$la" -v f="$fa" 'BEGIN { exit !(q < f - 3) }'; then
    ok "W2A2 ($la %) fails the same criterion (float $fa %)"
else
    bad "W2A2 image accuracy '${la:-none}' % should be more than 3 points below float '${fa:-none}' %"
fi

# ---- bad arguments: exit 1, a message, no output file ----
q() { "$xnca" quantize "$@"; }
expect "--help" 0 "usage: xnca quantize" -- q --help
expect "no --model" 1 "--model FILE is required" -- q --weight-bits 8 --act-bits 8 -o "$work/x.xnca"
expect "no --weight-bits" 1 "--weight-bits M is required" -- q --model "$float" --act-bits 8 -o "$work/x.xnca"
expect "no --act-bits" 1 "--act-bits K is required" -- q --model "$float" --weight-bits 8 -o "$work/x.xnca"
expect "no -o" 1 "-o OUT.xnca is required" -- q --model "$float" --weight-bits 8 --act-bits 8
expect "--weight-bits 9" 1 "--weight-bits needs 1..8" -- q --model "$float" --weight-bits 9 --act-bits 8 -o "$work/x.xnca"
expect "--act-bits 0" 1 "--act-bits needs 1..8" -- q --model "$float" --weight-bits 8 --act-bits 0 -o "$work/x.xnca"
expect "--weight-bits abc" 1 "--weight-bits needs" -- q --model "$float" --weight-bits abc --act-bits 8 -o "$work/x.xnca"
expect "--state-bits 1" 1 "--state-bits needs 2..8" -- q --model "$float" --weight-bits 8 --act-bits 8 --state-bits 1 -o "$work/x.xnca"
expect "--input-bits 5" 1 "--input-bits needs 1..4" -- q --model "$float" --weight-bits 8 --act-bits 8 --input-bits 5 -o "$work/x.xnca"
expect "--noise-p 128" 1 "--noise-p needs 0..127" -- q --model "$float" --weight-bits 8 --act-bits 8 --noise-p 128 -o "$work/x.xnca"
expect "--calib 0" 1 "--calib needs" -- q --model "$float" --weight-bits 8 --act-bits 8 --calib 0 -o "$work/x.xnca"
expect "--calib beyond the split" 1 "larger than the mnist train split" -- \
    q --model "$float" --weight-bits 8 --act-bits 8 --calib 999999 -o "$work/x.xnca"
expect "--clip bogus" 1 "--clip must be mse or max" -- q --model "$float" --weight-bits 8 --act-bits 8 --clip bogus -o "$work/x.xnca"
expect "--data bogus" 1 "--data must be mnist or fashion" -- q --model "$float" --weight-bits 8 --act-bits 8 --data bogus -o "$work/x.xnca"
expect "unknown option" 1 "unknown option" -- q --model "$float" --weight-bits 8 --act-bits 8 --frobnicate -o "$work/x.xnca"
expect "missing model file" 1 "cannot open" -- q --model "$work/none.xnca" --weight-bits 8 --act-bits 8 -o "$work/x.xnca"
printf 'XNCA garbage' >"$work/bad.xnca"
expect "corrupt model file" 1 "short file" -- q --model "$work/bad.xnca" --weight-bits 8 --act-bits 8 -o "$work/x.xnca"
expect "quant source model" 1 "needs a float model" -- q --model "$work/w8a8.xnca" --weight-bits 8 --act-bits 8 -o "$work/x.xnca"
expect "unwritable output" 1 "cannot create" -- q --model "$float" --weight-bits 8 --act-bits 8 --calib 1 --calib-steps 1 \
    -o "$work/no/such/dir/x.xnca"
if [ -e "$work/x.xnca" ]; then bad "a failed quantize left $work/x.xnca"; else ok "failed runs write no file"; fi

finish "$result"
