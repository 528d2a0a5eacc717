#!/usr/bin/env bash
# tests/bitstreams_test.sh RESULT_FILE: the committed bitstreams (bitstreams/, issue 6.4-6.5).
#   1. scripts/bitstream-srcs and scripts/bitstream-check on a synthetic design (negative
#      controls: an edited source, a new module, a changed parameter, a wrong board must fail).
#   2. every committed bitstreams/<board>.manifest.json still matches today's RTL (fails when a
#      committed build id is stale: rebuild with `make bitstreams`).
#   3. ICEBREAKER_FITS=1: the iCEBreaker bitstream is built from scratch (CI) and must meet
#      timing with 10 % slack and reproduce the committed build id. ICEBREAKER_FITS=0: a KNOWN GAP
#      line, counted neither passed nor failed.
#   4. CI_ECP5="ulx3s-85f ...": those ECP5 bitstreams are built from scratch the same way.
# Writes "PASSED FAILED" to RESULT_FILE.
set -u
result=${1:?usage: bitstreams_test.sh RESULT_FILE}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SUITE=bitstreams
. tests/lib.sh
# This report groups its results under headings: indented result lines instead of lib.sh's.
ok()  { pass=$((pass + 1)); echo "  ok   $1"; }
bad() { fail=$((fail + 1)); echo "  FAIL $1"; }
# expect_rc NAME WANT_RC CMD...
expect_rc() {
  local name=$1 want=$2; shift 2
  "$@" >"$work/out" 2>&1; local rc=$?
  if [ $rc -eq "$want" ]; then ok "$name"; else bad "$name: rc $rc, want $want"; sed 's/^/       /' "$work/out" | tail -5; fi
}

echo "bitstream-srcs (module closure, one module per file)"
mkdir -p "$work/rtl"
printf 'module xnca_t_top(input a, output y);\n  // xnca_t_unused is only named in a comment\n  xnca_t_leaf u(.a(a), .y(y));\nendmodule\n' > "$work/rtl/xnca_t_top.v"
printf 'module xnca_t_leaf(input a, output y);\n  assign y = ~a; /* "xnca_t_unused" */\nendmodule\n' > "$work/rtl/xnca_t_leaf.v"
printf 'module xnca_t_unused(input a);\nendmodule\n' > "$work/rtl/xnca_t_unused.v"
expect_rc "closure of a two-file design" 0 test "$(scripts/bitstream-srcs xnca_t_top "$work/rtl")" = \
  "$work/rtl/xnca_t_leaf.v $work/rtl/xnca_t_top.v"
expect_rc "missing top is an error" 1 scripts/bitstream-srcs xnca_t_none "$work/rtl"
expect_rc "every board top resolves" 0 bash -c 'for t in xnca_board_ulx3s xnca_board_ulx3s_85f xnca_board_ulx3s_25f xnca_board_icebreaker; do
  s=$(scripts/bitstream-srcs $t) && grep -q rtl/xnca_top.v <<<"$s" && grep -q rtl/xnca_core.v <<<"$s" || exit 1; done'

echo "bitstream-check (synthetic committed bitstream)"
mkdir -p "$work/bs"
srcs="$work/rtl/xnca_t_leaf.v $work/rtl/xnca_t_top.v"
id=$(scripts/bitstream-build-id ulx3s-25f "N=3" $srcs)
printf '%s\n' "$id" > "$work/bs/ulx3s-25f.build_id"
printf 'bits' > "$work/bs/ulx3s-25f.bit"
printf '{"fmax": {"clk": {"achieved": 90.0, "constraint": 75}}, "utilization": {}}' > "$work/bs/ulx3s-25f.report.json"
"$py" - "$work/bs/ulx3s-25f.manifest.json" "$id" $srcs <<'PY'
import json, sys
json.dump({"board": "ulx3s-25f", "top": "xnca_t_top", "params": "N=3", "srcs": sys.argv[3:],
           "build_id": sys.argv[2], "bitstream": "ulx3s-25f.bit"}, open(sys.argv[1], "w"))
