#!/usr/bin/env bash
# test_prune.sh XNCA RESULT_FILE - `xnca prune` (structured pruning of a float model,
# models/xnca_prune.c): the output loads with the requested widths and provenance metadata, is
# deterministic, pruning to the model's own widths is a no-op (same eval output), a real prune
# changes the eval output, the W4A4 PTQ of the M=72 prune fits 12,288 weight bytes, bad
# arguments exit 1. Needs `make data` (MNIST). Writes "PASSED FAILED" to RESULT_FILE.
xnca=$1
result=$2
float=models/distill-float.xnca
SUITE=prune
. "$(dirname "$0")/lib.sh"

calib="--calib 10 --calib-steps 50"
# evaluation text without the first line (which names the model file) and the timing line
evaluate() {
    "$xnca" eval --model "$1" --data mnist --split test --n 30 --at 10,50 --threads 1 2>&1 | sed -e 1d -e '/^(/d'
}

# ---- bad arguments: exit 1 with a message ----
expect "--help" 0 "usage: xnca prune" -- "$xnca" prune --help
expect "needs --model" 1 "--model FILE is required" -- "$xnca" prune --mlp-width 72 -o "$work/x.xnca"
expect "needs -o" 1 "-o OUT.xnca is required" -- "$xnca" prune --model "$float" --mlp-width 72
expect "width not a number" 1 "--mlp-width needs 8..256" -- "$xnca" prune --model "$float" --mlp-width abc -o "$work/x.xnca"
expect "width below the envelope" 1 "--perception-width needs 8..256" -- \
    "$xnca" prune --model "$float" --perception-width 4 -o "$work/x.xnca"
expect "width above the model's" 1 "--mlp-width 81 is wider than the model's 80" -- \
    "$xnca" prune --model "$float" --mlp-width 81 -o "$work/x.xnca"
expect "unknown option" 1 "unknown option '--bogus'" -- "$xnca" prune --model "$float" --bogus -o "$work/x.xnca"
expect "missing model file" 1 "nope.xnca" -- "$xnca" prune --model "$work/nope.xnca" -o "$work/x.xnca"
expect "quant model refused" 1 "needs a float model" -- \
    "$xnca" prune --model models/ptq-w8a8.xnca --mlp-width 72 -o "$work/x.xnca"
expect "bad --data" 1 "--data must be mnist or fashion" -- \
    "$xnca" prune --model "$float" --data cifar -o "$work/x.xnca"
if [ -e "$work/x.xnca" ]; then bad "a failed prune left an output file"; else ok "failed prunes write nothing"; fi

# ---- the pruned file: loads with the requested dimensions and provenance ----
expect "prune M=72 writes a model" 0 "hidden 80 -> 72" -- \
    "$xnca" prune --model "$float" --mlp-width 72 $calib -o "$work/m72.xnca"
expect "info: M=72, P=80" 0 "perception 80 -> 1 hidden layer\(s\) of 72 -> output 19" -- \
    "$xnca" info --model "$work/m72.xnca"
expect "metadata: command" 0 "command=xnca prune --model $float --mlp-width 72" -- "$xnca" info --model "$work/m72.xnca"
expect "metadata: source" 0 "source=distill-float.xnca pruned to P=80 M=72" -- "$xnca" info --model "$work/m72.xnca"
expect "prune P=76 M=72 at once" 0 "perception 80 -> 76, hidden 80 -> 72" -- \
    "$xnca" prune --model "$float" --perception-width 76 --mlp-width 72 --no-fold $calib -o "$work/p76m72.xnca"
expect "info: P=76, M=72" 0 "perception 76 -> 1 hidden layer\(s\) of 72" -- "$xnca" info --model "$work/p76m72.xnca"

# ---- deterministic ----
cp "$work/m72.xnca" "$work/first.xnca"
"$xnca" prune --model "$float" --mlp-width 72 $calib -o "$work/m72.xnca" >/dev/null 2>&1
if cmp -s "$work/first.xnca" "$work/m72.xnca"; then ok "deterministic output"; else bad "deterministic output"; fi

# ---- no-op: the model's own widths give the same model (same eval output); a prune does not ----
expect "prune to the same widths" 0 "removed 0 units" -- \
    "$xnca" prune --model "$float" --perception-width 80 --mlp-width 80 $calib -o "$work/same.xnca"
ref=$(evaluate "$float")
same=$(evaluate "$work/same.xnca")
pruned=$(evaluate "$work/m72.xnca")
if [ -n "$ref" ] && [ "$ref" = "$same" ]; then ok "same widths: eval output identical"; else
    bad "same widths: eval output differs: '$ref' vs '$same'"; fi
if [ -n "$pruned" ] && [ "$ref" != "$pruned" ]; then ok "M=72: eval output changes"; else
    bad "M=72: eval output '$pruned' equals the original's"; fi

# ---- the point of it: W4A4 of the M=72 prune fits the 12,288-byte budget (12,078 B) ----
expect "W4A4 PTQ of M=72 is 12078 weight bytes" 0 "weight_bytes 12078" -- \
    "$xnca" quantize --model "$work/m72.xnca" --weight-bits 4 --act-bits 4 --calib 10 --calib-steps 50 \
    -o "$work/w4a4.xnca"

finish "$result"
