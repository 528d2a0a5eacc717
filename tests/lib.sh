# tests/lib.sh - the shared prelude of the shell test scripts (test_cli.sh, test_cli_device.sh,
# test_sim_e2e.sh, test_prune.sh, test_ptq.sh, bitstreams_test.sh). Source it after setting SUITE
# (the name printed before PASS / FAIL):
#
#   SUITE=cli; . "$(dirname "$0")/lib.sh"
#
# Gives: $work (a scratch folder removed on exit), $py (python3), the counters pass / fail,
#   ok NAME | bad NAME               count and print one result
#   expect NAME RC PATTERN -- CMD... exit status RC and (PATTERN != "") stdout+stderr matching
#                                    the extended regex PATTERN; output in $work/out, $work/err
#   json_check NAME EXPR FILE        the python expression EXPR over j (FILE's JSON) is true
#   pycheck NAME SCRIPT ARGS...      a python snippet exits 0 for a pass (prints why otherwise)
#   wait_for SECONDS CMD...          retry CMD every 0.1 s until it succeeds or SECONDS pass
#   finish RESULT_FILE               write "PASSED FAILED", print the tally, exit 0 / 1
py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
lib_cleanup() { rm -rf "$work"; }
trap lib_cleanup EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "$SUITE: PASS $1"; }
bad() { fail=$((fail + 1)); echo "$SUITE: FAIL $1"; }

expect() {
    local name=$1 rc=$2 pat=$3
    shift 4
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -ne "$rc" ]; then
        bad "$name: exit $got, expected $rc ($(head -c 400 "$work/err"))"
    elif [ -n "$pat" ] && ! cat "$work/out" "$work/err" | grep -Eq -- "$pat"; then
        bad "$name: output does not match /$pat/: $(head -c 400 "$work/out" "$work/err")"
    else
        ok "$name"
    fi
}

json_check() {
    if "$py" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$3" 2>"$work/pyerr"; then
        ok "$1"
    else
        bad "$1: $(cat "$work/pyerr") $(head -c 300 "$3")"
    fi
}

pycheck() {
    local name=$1 script=$2 msg
    shift 2
    if msg=$("$py" -c "$script" "$@" 2>&1); then ok "$name"; else bad "$name: $msg"; fi
}

wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

finish() {
    echo "$pass $fail" >"$1"
    echo "$SUITE: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
