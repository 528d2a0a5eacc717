#!/usr/bin/env bash
# test_cli_device.sh XNCA RESULT_FILE - the device commands of the xnca CLI on the cpu device:
# classify (against eval's metrics, against the engine's states via dump-state, IDX / PNG / PGM /
# stdin inputs, refusals), watch (PNG frames, GIF, agreement with classify), selftest (pass, and a
# build-id mismatch), prog (dry-run command lines, a failing programmer), info --device.
# Needs `make data` (MNIST). Writes "PASSED FAILED" to RESULT_FILE.
xnca=$1
result=$2
float_model=models/distill-float.xnca
export XNCA_DEVICE=cpu # the auto-pick is tested explicitly below
SUITE=cli-device
. "$(dirname "$0")/lib.sh"

if [ ! -f data/mnist/t10k-images-idx3-ubyte ]; then
    echo "cli-device: MNIST missing (run make data)"
    echo "0 1" >"$result"
    exit 1
fi

# ---- help ----
for c in classify watch selftest prog; do
    expect "$c --help" 0 "usage: xnca $c" -- "$xnca" "$c" --help
done
expect "classify --help states the default steps" 0 "default 50" -- "$xnca" classify --help

# ---- selftest (also saves the random W1A1 model the other checks use) ----
quant_model=$work/random-w1a1.xnca
expect "selftest --device cpu --random passes" 0 "^selftest: PASS" -- "$xnca" selftest --device cpu --random --n 5 \
    --save-model "$quant_model"
expect "selftest --random saved a W1A1 model" 0 "quant \(W1A1\)" -- "$xnca" info --model "$quant_model"
expect "selftest --random and --model exclude each other (exit 1)" 1 "exclude" -- \
    "$xnca" selftest --device cpu --random --model "$quant_model"
if [ -f models/mnist.xnca ]; then
    expect "selftest without --model uses models/mnist.xnca" 0 "models/mnist.xnca" -- \
        "$xnca" selftest --device cpu --n 2 --steps 5
fi
expect "selftest checks state read-back" 0 "^PASS state" -- "$xnca" selftest --device cpu
mkdir -p "$work/bits"
echo deadbeef >"$work/bits/cpu.build_id"
expect "selftest refuses another build id (exit 3)" 3 "device build 00000000 .*deadbeef" -- \
    "$xnca" selftest --device cpu --bitstreams "$work/bits"
echo 00000000 >"$work/bits/cpu.build_id"
expect "selftest accepts the recorded build id" 0 "^PASS build-id +00000000" -- \
    "$xnca" selftest --device cpu --bitstreams "$work/bits"
expect "selftest bad model file" 1 "magic" -- "$xnca" selftest --device cpu --model "$0"

# ---- info --device ----
expect "info --device cpu --json" 0 "" -- "$xnca" info --device cpu --json
pycheck "info --device has the INFO keys" '
import json, sys
j = json.load(open(sys.argv[1]))
keys = "protocol_version build_id board clock_hz grid_w grid_h channels hidden_channels perception_width mlp_width units synapse_bits_per_unit max_weight_bits max_act_bits max_weight_bytes input_buffer_bytes".split()
missing = [k for k in keys if k not in j]
sys.exit("missing %s" % missing if missing else 0 if j["board"] == "cpu" and j["protocol_version"] == 1 else "bad values %s" % j)
' "$work/out"
expect "info --model still works without a device" 0 "variant +float" -- "$xnca" info --model "$float_model"
expect "info --device bogus is a usage error" 1 "unknown device" -- "$xnca" info --device bogus
expect "info --device tty:/nonexistent is a device error" 2 "tty" -- "$xnca" info --device tty:/nonexistent/tty

# ---- classify vs eval: same metrics at the same steps, both models ----
for model in "$float_model" "$quant_model"; do
    tag=$(basename "$model")
    "$xnca" classify --device cpu --model "$model" --data mnist --n 50 --at 10,50 --json >"$work/c.json" 2>"$work/err"
    "$xnca" eval --model "$model" --data mnist --split test --n 50 --at 10,50 --json >"$work/e.json" 2>/dev/null
    pycheck "classify metrics == eval metrics ($tag, 50 digits, steps 10,50)" '
