#!/usr/bin/env bash
# test_cli.sh XNCA RESULT_FILE - the xnca command line: --help, --version, exit codes (0 ok,
# 1 usage/bad input, 2 device, 3 mismatch), bad model files, info --json keys, eval --json shape
# and the --at / --steps report-step rules. Writes "PASSED FAILED" to RESULT_FILE.
xnca=$1
result=$2
model=models/distill-float.xnca
SUITE=cli
. "$(dirname "$0")/lib.sh"

# steps_of ARGS...: the "step" list eval --json reports for these extra arguments.
steps_of() {
    "$xnca" eval --model "$model" --data mnist --split test --n 2 --json "$@" 2>/dev/null |
        "$py" -c "import json,sys; print(','.join(str(m['step']) for m in json.load(sys.stdin)['metrics']))" 2>/dev/null
}
expect_steps() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(steps_of "$@")
    if [ "$got" = "$want" ]; then ok "$name"; else bad "$name: steps '$got', expected '$want'"; fi
}

# ---- global options ----
expect "--help exits 0 and lists commands" 0 "import-distill" -- "$xnca" --help
expect "--help lists the exit codes" 0 "3 +verification mismatch" -- "$xnca" --help
expect "--help hides debug commands" 0 "" -- "$xnca" --help
if grep -q dump-state "$work/out"; then bad "--help lists dump-state"; fi
expect "no command is a usage error" 1 "usage: xnca" -- "$xnca"
expect "unknown command" 1 "unknown command 'frobnicate'" -- "$xnca" frobnicate
expect "--version names version, git hash, cpu path" 0 "^xnca [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}|^xnca [0-9.]+ \(git unknown" -- "$xnca" --version
expect "--version names the cpu path" 0 "^cpu path: (scalar|avx2|avx512)" -- "$xnca" --version
for c in info eval import-distill dump-state; do
    expect "$c --help" 0 "usage: xnca $c" -- "$xnca" "$c" --help
done

# ---- info ----
expect "info needs --model" 1 "--model FILE is required" -- "$xnca" info
expect "info unknown option" 1 "unknown option '--bogus'" -- "$xnca" info --model "$model" --bogus
expect "info missing file" 1 "$work/nope.xnca" -- "$xnca" info --model "$work/nope.xnca"
printf 'this is not a model file, just some text of reasonable length for a header......\n' >"$work/text.xnca"
expect "info bad magic" 1 "magic" -- "$xnca" info --model "$work/text.xnca"
head -c 100 "$model" >"$work/short.xnca"
expect "info truncated file" 1 "short.xnca" -- "$xnca" info --model "$work/short.xnca"
cp "$model" "$work/flip.xnca"
printf '\x55' | dd of="$work/flip.xnca" bs=1 seek=1000 conv=notrunc status=none
expect "info CRC mismatch" 1 "[Cc][Rr][Cc]" -- "$xnca" info --model "$work/flip.xnca"
expect "info --device fpga is a device error" 2 "device 'fpga'" -- "$xnca" info --model "$model" --device fpga
expect "info --device cpu" 0 "variant +float" -- "$xnca" info --model "$model" --device cpu
expect "info --json" 0 "" -- "$xnca" info --model "$model" --json
cp "$work/out" "$work/info.json"
json_check "info --json keys" "all(k in j for k in ['variant','weight_bits','act_bits','channels','hidden_channels','perception_width','mlp_width','params','weight_bytes','grid','state_bits','input_bits','fire_t','noise','meta'])" "$work/info.json"
json_check "info --json values" "j['variant']=='float' and j['channels']==20 and j['hidden_channels']==9 and j['perception_width']==80 and j['mlp_width']==80 and j['params']==22499 and j['fire_t']==128 and j['meta']['license'].startswith('CC-BY-4.0')" "$work/info.json"

