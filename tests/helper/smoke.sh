#!/usr/bin/env bash
# Quick self-check of procsandbox_test_helper (ctest helper.smoke):
#   smoke.sh path/to/procsandbox_test_helper path/to/procsandbox_test_helper_tiny [EMULATOR...]
# With an EMULATOR (a cross build's, e.g. wine), every run goes through it.
# A Windows helper (it knows `exit-code-hex`) gets the portable checks and its
# own; the POSIX ones (signals, descriptors, rlimits, sessions) are left out.
set -u
helper_path=$1
tiny_path=$2
emulator=("${@:3}")
helper() { "${emulator[@]}" "$helper_path" "$@"; }
tiny() { "${emulator[@]}" "$tiny_path" "$@"; }
windows=false
if helper exit-code-hex 0 2>/dev/null; then windows=true; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect NAME WANT GOT
expect() {
  if [[ "$2" == "$3" ]]; then
    echo "ok   $1"
  else
    echo "FAIL $1: want [$2], got [$3]"
    failures=$((failures + 1))
  fi
}

helper exit 7
expect "exit 7" 7 $?

helper print a write-stdout 10 exit 3 >"$tmp/out"
expect "steps run in order: rc" 3 $?
expect "steps run in order: out" $'a\nabcdefghij' "$(cat "$tmp/out")"

expect "write-stdout 100000" 100000 "$(helper write-stdout 100000 | wc -c | tr -d ' ')"
helper write-stdout 65562 | tail -c 26 >"$tmp/tail"
expect "pattern byte i is 'a' + i % 26 across blocks" "$(printf '%s' {q..z} {a..p})" "$(cat "$tmp/tail")"

helper write-both 200000 >"$tmp/out" 2>"$tmp/err"
expect "write-both" "200000 200000" "$(wc -c <"$tmp/out" | tr -d ' ') $(wc -c <"$tmp/err" | tr -d ' ')"

expect "echo-stdin" $'hello\nworld' "$(printf 'hello\nworld' | helper echo-stdin)"
expect "echo-lines" $'one\ntwo' "$(printf 'one\ntwo\n' | helper echo-lines)"
expect "count-stdin" 300000 "$(head -c 300000 /dev/zero | helper count-stdin)"

expect "json-rpc" \
  '{"jsonrpc":"2.0","id":1,"result":{"jsonrpc":"2.0","id":1,"method":"a"}}
{"jsonrpc":"2.0","id":22,"result":{"jsonrpc":"2.0","method":"b","id": 22}}' \
  "$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"a"}' \
    '{"jsonrpc":"2.0","method":"note"}' \
    '{"jsonrpc":"2.0","method":"b","id": 22}' | helper json-rpc)"

helper alloc-mb 8 burn-ms 20
expect "alloc-mb 8 burn-ms 20" 0 $?

tiny
expect "tiny exits 0" 0 $?

helper exit 1 bogus-step 2>"$tmp/err"
expect "unknown step: rc" 125 $?
expect "unknown step: message" "procsandbox_test_helper: unknown step 'bogus-step'" "$(cat "$tmp/err")"
helper 2>/dev/null
expect "no step" 125 $?
helper exit 256 2>/dev/null
expect "bad operand" 125 $?

# Windows: exit codes are 32 bits (the shell sees the low 8), a crash is an
# access violation, abort a fail-fast, and POSIX-only steps are refused.
if $windows; then
  helper exit-code-hex 0x107
  expect "exit-code-hex 0x107" 7 $?
  helper crash
  expect "crash: 0xC0000005" 5 $?
  helper abort
  expect "abort: 0xC0000409" 9 $?
  helper print x signal TERM 2>"$tmp/err"
  expect "signal: rc" 125 $?
  expect "signal: message" "procsandbox_test_helper: step 'signal': not on Windows" "$(cat "$tmp/err")"
  expect "print-cwd ends in this directory's name" "${tmp##*/}" \
    "$(cd "$tmp" && helper print-cwd | sed 's/.*\\//')"
  [[ "$(helper print-pid)" =~ ^[1-9][0-9]*$ ]]
  expect "print-pid is a number" 0 $?
else
  helper exit-code-hex 0 2>"$tmp/err"
  expect "exit-code-hex: Windows only" 125 $?
helper signal TERM
  expect "signal TERM" 143 $?

expect "print-env under env -i" "A=1" "$(env -i A=1 "$helper_path" print-env)"
  expect "print-env sorted" $'A=1\nB=2' "$(env -i B=2 A=1 "$helper_path" print-env)"

# Descriptors: close all but 0-2 (bash keeps its script on a close-on-exec
  # 255), open 9; the helper's own opendir descriptor (3) must not show.
  fds=$(
    pid=$BASHPID
    for fd in $(ls "/proc/$pid/fd"); do
      if ((fd > 2 && fd < 255)); then eval "exec $fd>&-"; fi
    done
    exec 9</dev/null
    exec "$helper_path" print-fds
  )
  expect "print-fds" $'0\n1\n2\n9' "$fds"

  expect "print-rlimit nofile" "$(ulimit -Sn)" "$(helper print-rlimit nofile)"
  expect "print-rlimit cpu" "unlimited" "$(ulimit -St unlimited 2>/dev/null; helper print-rlimit cpu)"
  expect "ignore TERM shows in SigIgn" 1 \
    "$(( (0x$(helper ignore TERM print-sigign) >> 14) & 1 ))"
  expect "ignore TERM, then signal TERM resets it" 143 \
    "$(helper ignore TERM signal TERM; echo $?)"

  # catch-term-exit: wait until the handler is in place, then TERM.
  "$helper_path" catch-term-exit 5 20 print ready sleep-forever >"$tmp/ready" &
  pid=$!
  # (Polled up to 60 s, a hang guard: a loaded machine may start it slowly.)
  for _ in $(seq 6000); do [[ -s "$tmp/ready" ]] && break; sleep 0.01; done
  kill -TERM "$pid"
  wait "$pid"
  expect "catch-term-exit 5" 5 $?

  (ulimit -f 1; helper ignore XFSZ write-file "$tmp/big" 5000)
  expect "write-file over RLIMIT_FSIZE" 27 $?
  (ulimit -v 100000; helper alloc-mb 200)
  expect "alloc-mb over RLIMIT_AS" 12 $?

  # fork: in a new session; the children hold no pipe, so $(...) returns.
  out=$(setsid "$helper_path" fork 2 print-pgid print-sid)
  read -r pgid sid <<<"$(echo $out)"
  expect "fork 2 in its own session" "$pgid" "$sid"
  # The children exist once fork returned, before print-pgid: no wait. Counted
  # in /proc by their group (the one the helper leads), not with pgrep.
  members=0
  for stat in /proc/[0-9]*/stat; do
    line=$(cat "$stat" 2>/dev/null) || continue
    read -r -a fields <<<"${line##*) }"  # state ppid pgrp ...
    [[ "${fields[2]}" == "$pgid" ]] && members=$((members + 1))
  done
  expect "fork 2 children pause" 2 "$members"
  kill -KILL -- -"$pgid" 2>/dev/null
fi

exit $((failures > 0))