import json, sys
c, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if c["metrics"] == e["metrics"] and len(c["images"]) == 50 else "classify %s\neval %s" % (c["metrics"], e["metrics"]))
' "$work/c.json" "$work/e.json"
done

# ---- classify vs the engine's own states (dump-state, no protocol): per-image votes ----
"$xnca" classify --device cpu --model "$quant_model" --data mnist --n 50 --steps 30 --json >"$work/q.json" 2>/dev/null
"$xnca" dump-state --model "$quant_model" --data mnist --split test --count 50 --steps 30 -o "$work/q.bin"
pycheck "classify votes == votes from the engine states (quant, 50 digits)" '
import json, sys, numpy as np
j = json.load(open(sys.argv[1]))
s = np.fromfile(sys.argv[2], dtype=np.int8).reshape(50, 28 * 28, 20)
for i, im in enumerate(j["images"]):
    alive = s[i, :, 0] != 0
    cls = np.argmax(s[i, :, 10:], axis=1)[alive]
    votes = np.bincount(cls, minlength=10).tolist()
    pred = int(np.argmax(votes)) if alive.any() else 0
    if votes != im["votes"] or pred != im["class"]:
        sys.exit("image %d: classify %s/%d, engine %s/%d" % (i, im["votes"], im["class"], votes, pred))
' "$work/q.json" "$work/q.bin"

# ---- inputs: IDX with labels, PNG / PGM / stdin, refusals ----
expect "classify IDX + --labels: accuracy and confusion matrix" 0 "confusion matrix" -- \
    "$xnca" classify --device cpu --model "$float_model" --n 20 data/mnist/t10k-images-idx3-ubyte \
    --labels data/mnist/t10k-labels-idx1-ubyte
"$py" - "$work" <<'PY'
import sys, zlib, struct
import numpy as np
w = sys.argv[1]
img = np.fromfile("data/mnist/t10k-images-idx3-ubyte", dtype=np.uint8)[16:16 + 784].reshape(28, 28)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(a):
    h, wd = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", wd, h, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(w + "/digit0.png", "wb").write(png(img))
open(w + "/digit0.pgm", "wb").write(b"P5\n28 28\n255\n" + img.tobytes())
# the same digit as a user might draw it: 5x larger, dark ink on a white page, off centre
big = np.full((180, 220), 255, np.uint8)
big[20:160, 60:200] = 255 - np.kron(img, np.ones((5, 5), np.uint8))
open(w + "/drawn.png", "wb").write(png(big))
PY
"$xnca" classify --device cpu --model "$float_model" --data mnist --n 1 --json >"$work/ref.json" 2>/dev/null
"$xnca" classify --device cpu --model "$float_model" "$work/digit0.png" "$work/digit0.pgm" --json >"$work/png.json" 2>/dev/null
"$xnca" classify --device cpu --model "$float_model" - --json <"$work/digit0.png" >"$work/stdin.json" 2>/dev/null
pycheck "PNG, PGM and stdin of MNIST digit 0 give the engine's class and votes" '
import json, sys
ref = json.load(open(sys.argv[1]))["images"][0]
got = json.load(open(sys.argv[2]))["images"] + json.load(open(sys.argv[3]))["images"]
bad = [g for g in got if (g["class"], g["votes"]) != (ref["class"], ref["votes"])]
sys.exit("reference %s, got %s" % ((ref["class"], ref["votes"]), bad) if bad or len(got) != 3 else 0)
' "$work/ref.json" "$work/png.json" "$work/stdin.json"
expect "a drawn digit (light page, 5x, off centre) is preprocessed and classified as its label 7" 0 \
    '"class": 7' -- "$xnca" classify --device cpu --model "$float_model" "$work/drawn.png" --json
