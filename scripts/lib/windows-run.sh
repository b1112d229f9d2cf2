#!/usr/bin/env bash
# Runs a Windows program under Wine in the given prefix: the windows
# preset's CMAKE_CROSSCOMPILING_EMULATOR (ctest, gtest_discover_tests).
#
#   scripts/lib/windows-run.sh PREFIX PROGRAM.exe [ARG...]
#   scripts/lib/windows-run.sh PREFIX --start   # keep its wineserver up
#   scripts/lib/windows-run.sh PREFIX --stop    # end it (and its programs)
#
# e.g. scripts/lib/windows-run.sh build/windows/wineprefix \
#        build/windows/tests/procsandbox_unit_tests.exe --gtest_filter='Stdio*'
#
# One prefix per build tree (build/windows/wineprefix), made on first use
# under a lock (ctest starts several tests at once): that takes 5-20 s, a
# program in a running prefix starts in a tenth of a second. scripts/test
# windows runs --start before ctest and --stop after it, so one wineserver
# serves the whole run. Without --start it works too: Wine's own server
# then starts and ends with the programs.
set -euo pipefail

(($# >= 2)) || {
  echo "usage: $0 PREFIX PROGRAM.exe [ARG...] | PREFIX --start | PREFIX --stop" >&2
  exit 2
}
# Wine wants an absolute prefix.
prefix="$(realpath -m "$1")"
shift

export WINEPREFIX="${prefix}"
export WINEDEBUG=-all

# Debian's wine64 loader is not on PATH (its `wine` script picks it when
# there is no 32-bit wine); another distribution's may be.
if command -v wine64 >/dev/null; then
  wine=(wine64)
elif [[ -x /usr/lib/wine/wine64 ]]; then
  wine=(/usr/lib/wine/wine64)
else
  wine=(wine)
fi

if [[ ! -f "${prefix}/.procsandbox-ready" ]]; then
  mkdir -p "$(dirname "${prefix}")"
  (
    flock 9
    if [[ ! -f "${prefix}/.procsandbox-ready" ]]; then
      # No Mono or Gecko installer dialog (only here: a test's child would
      # see the variable in its environment).
      WINEDLLOVERRIDES="mscoree,mshtml=" \
        "${wine[@]}" wineboot --init </dev/null >/dev/null 2>&1
      touch "${prefix}/.procsandbox-ready"
    fi
  ) 9>"${prefix}.lock"
fi

case "$1" in
  --start)
    # A server of this prefix still running (a program just ended) would
    # refuse a second, persistent one: let it end first (it lingers 3 s).
    timeout 20 wineserver -w || true
    wineserver -p || true
    ;;
  --stop)
    wineserver -k 2>/dev/null || true
    exit 0
    ;;
esac

# The first program of a server's life starts Wine's own services
# (services.exe, winedevice...), which inherit its stdout and keep it open
# as long as the server lives: a reader waiting for the end of the output
# (ctest, gtest_discover_tests) would hang on a persistent server. A
# trivial program with its output elsewhere starts them first (~0.1 s).
# scripts/test windows did that once with --start and says so in
# PROCSANDBOX_WINESERVER (the prefix whose server it keeps up).
if [[ "$1" == --start || "${PROCSANDBOX_WINESERVER:-}" != "${prefix}" ]]; then
  "${wine[@]}" cmd /c exit </dev/null >/dev/null 2>&1 || true
fi
[[ "$1" != --start ]] || exit 0

# The C runtime writes text-mode stdout ("\r\n"); gtest's test list, read
# by gtest_discover_tests, and the logs want plain lines. Unbuffered, so
# the output of a test killed by a timeout is not lost. The first line is
# also kept in `first` (beside the prefix, in the build tree): whether the
# program printed anything.
first="$(mktemp "${prefix}.first.XXXXXX")"
trap 'rm -f "${first}"' EXIT
run() {
  "${wine[@]}" "$@" | sed -u -e 's/\r$//' -e "1w ${first}"
  status="${PIPESTATUS[0]}"
}

# A GoogleTest program (ctest and gtest_discover_tests pass it a --gtest_
# flag) prints its first line before any test runs.
gtest=false
for arg in "$@"; do
  [[ "${arg}" != --gtest_* ]] || gtest=true
done

set +e
run "$@"
if [[ "${gtest}" == true ]] && ((status != 0)) && [[ ! -s "${first}" ]]; then
  # Failed before it printed a byte: under load, Wine now and then ends a
  # program within 50 ms of its launch without a word. Once more, said.
  # (Other programs, the test helper's failing steps, may well fail mute.)
  echo "windows-run.sh: ${1##*/} under wine: status ${status} before any output on stdout; launching it once more" >&2
  run "$@"
fi
if ((status > 128)); then
  # Wine itself was killed (or the program's exit code ends so): say it,
  # a test with no output otherwise fails without a word.
  echo "windows-run.sh: ${1##*/} under wine: status ${status} (a signal, or an exit code over 128)" >&2
fi
exit "${status}"