PY
check() { RTL_DIR="$work/rtl" scripts/bitstream-check ulx3s-25f "$work/bs"; }
expect_rc "fresh bitstream passes" 0 check
cp "$work/rtl/xnca_t_leaf.v" "$work/leaf.orig"
printf '// an edit\n' >> "$work/rtl/xnca_t_leaf.v"
expect_rc "an edited source makes it stale (exit 3)" 3 check
cp "$work/leaf.orig" "$work/rtl/xnca_t_leaf.v"
expect_rc "  ... and the original passes again" 0 check
cp "$work/rtl/xnca_t_top.v" "$work/top.orig"
sed -i 's|^endmodule|  xnca_t_unused v(.a(a));\nendmodule|' "$work/rtl/xnca_t_top.v"
expect_rc "a module added to the design makes it stale" 3 check
cp "$work/top.orig" "$work/rtl/xnca_t_top.v"
sed -i 's/"N=3"/"N=4"/' "$work/bs/ulx3s-25f.manifest.json"
expect_rc "a different parameter set does not give the committed id" 3 check
sed -i 's/"N=4"/"N=3"/' "$work/bs/ulx3s-25f.manifest.json"
cp "$work/bs/ulx3s-25f.manifest.json" "$work/bs/ulx3s-85f.manifest.json"
cp "$work/bs/ulx3s-25f.build_id" "$work/bs/ulx3s-85f.build_id"
cp "$work/bs/ulx3s-25f.bit" "$work/bs/ulx3s-85f.bit"
cp "$work/bs/ulx3s-25f.report.json" "$work/bs/ulx3s-85f.report.json"
expect_rc "another board's build id is rejected" 3 env RTL_DIR="$work/rtl" scripts/bitstream-check ulx3s-85f "$work/bs"
printf '{"fmax": {"clk": {"achieved": 80.0, "constraint": 75}}, "utilization": {}}' > "$work/bs/ulx3s-25f.report.json"
expect_rc "less than 10 % slack is rejected" 3 check
expect_rc "nothing committed is exit 1" 1 scripts/bitstream-check icebreaker "$work/bs"

# The gap's wording comes from mk/boards.mk (ICEBREAKER_GAP) when make runs this suite.
gap=${ICEBREAKER_GAP:-the iCEBreaker device is not marked as meeting timing (ICEBREAKER_FITS=0)}
echo "committed bitstreams (bitstreams/)"
for b in ulx3s-85f ulx3s-25f icebreaker; do
  if [ ! -f "bitstreams/$b.manifest.json" ] && [ "$b" = icebreaker ] && [ "${ICEBREAKER_FITS:-0}" != 1 ]; then
    echo "  KNOWN GAP: no committed icebreaker bitstream: $gap; not counted"
    continue
  fi
  if [ ! -f "bitstreams/$b.manifest.json" ]; then
    echo "  KNOWN GAP: no committed $b bitstream yet (make bitstreams); not counted"
    continue
  fi
  expect_rc "$b: committed build id matches today's RTL, parameters and board" 0 scripts/bitstream-check "$b"
done

echo "iCEBreaker bitstream from scratch (CI)"
if [ "${ICEBREAKER_FITS:-0}" = 1 ]; then
  expect_rc "make bitstream BOARD=icebreaker builds and meets timing with 10 % slack" 0 \
    make -s --no-print-directory BUILD="$work/build" bitstream BOARD=icebreaker
  if [ -f bitstreams/icebreaker.build_id ]; then
    expect_rc "  ... and reproduces the committed build id" 0 \
      cmp -s "$work/build/icebreaker/build_id" bitstreams/icebreaker.build_id
  fi
else
  echo "  KNOWN GAP: $gap; the CI build is skipped and not counted"
fi

echo "ECP5 bitstreams from scratch (CI: ${CI_ECP5:-none})"
for b in ${CI_ECP5:-}; do
  expect_rc "make bitstream BOARD=$b builds and meets timing with 10 % slack" 0 \
    make -s --no-print-directory BUILD="$work/build" bitstream BOARD="$b"
  if [ -f "bitstreams/$b.build_id" ]; then
    expect_rc "  ... and reproduces the committed build id" 0 \
      cmp -s "$work/build/$b/build_id" "bitstreams/$b.build_id"
  fi
done

mkdir -p "$(dirname "$result")"
finish "$result"