printf 'this is not a picture\n' >"$work/garbage.png"
expect "garbage input: exit 1 naming the expected format" 1 "expected a PNG or PGM" -- \
    "$xnca" classify --device cpu --model "$float_model" "$work/garbage.png"
: >"$work/empty.png"
expect "empty input: exit 1" 1 "empty input" -- "$xnca" classify --device cpu --model "$float_model" "$work/empty.png"
printf 'P5\n0 0\n255\n' >"$work/zero.pgm"
expect "zero-size picture: exit 1" 1 "zero-size" -- "$xnca" classify --device cpu --model "$float_model" "$work/zero.pgm"
printf 'P5\n8 8\n255\n' >"$work/flat.pgm"
head -c 64 /dev/zero | tr '\0' '\200' >>"$work/flat.pgm"
expect "uniform picture: exit 1" 1 "no digit found" -- "$xnca" classify --device cpu --model "$float_model" "$work/flat.pgm"
expect "missing input file: exit 1" 1 "cannot open" -- "$xnca" classify --device cpu --model "$float_model" "$work/nope.png"
expect "classify without inputs: usage" 1 "nothing to classify" -- "$xnca" classify --device cpu --model "$float_model"
expect "classify --device bogus" 1 "unknown device" -- "$xnca" classify --device bogus --model "$float_model" --data mnist --n 1
expect "classify on a device that is not there: exit 2" 2 "" -- \
    "$xnca" classify --device tty:/nonexistent/tty --model "$float_model" --data mnist --n 1

# ---- auto-pick prints the device it chose ----
expect "auto-pick names the device on stderr" 0 "xnca classify: device (usb|sim|cpu)" -- \
    env -u XNCA_DEVICE "$xnca" classify --model "$quant_model" --data mnist --n 2 --steps 5

# ---- watch ----
expect "watch --png writes frames (quant: READ_STATE)" 0 "step +10: class" -- \
    "$xnca" watch --device cpu --model "$quant_model" --data mnist --index 3 --steps 10 --png "$work/frames" \
    --gif "$work/w.gif" --no-term
pycheck "watch wrote 10 PNG frames and a GIF89a" '
import sys, os
d = sys.argv[1]
names = sorted(os.listdir(d + "/frames"))
pngs = [n for n in names if open(d + "/frames/" + n, "rb").read(8) == b"\x89PNG\r\n\x1a\n"]
gif = open(d + "/w.gif", "rb").read(6)
sys.exit(0 if len(pngs) == 10 and names[0] == "step-0001.png" and gif == b"GIF89a" else "frames %s, gif %r" % (names, gif))
' "$work"
grep -E "^step +10:" "$work/out" | grep -Eo "votes.*" | tr -s ' ' >"$work/watch_votes"
"$xnca" classify --device cpu --model "$quant_model" --data mnist --index 3 --n 1 --steps 10 --json 2>/dev/null |
    "$py" -c "import json,sys; print('votes ' + ' '.join(map(str, json.load(sys.stdin)['images'][0]['votes'])))" >"$work/cls_votes"
if cmp -s "$work/watch_votes" "$work/cls_votes"; then ok "watch's votes after 10 steps == classify's"; else
    bad "watch votes '$(cat "$work/watch_votes")' != classify '$(cat "$work/cls_votes")'"; fi
expect "watch with a mutation" 0 "replaced by mnist:test#7 after step 4" -- \
    "$xnca" watch --device cpu --model "$quant_model" --data mnist --index 3 --steps 8 --mutate-at 4 --mutate-index 7 --no-term
expect "watch float model (engine classes) + picture" 0 "step +3: class" -- \
    "$xnca" watch --device cpu --model "$float_model" --image "$work/drawn.png" --steps 3 --no-term
expect "watch draws ANSI blocks with --term" 0 $'\xe2\x96\x80' -- \
    "$xnca" watch --device cpu --model "$quant_model" --data mnist --steps 2 --term --delay 1
expect "watch needs an image" 1 "--image FILE or --data" -- "$xnca" watch --device cpu --model "$quant_model"
expect "watch --gif into a missing folder: exit 1" 1 "GIF" -- \
    "$xnca" watch --device cpu --model "$quant_model" --data mnist --steps 2 --no-term --gif "$work/no/such/dir/x.gif"

