#!/usr/bin/env python3
"""Python's subprocess in bench/peers: one batch of one measure, timed here.

  python_peer.py MEASURE N CHILD

MEASURE: spawn (subprocess.run of /bin/true), deadline (/bin/sleep 10 with
timeout=0.1: end minus 100 ms), capture-bounded (CHILD writes 1 GiB; the
first 64 MiB kept, the rest read and dropped), capture-all (run with
stdout=PIPE: all kept). Prints {"samples": [seconds...], "exit": [...]}
like peers_driver. CLOCK_MONOTONIC, as the driver's steady_clock.
"""
import json
import subprocess
import sys
import time

CAPTURE_BYTES = 1 << 30
KEPT_BYTES = 64 << 20
BLOCK = 1 << 20


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def spawn(exits, child):
    exits.add(subprocess.run(["/bin/true"]).returncode)


def deadline(exits, child):
    try:
        subprocess.run(["/bin/sleep", "10"], timeout=0.1)
        exits.add(0)
    except subprocess.TimeoutExpired:
        exits.add("timeout")


def capture_bounded(exits, child):
    # The fastest plain Python: readinto a preallocated buffer, then one
    # reused 1 MiB buffer for what is dropped.
    kept = bytearray(KEPT_BYTES)
    scratch = bytearray(BLOCK)
    view = memoryview(kept)
    size = total = 0
    with subprocess.Popen([child, "write", str(CAPTURE_BYTES)],
                          stdout=subprocess.PIPE, bufsize=0) as p:
        while True:
            into = view[size:] if size < KEPT_BYTES else scratch
            n = p.stdout.readinto(into)
            if not n:
                break
            if size < KEPT_BYTES:
                size += n
            total += n
    exits.add(p.returncode)
    if total != CAPTURE_BYTES or size != KEPT_BYTES:
        sys.exit(f"python_peer: read {total} bytes, kept {size}")


def capture_all(exits, child):
    r = subprocess.run([child, "write", str(CAPTURE_BYTES)],
                       stdout=subprocess.PIPE)
    exits.add(r.returncode)
    if len(r.stdout) != CAPTURE_BYTES:
        sys.exit(f"python_peer: captured {len(r.stdout)} bytes")


MEASURES = {
    "spawn": (spawn, 0.0),
    "deadline": (deadline, 0.1),
    "capture-bounded": (capture_bounded, 0.0),
    "capture-all": (capture_all, 0.0),
}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in MEASURES:
        sys.exit("usage: python_peer.py " + "|".join(MEASURES) +
                 " N CHILD")
    step, offset = MEASURES[sys.argv[1]]
    n, child = int(sys.argv[2]), sys.argv[3]
    exits, samples = set(), []
    for _ in range(n):
        t0 = now()
        step(exits, child)
        samples.append(now() - t0 - offset)
    print(json.dumps({"samples": samples, "exit": sorted(map(str, exits))}))


if __name__ == "__main__":
    main()
