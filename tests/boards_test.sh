#!/usr/bin/env bash
# tests/boards_test.sh RESULT_FILE: board-support checks (mk/boards.mk, scripts/bitstream-*).
# Build id golden vectors, exact `make prog DRY_RUN=1` command lines, the report gate, and real
# smoke bitstreams for the iCEBreaker (native tools) and the ULX3S-25F (yowasp tools in .venv),
# including a timing miss that must fail. Writes "PASSED FAILED" to RESULT_FILE.
set -u
result=${1:?usage: boards_test.sh RESULT_FILE}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

ok()  { pass=$((pass + 1)); echo "  ok   $1"; }
bad() { fail=$((fail + 1)); echo "  FAIL $1"; }
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
# expect_rc NAME WANT_NONZERO(0|1) CMD...
expect_rc() {
  local name=$1 want=$2; shift 2
  "$@" >"$tmp/out" 2>&1; local rc=$?
  if { [ "$want" = 0 ] && [ $rc -eq 0 ]; } || { [ "$want" = 1 ] && [ $rc -ne 0 ]; }; then ok "$name"
  else bad "$name: rc $rc"; sed 's/^/       /' "$tmp/out" | tail -5; fi
}

echo "build id"
printf 'hello\n' > "$tmp/a.v"; printf 'world\n' > "$tmp/b.v"
# Golden values: sha256(b"hello\nworld\n" + params + board)[:8], computed with Python's hashlib.
expect_eq "golden vector with parameters" \
  "$(scripts/bitstream-build-id icebreaker "LANES=6 N=180" "$tmp/a.v" "$tmp/b.v")" 549ac981
expect_eq "golden vector without parameters" \
  "$(scripts/bitstream-build-id ulx3s-85f "" "$tmp/a.v" "$tmp/b.v")" c4f973df
expect_eq "source order does not matter" \
  "$(scripts/bitstream-build-id icebreaker "LANES=6 N=180" "$tmp/b.v" "$tmp/a.v")" 549ac981
expect_eq "board name changes the id" \
  "$(scripts/bitstream-build-id ulx3s-25f "" "$tmp/a.v" "$tmp/b.v" | grep -c c4f973df)" 0
expect_rc "missing source is an error" 1 scripts/bitstream-build-id icebreaker "" "$tmp/none.v"
expect_rc "too few arguments is an error" 1 scripts/bitstream-build-id icebreaker ""

echo "make prog DRY_RUN=1"
prog() { make -s --no-print-directory prog DRY_RUN=1 "$@" 2>&1; }
expect_eq "icebreaker" "$(prog BOARD=icebreaker)" \
  "openFPGALoader -b ice40_generic -f bitstreams/icebreaker.bin"
expect_eq "icebreaker FLASH=1 (always flash)" "$(prog BOARD=icebreaker FLASH=1)" \
  "openFPGALoader -b ice40_generic -f bitstreams/icebreaker.bin"
expect_eq "ulx3s-85f (SRAM, prebuilt)" "$(prog BOARD=ulx3s-85f)" "openFPGALoader -b ulx3s bitstreams/ulx3s-85f.bit"
expect_eq "ulx3s-85f FLASH=1" "$(prog BOARD=ulx3s-85f FLASH=1)" \
  "openFPGALoader -b ulx3s -f bitstreams/ulx3s-85f.bit"
expect_eq "ulx3s-25f (SRAM)" "$(prog BOARD=ulx3s-25f)" "openFPGALoader -b ulx3s bitstreams/ulx3s-25f.bit"
expect_eq "ulx3s-25f LOCAL=1 (own build)" "$(prog BOARD=ulx3s-25f LOCAL=1)" "openFPGALoader -b ulx3s build/ulx3s-25f/xnca.bit"
expect_eq "BITFILE override" "$(prog BOARD=ulx3s-25f BITFILE=x.bit)" "openFPGALoader -b ulx3s x.bit"
expect_rc "unknown board is an error" 1 make -s --no-print-directory prog BOARD=nosuch DRY_RUN=1
expect_rc "missing bitstream is an error" 1 \
  make -s --no-print-directory prog BOARD=ulx3s-85f BITFILE="$tmp/none.bit" OPENFPGALOADER=true