# ---- prog ----
# the committed prebuilt bitstream (bitstreams/<board>.bin|.bit) when there is one, else the local build
bitfile() { if [ -f "bitstreams/$1.$2" ]; then echo "bitstreams/$1.$2"; else echo "build/$1/xnca.$2"; fi; }
expect "prog --dry-run icebreaker" 0 "^openFPGALoader -b ice40_generic -f $(bitfile icebreaker bin)\$" -- \
    "$xnca" prog --board icebreaker --dry-run
expect "prog --dry-run ulx3s-85f (SRAM)" 0 "^openFPGALoader -b ulx3s $(bitfile ulx3s-85f bit)\$" -- \
    "$xnca" prog --board ulx3s-85f --dry-run
expect "prog --dry-run ulx3s-85f --flash" 0 "^openFPGALoader -b ulx3s -f $(bitfile ulx3s-85f bit)\$" -- \
    "$xnca" prog --board ulx3s-85f --flash --dry-run
expect "prog --dry-run ulx3s-25f" 0 "^openFPGALoader -b ulx3s $(bitfile ulx3s-25f bit)\$" -- \
    "$xnca" prog --board ulx3s-25f --dry-run
expect "prog unknown board" 1 "unknown board 'de10'" -- "$xnca" prog --board de10 --dry-run
printf 'bits' >"$work/t.bit"
printf '#!/bin/sh\necho "unable to open ftdi device: -3 (device not found)" >&2\nexit 1\n' >"$work/fake-loader"
chmod +x "$work/fake-loader"
expect "prog without a board: exit 2 with the programmer's error" 2 "device not found" -- \
    env OPENFPGALOADER="$work/fake-loader" "$xnca" prog --board ulx3s-25f --bitstream "$work/t.bit"
expect "prog with a missing bitstream: exit 1" 1 "missing" -- \
    "$xnca" prog --board ulx3s-25f --bitstream "$work/none.bit"

# ---- xnca sim: a device served on a Unix socket or a pty (the cpu device here, the Verilated one
# in the sim-e2e suite); hosts reach it as unix:SOCKET / tty:PTY ----
expect "sim --help" 0 "usage: xnca sim" -- "$xnca" sim --help
expect "sim refuses to serve a served device" 1 "itself served" -- "$xnca" sim --device "sim@$work/x.sock"
expect "sim --socket with --pty" 1 "not both" -- "$xnca" sim --socket "$work/x.sock" --pty
expect "sim unknown board" 1 "unknown board" -- timeout 20 "$xnca" sim --board nosuchboard --socket "$work/x.sock"
C=(classify --model "$quant_model" --data mnist --steps 10 --json)
timeout 120 "$xnca" "${C[@]}" --device cpu --n 20 >"$work/direct.json" 2>/dev/null
same_images() { # same_images A B: per-image classes, votes, agreement equal (and 20 of them)
    "$py" -c '
import json, sys
a, b = (json.load(open(f))["images"] for f in sys.argv[1:3])
key = lambda j: [(i["class"], i["votes"], i["agreement"], i["alive"]) for i in j]
sys.exit(0 if len(a) == 20 and key(a) == key(b) else 1)' "$1" "$2"
}
sock=$work/cpu.sock
# server_killed_mid_run LABEL DEVICE: a long classify runs against the server $spid, which is
# then killed; the host must end with exit 2 ("device gone") within 5 s.
server_killed_mid_run() {
    local label=$1 device=$2 hpid rc t0
    timeout 60 "$xnca" classify --model "$quant_model" --data mnist --n 10000 --steps 200 --device "$device" \
        >/dev/null 2>"$work/gone.err" &
    hpid=$!
    sleep 1; kill -KILL "$spid"; wait "$spid" 2>/dev/null; t0=$SECONDS
    wait "$hpid"; rc=$?
    if [ $rc -eq 2 ] && grep -q "device gone" "$work/gone.err" && [ $((SECONDS - t0)) -le 5 ]; then
        ok "$label killed mid-run: host exit 2 in $((SECONDS - t0)) s ($(tail -1 "$work/gone.err"))"
    else bad "$label killed mid-run: exit $rc after $((SECONDS - t0)) s: $(tail -2 "$work/gone.err")"; fi
}