# ---- import-distill ----
expect "import-distill needs -o" 1 "-o OUT.xnca is required" -- "$xnca" import-distill models/third_party/distill/model.json
expect "import-distill needs FILE" 1 "FILE" -- "$xnca" import-distill -o "$work/x.xnca"
expect "import-distill rejects non-JSON" 1 "not valid JSON" -- "$xnca" import-distill "$work/text.xnca" -o "$work/x.xnca"
expect "import-distill missing file" 1 "nope.json" -- "$xnca" import-distill "$work/nope.json" -o "$work/x.xnca"
expect "import-distill writes a model" 0 "wrote" -- "$xnca" import-distill models/third_party/distill/model.json -o "$work/d.xnca"
expect "imported model loads" 0 "params +22499" -- "$xnca" info --model "$work/d.xnca"

# ---- eval arguments ----
E=("$xnca" eval --model "$model" --data mnist --split test)
expect "eval needs --data" 1 "--data" -- "$xnca" eval --model "$model" --split test
expect "eval bad --data" 1 "mnist or fashion" -- "$xnca" eval --model "$model" --data cifar --split test
expect "eval bad --split" 1 "test or train" -- "$xnca" eval --model "$model" --data mnist --split valid
expect "eval --n 0" 1 "--n" -- "${E[@]}" --n 0
expect "eval --n too large" 1 "larger than" -- "${E[@]}" --n 10001 --steps 1
expect "eval --steps junk" 1 "--steps" -- "${E[@]}" --steps 1x
expect "eval --at junk" 1 "--at" -- "${E[@]}" --at 1,,x
expect "eval --at vs --steps" 1 "disagrees" -- "${E[@]}" --at 3,5 --steps 4
expect "eval unknown option" 1 "unknown option" -- "${E[@]}" --colour
expect "eval --device fpga (unknown device: usage error)" 1 "device 'fpga'" -- "${E[@]}" --n 2 --device fpga
expect "eval bad model file" 1 "magic" -- "$xnca" eval --model "$work/text.xnca" --data mnist --split test --n 1
expect "eval text table" 0 "cell accuracy +agreement +image accuracy" -- "${E[@]}" --n 2 --steps 3

# ---- eval --json and the report steps ----
expect "eval --json" 0 "" -- "${E[@]}" --n 3 --steps 2 --json
cp "$work/out" "$work/eval.json"
json_check "eval --json shape" "set(['model','data','n','metrics']) <= set(j) and j['data']=='mnist' and j['n']==3 and [m['step'] for m in j['metrics']]==[1,2] and all(set(m)=={'step','cell_accuracy','agreement','image_accuracy'} and all(0<=m[k]<=100 for k in ('cell_accuracy','agreement','image_accuracy')) for m in j['metrics'])" "$work/eval.json"
expect_steps "default report steps" "1,10,20,30,50,100,150,200"
expect_steps "--steps 25 reports defaults up to 25, plus 25" "1,10,20,25" --steps 25
expect_steps "--steps 20 reports defaults up to 20" "1,10,20" --steps 20
expect_steps "--at sorts and dedups, runs max" "0,2,7" --at 7,2,0,2
expect_steps "--at with matching --steps" "3,5" --at 3,5 --steps 5
a=$("${E[@]}" --n 4 --steps 12 --threads 1 --json 2>/dev/null)
b=$("${E[@]}" --n 4 --steps 12 --threads 2 --json 2>/dev/null)
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "eval results do not depend on --threads"; else bad "eval --threads 1 vs 2 differ"; fi
s0=$("${E[@]}" --n 20 --steps 30 --json 2>/dev/null)
s1=$("${E[@]}" --n 20 --steps 30 --seed 1 --json 2>/dev/null)
if [ -n "$s0" ] && [ "$s0" != "$s1" ]; then ok "eval --seed changes the draws"; else bad "eval --seed 0 vs 1 identical"; fi
expect "eval --mutate-at runs" 0 "mutation after step 5" -- "${E[@]}" --n 3 --steps 10 --mutate-at 5
expect "eval progress bar stays off stderr when not a terminal" 0 "" -- "${E[@]}" --n 2 --steps 2
if [ -s "$work/err" ]; then bad "eval wrote to stderr without a terminal: $(head -c 200 "$work/err")"; else ok "eval stderr quiet"; fi

finish "$result"