echo "bitstream-report"
printf '{"fmax": {"clk": {"achieved": 60.5, "constraint": 48}}, "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}}}' > "$tmp/pass.json"
printf '{"fmax": {"clk": {"achieved": 40.0, "constraint": 48}}, "utilization": {}}' > "$tmp/fail.json"
printf '{"fmax": {"clk": {"achieved": 52.0, "constraint": 48}}, "utilization": {}}' > "$tmp/thin.json"
printf 'not json' > "$tmp/junk.json"
expect_rc "timing met passes" 0 scripts/bitstream-report "$tmp/pass.json"
expect_rc "timing missed fails" 1 scripts/bitstream-report "$tmp/fail.json"
expect_rc "unreadable report fails" 1 scripts/bitstream-report "$tmp/junk.json"
expect_rc "8 % slack passes without --min-slack" 0 scripts/bitstream-report "$tmp/thin.json"
expect_rc "8 % slack fails --min-slack 10" 1 scripts/bitstream-report --min-slack 10 "$tmp/thin.json"
expect_rc "60 % slack passes --min-slack 10" 0 scripts/bitstream-report --min-slack 10 "$tmp/pass.json"

echo "udev rules"
for pid in 6010 6015; do
  expect_eq "0403:$pid usb and tty rules with plugdev + uaccess" \
    "$(grep -E "^SUBSYSTEM==\"(usb|tty)\", ATTRS\{idVendor\}==\"0403\", ATTRS\{idProduct\}==\"$pid\",.*GROUP=\"plugdev\", TAG\+=\"uaccess\"" udev/70-xnca.rules | wc -l)" 2
done

echo "smoke design UART echo (Verilator --timing, tests/boards_smoke_tb.v)"
for cpb in 4 16 25; do   # 12 Mbaud at 48 MHz; 3 Mbaud at 48 MHz (iCEBreaker); 3 Mbaud at 75 MHz (ULX3S)
  if verilator --binary --timing -j 2 --Mdir "$tmp/sim$cpb" -GCLKS_PER_BIT=$cpb \
      --top-module boards_smoke_tb tests/boards_smoke_tb.v rtl/xnca_board_smoke.v \
      rtl/xnca_board_smoke_rx.v rtl/xnca_board_smoke_tx.v > "$tmp/sim$cpb.log" 2>&1; then
    out=$("$tmp/sim$cpb/Vboards_smoke_tb" 2>&1 | head -1)
    expect_eq "echo of 40 back-to-back bytes at $cpb clocks per bit" "$out" "PASS 40"
  else
    bad "testbench for $cpb clocks per bit did not build"; tail -5 "$tmp/sim$cpb.log"
  fi
done

echo "smoke bitstreams"
mk() { make -s --no-print-directory BUILD="$tmp/build" "$@"; }
expect_rc "iCEBreaker smoke bitstream builds" 0 mk bitstream BOARD=icebreaker TOP=xnca_board_icebreaker_smoke
expect_rc "iCEBreaker .bin written" 0 test -s "$tmp/build/icebreaker/xnca.bin"
expect_rc "iCEBreaker build_id is 8 hex digits" 0 grep -qxE '[0-9a-f]{8}' "$tmp/build/icebreaker/build_id"
expect_rc "iCEBreaker report shows the PLL in use" 0 /usr/bin/python3 -c \
  'import json, sys; sys.exit(json.load(open(sys.argv[1]))["utilization"]["ICESTORM_PLL"]["used"] != 1)' \
  "$tmp/build/icebreaker/report.json"
id_default=$(cat "$tmp/build/icebreaker/build_id" 2>/dev/null)
expect_rc "iCEBreaker timing miss (FREQ=250) fails" 1 mk bitstream BOARD=icebreaker TOP=xnca_board_icebreaker_smoke FREQ=250
expect_rc "no stale .bin after a timing miss" 1 test -e "$tmp/build/icebreaker/xnca.bin"
expect_rc "TOP_PARAMS reach the design (BAUD=5000000 does not divide 48 MHz)" 1 \
  mk bitstream BOARD=icebreaker TOP=xnca_board_icebreaker_smoke TOP_PARAMS="BAUD=5000000"
expect_rc "  ... rejected by the elaboration check" 0 grep -q "whole multiple" "$tmp/build/icebreaker/yosys.log"
expect_rc "TOP_PARAMS=BAUD=12000000 (4 clocks per bit) builds" 0 \
  mk bitstream BOARD=icebreaker TOP=xnca_board_icebreaker_smoke TOP_PARAMS="BAUD=12000000"
expect_eq "parameters change the build id" \
  "$(grep -c "$id_default" "$tmp/build/icebreaker/build_id")" 0
expect_rc "ULX3S-25F smoke bitstream builds (yowasp)" 0 mk bitstream BOARD=ulx3s-25f TOP=xnca_board_ulx3s_smoke
expect_rc "ULX3S-25F .bit written" 0 test -s "$tmp/build/ulx3s-25f/xnca.bit"

mkdir -p "$(dirname "$result")"
echo "$pass $fail" > "$result"
echo "boards: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