"$xnca" sim --device cpu --socket "$sock" >"$work/srv.out" 2>"$work/srv.err" &
spid=$!
if wait_for 20 grep -qs . "$work/srv.out"; then
    if timeout 120 "$xnca" "${C[@]}" --device "unix:$sock" --n 20 >"$work/unix.json" 2>"$work/unix.err" &&
        same_images "$work/direct.json" "$work/unix.json"; then
        ok "classify through xnca sim's socket equals the direct cpu device"
    else bad "classify through the socket: $(tail -2 "$work/unix.err")"; fi
    EV=(eval --model "$quant_model" --data mnist --split test --n 30 --at 5,10,20 --mutate-at 10 --json)
    timeout 120 "$xnca" "${EV[@]}" >"$work/ev-cpu.json" 2>/dev/null
    if timeout 120 "$xnca" "${EV[@]}" --device "unix:$sock" >"$work/ev-dev.json" 2>"$work/ev.err" &&
        [ -s "$work/ev-cpu.json" ] && cmp -s "$work/ev-cpu.json" "$work/ev-dev.json"; then
        ok "eval --device (served cpu, with a mutation) prints the engine's metrics exactly"
    else bad "eval --device unix: differs from the engine: $(tail -2 "$work/ev.err")"; fi
    expect "eval --device with report step 0: exit 1" 1 "report steps must be 1" -- \
        timeout 20 "$xnca" eval --model "$quant_model" --data mnist --split test --n 2 --at 0,5 --device "unix:$sock"
    expect "a second server on a live socket: exit 2" 2 "already being served" -- \
        timeout 20 "$xnca" sim --device cpu --socket "$sock"
    # the server vanishes mid-run: the host ends with exit 2 and says so, within seconds
    server_killed_mid_run "server" "unix:$sock"
else
    bad "xnca sim --device cpu did not start: $(cat "$work/srv.err")"; kill "$spid"
fi
wait "$spid" 2>/dev/null
# a stale socket file (the killed server's) is replaced; SIGTERM stops cleanly and removes it
"$xnca" sim --device cpu --socket "$sock" >"$work/srv.out" 2>"$work/srv.err" &
spid=$!
if wait_for 20 grep -qs . "$work/srv.out"; then ok "a stale socket is replaced"; else bad "stale socket: $(cat "$work/srv.err")"; fi
kill -TERM "$spid"
if wait_for 10 bash -c "! kill -0 $spid 2>/dev/null"; then
    wait "$spid"; rc=$?
    if [ $rc -eq 0 ] && [ ! -e "$sock" ]; then ok "SIGTERM: exit 0, socket removed"; else bad "SIGTERM: exit $rc"; fi
else kill -KILL "$spid"; bad "xnca sim still running 10 s after SIGTERM"; fi
# the pty: tty:PTY reaches the same device through termios
"$xnca" sim --device cpu --pty >"$work/pty.out" 2>"$work/pty.err" &
spid=$!
if wait_for 20 grep -qs "^tty:" "$work/pty.out"; then
    pty=$(head -1 "$work/pty.out")
    if timeout 120 "$xnca" "${C[@]}" --device "$pty" --n 20 >"$work/pty.json" 2>"$work/pty.cerr" &&
        same_images "$work/direct.json" "$work/pty.json"; then
        ok "classify through xnca sim --pty ($pty) equals the direct cpu device"
    else bad "classify through $pty: $(tail -2 "$work/pty.cerr")"; fi
    server_killed_mid_run "pty server" "$pty"
else
    bad "xnca sim --pty did not start: $(cat "$work/pty.err")"; kill "$spid"
fi
wait "$spid" 2>/dev/null

finish "$result"
