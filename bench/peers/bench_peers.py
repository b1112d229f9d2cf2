#!/usr/bin/env python3
"""procsandbox against its peers, in one run (scripts/bench-peers runs this).

Each measure runs every variant in rounds; a round runs one batch of each
variant, the first variant rotating from round to round, so that drift and
the other load of a shared machine hit all alike. A batch is one process
(peers_driver, python_peer.py, node_peer.mjs) that times its iterations
itself and prints them as JSON; the rounds' samples are pooled. Ratios are
medians over the floor's median in the same run. Before the rounds, one
batch of one iteration of each variant is run: the check that the variant
runs here at all (one that does not is reported with why, not measured),
and a warm-up thrown away, except for measures of one iteration a batch
(capture), where it is the first round.

Writes results.json, results.md and peers.svg into --out, and, with
--readme, rewrites the part of that file between the markers
<!-- peers:begin --> and <!-- peers:end -->. Standard library only.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ElementTree

BEGIN = "<!-- peers:begin -->"
END = "<!-- peers:end -->"
LIMIT_MIB = 64


# --- statistics and formatting (pure; --self-test covers them) -----------


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def percentile(values, p):
    """The nearest-rank p quantile (0..1), as bench/bench_util.h's."""
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def rotated(items, first):
    k = first % len(items)
    return items[k:] + items[:k]


def format_seconds(s):
    """Seconds as the unit that gives three or four digits: µs, ms, s."""
    a = abs(s)
    if a < 1e-3:
        return f"{s * 1e6:.0f} µs" if a >= 1e-5 else f"{s * 1e6:.1f} µs"
    if a < 1:
        return f"{s * 1e3:.2f} ms" if a < 0.1 else f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def format_ratio(r):
    return f"{r:.2f}×" if r < 10 else f"{r:.1f}×" if r < 100 else f"{r:.0f}×"


def summarize(measure):
    """Adds median, p99 and ratio (to the floor's median) to each variant."""
    floor = next((v for v in measure["variants"]
                  if v.get("floor") and v.get("samples")), None)
    for v in measure["variants"]:
        s = v.get("samples")
        if not s:
            continue
        v["n"] = len(s)
        v["median_s"] = median(s)
        v["p99_s"] = percentile(s, 0.99)
        if floor is not None and floor["median_s"] > 0:
            v["ratio"] = v["median_s"] / floor["median_s"]
        if measure.get("bytes"):
            v["gib_per_s"] = measure["bytes"] / 2**30 / v["median_s"]
    return measure


def markdown_table(measure):
    throughput = bool(measure.get("bytes"))
    head = "| variant | median | p99 | " + ("GiB/s | " if throughput else "")
    head += "× floor | n |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for v in measure["variants"]:
        name = v["label"] + (" (floor)" if v.get("floor") else "")
        if "median_s" not in v:
            cols = ["not run: " + v.get("error", "?")] + [""] * (
                3 if throughput else 2) + [""]
            rows.append(f"| {name} | " + " | ".join(cols) + " |")
            continue
        cols = [format_seconds(v["median_s"]), format_seconds(v["p99_s"])]
        if throughput:
            cols.append(f"{v['gib_per_s']:.2f}")
        cols.append(format_ratio(v["ratio"]) if "ratio" in v else "—")
        cols.append(str(v["n"]))
        rows.append(f"| {name} | " + " | ".join(cols) + " |")
    return "\n".join(rows)


def containment_table(rows):
    out = ["| tool | program | contained? | what happened |", "|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['tool']} | {r['program']} | {r['contained']} | "
                   f"{r['what']} |")
    return "\n".join(out)


def escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def svg_chart(measures, title):
    """Horizontal bars of each variant's ratio to its floor, log scale,
    grouped by measure; floors grey, procsandbox blue, peers orange."""
    rows = []
    for m in measures:
        bars = [v for v in m["variants"] if "ratio" in v]
        if bars:
            rows.append(("group", m["title"], None, None))
            rows.extend(("bar", v["label"], v["ratio"], v.get("kind", "peer"))
                        for v in bars)
    ratios = [r[2] for r in rows if r[0] == "bar"] or [1.0]
    lo = min(0.5, min(ratios) / 1.2)
    hi = max(2.0, max(ratios) * 1.3)
    label_w, bar_w, row_h, top = 370, 520, 18, 76
    width = label_w + bar_w + 70
    height = top + row_h * len(rows) + 30

    colors = {"floor": "#9e9e9e", "procsandbox": "#1f6fb4", "peer": "#e08a1e"}

    def x(r):
        return label_w + bar_w * (math.log(r) - math.log(lo)) / (
            math.log(hi) - math.log(lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" font-family="DejaVu Sans, Arial, sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="15" font-weight="bold">'
        f'{escape(title)}</text>',
        '<text x="10" y="38" fill="#444">median time over the floor of its '
        'measure in the same run (log scale; lower is better)</text>',
    ]
    for k, (who, name) in enumerate((("floor", "C floors"),
                                      ("procsandbox", "procsandbox"),
                                      ("peer", "peers"))):
        out.append(f'<rect x="{10 + 130 * k}" y="47" width="12" height="12" '
                   f'fill="{colors[who]}"/>')
        out.append(f'<text x="{27 + 130 * k}" y="57">{name}</text>')
    ticks = [t * 10**e for e in range(-3, 5) for t in (1, 2, 5)]
    for t in ticks:
        if lo <= t <= hi:
            xt = x(t)
            stroke = "#555" if t == 1 else "#ddd"
            out.append(f'<line x1="{xt:.1f}" y1="{top - 6}" x2="{xt:.1f}" '
                       f'y2="{height - 24}" stroke="{stroke}"/>')
            out.append(f'<text x="{xt:.1f}" y="{height - 10}" '
                       f'text-anchor="middle" fill="#444">{t:g}×</text>')
    y = top
    for kind, label, ratio, who in rows:
        if kind == "group":
            out.append(f'<text x="10" y="{y + 13}" font-weight="bold">'
                       f'{escape(label)}</text>')
        else:
            out.append(f'<text x="{label_w - 8}" y="{y + 13}" '
                       f'text-anchor="end">{escape(label)}</text>')
            x0, x1 = x(lo), x(ratio)
            out.append(f'<rect x="{x0:.1f}" y="{y + 3}" '
                       f'width="{max(1.0, x1 - x0):.1f}" height="{row_h - 5}" '
                       f'fill="{colors.get(who, colors["peer"])}"/>')
            out.append(f'<text x="{x1 + 4:.1f}" y="{y + 13}">'
                       f'{escape(format_ratio(ratio))}</text>')
        y += row_h
    out.append("</svg>")
    return "\n".join(out) + "\n"


def replace_marked(text, section):
    """`text` with what lies between BEGIN and END replaced by `section`."""
    b, e = text.find(BEGIN), text.find(END)
    if b < 0 or e < b:
        raise ValueError(f"no {BEGIN} ... {END} section")
    return text[:b + len(BEGIN)] + "\n" + section.strip("\n") + "\n" + text[e:]


# --- running --------------------------------------------------------------


def run_batch(argv, timeout):
    """Runs one batch in a session of its own (all of it killed on a
    timeout); returns its parsed JSON, or raises RuntimeError saying why."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise RuntimeError(f"no answer in {timeout} s")
    if p.returncode != 0:
        tail = (err.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        raise RuntimeError(tail[:160])
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError("no JSON on stdout: " + out[-160:])


def run_measure(measure, rounds, batch, timeout, log):
    """The probe batch of each variant, then `rounds` rounds. Where a batch
    is one long iteration (capture: seconds each), the probe is kept as
    the first round (it ran in round 0's order) instead of a warm-up."""
    variants = measure["variants"]
    keep_probe = batch == 1
    for v in variants:
        try:
            probe = run_batch(v["argv"](1), timeout)
            v["exit"] = probe["exit"]
            v["samples"] = probe["samples"] if keep_probe else []
        except RuntimeError as e:
            v["error"] = str(e)
            log(f"  {v['label']}: not run: {e}")
    live = [v for v in variants if "error" not in v]
    for r in range(1 if keep_probe else 0, rounds):
        for v in rotated(live, r):
            try:
                result = run_batch(v["argv"](batch), timeout)
            except RuntimeError as e:
                v["error"] = f"round {r + 1}: {e}"
                v.pop("samples", None)
                live = [x for x in live if x is not v]
                continue
            v["samples"].extend(result["samples"])
            v["exit"] = sorted(set(map(str, v["exit"] + result["exit"])))
        log(f"  round {r + 1}/{rounds} done")
    return summarize(measure)


def measures(paths, quick):
    d, c, py, node = (paths["driver"], paths["child"], paths["python_peer"],
                      paths["node_peer"])
    ps = paths["procsandbox"]

    def driver(measure, variant):
        return lambda n: [d, measure, variant, str(n)]

    def execd(offset, *argv):
        return lambda n: [d, "exec", str(n), str(offset), "--", *argv]

    def pyd(measure):
        return lambda n: ["python3", py, measure, str(n), c]

    def noded(measure, variant):
        return lambda n: ["node", node, measure, variant, str(n), c]

    def v(label, argv, kind="peer", floor=False):
        return {"label": label, "argv": argv, "kind": kind, "floor": floor}

    bwrap = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
             "/proc", "--unshare-all"]
    q = quick
    return [
        {"id": "spawn", "title": "1. spawn + wait /bin/true",
         "rounds": 2 if q else 10, "batch": 20 if q else 100,
         "variants": [
             v("C posix_spawn + waitpid", driver("spawn", "posix_spawn"),
               "floor", True),
             v("C vfork + execve + waitpid", driver("spawn", "vfork"), "floor"),
             v("procsandbox (default manager)", driver("spawn", "library"),
               "procsandbox"),
             v("procsandbox (cgroups off)",
               driver("spawn", "library_no_cgroups"), "procsandbox"),
             v("Boost.Process child + wait", driver("spawn", "boost")),
             v("Boost.Process + posix::use_vfork",
               driver("spawn", "boost_vfork")),
             v("Python subprocess.run", pyd("spawn")),
             v("Node child_process.spawnSync", noded("spawn", "spawnSync")),
             v("execa (await)", noded("spawn", "execa")),
         ]},
        {"id": "deadline",
         "title": "2. deadline: sleep 10 under 100 ms, end − 100 ms",
         "rounds": 2 if q else 8, "batch": 3 if q else 6,
         "variants": [
             v("C timerfd + pidfd + waitid", driver("deadline", "raw"),
               "floor", True),
             v("procsandbox (default manager)", driver("deadline", "library"),
               "procsandbox"),
             v("procsandbox (cgroups off)",
               driver("deadline", "library_no_cgroups"), "procsandbox"),
             v("Python subprocess.run(timeout=0.1)", pyd("deadline")),
             v("Node spawnSync({timeout: 100})",
               noded("deadline", "spawnSync")),
             v("execa({timeout: 100})", noded("deadline", "execa")),
             v("coreutils timeout 0.1 sleep 10 (whole command)",
               execd(0.1, "timeout", "0.1", "/bin/sleep", "10")),
             v("procsandbox run --timeout 100ms (whole command)",
               execd(0.1, ps, "run", "--timeout", "100ms", "--",
                     "/bin/sleep", "10"), "procsandbox"),
         ]},
        {"id": "command", "title": "3. command cost: whole process, /bin/true",
         "rounds": 2 if q else 8, "batch": 5 if q else 20,
         "variants": [
             v("posix_spawn /bin/true", execd(0, "/bin/true"), "floor", True),
             v("procsandbox run --memory 256M --timeout 5s",
               execd(0, ps, "run", "--memory", "256M", "--timeout", "5s",
                     "--", "/bin/true"), "procsandbox"),
             v("procsandbox version (start-up)", execd(0, ps, "version"),
               "procsandbox"),
             v("prlimit --as=256MiB timeout 5",
               execd(0, "prlimit", "--as=268435456", "timeout", "5",
                     "/bin/true")),
             v("bwrap --ro-bind / / --dev --proc --unshare-all",
               execd(0, *bwrap, "/bin/true")),
             v("firejail --quiet --noprofile",
               execd(0, "firejail", "--quiet", "--noprofile", "/bin/true")),
         ]},
        {"id": "capture-bounded",
         "title": "4a. capture 1 GiB of stdout, first 64 MiB kept",
         "bytes": 2**30, "rounds": 2 if q else 6, "batch": 1,
         "variants": [
             v("C read loop, one reused 1 MiB buffer",
               driver("capture-bounded", "raw"), "floor", True),
             v("C read loop, 64 MiB kept in huge pages",
               driver("capture-bounded", "raw_huge"), "floor"),
             v("procsandbox Run, output limit 64 MiB",
               driver("capture-bounded", "library"), "procsandbox"),
             v("Python Popen + readinto", pyd("capture-bounded")),
             v("Node child_process.spawn 'data'",
               noded("capture-bounded", "spawn")),
         ]},
        {"id": "capture-all", "title": "4b. capture 1 GiB of stdout, all kept",
         "bytes": 2**30, "rounds": 1 if q else 3, "batch": 1,
         "variants": [
             v("C read into a growing std::string",
               driver("capture-all", "raw"), "floor", True),
             v("C read into huge pages (2 GiB reserved)",
               driver("capture-all", "raw_huge"), "floor"),
             v("procsandbox Run", driver("capture-all", "library"),
               "procsandbox"),
             v("Boost.Process pipe into a std::string",
               driver("capture-all", "boost")),
             v("Python subprocess.run(stdout=PIPE)", pyd("capture-all")),
             v("Node spawnSync({maxBuffer})",
               noded("capture-all", "spawnSync")),
             v("execa({encoding: 'buffer', maxBuffer})",
               noded("capture-all", "execa")),
         ]},
    ]


def hog_lines(text):
    return [line for line in text.splitlines()
            if line.startswith(("bomb", "tree"))]


def containment(paths, tmp, log):
    """Runs a bomb and a tree under each tool once; says what each did."""
    c, ps = paths["child"], paths["procsandbox"]
    limit = str(LIMIT_MIB << 20)
    programs = [("bomb (one process, to 512 MiB)", [c, "bomb", "512"]),
                ("tree (4 × 40 MiB)", [c, "tree", "4", "40"])]
    tools = [
        ("procsandbox run --memory 64M",
         lambda result: [ps, "run", "--memory", "64M", "--result", result,
                         "--"]),
        ("prlimit --as=64MiB", lambda result: ["prlimit", f"--as={limit}"]),
        ("firejail --rlimit-as=64MiB",
         lambda result: ["firejail", "--quiet", "--noprofile",
                         f"--rlimit-as={limit}"]),
        ("bwrap --unshare-all (no memory option)",
         lambda result: ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev",
                         "--proc", "/proc", "--unshare-all"]),
    ]
    rows = []
    for tool, prefix in tools:
        for program, argv in programs:
            result = os.path.join(tmp, "result.json")
            if os.path.exists(result):
                os.unlink(result)
            if shutil.which(prefix(result)[0]) is None:
                rows.append({"tool": tool, "program": program,
                             "contained": "—", "what": "not installed"})
                continue
            try:
                p = subprocess.run(prefix(result) + argv, capture_output=True,
                                   text=True, timeout=60,
                                   start_new_session=True)
            except subprocess.TimeoutExpired:
                rows.append({"tool": tool, "program": program,
                             "contained": "?", "what": "no end in 60 s"})
                continue
            rows.append(judge(tool, program, p, result))
            log(f"  {tool} / {program}: {rows[-1]['contained']}")
    return rows


def judge(tool, program, p, result_path):
    """What one containment run did, from the hog's lines, the exit status
    and (procsandbox) the result file."""
    lines = hog_lines(p.stdout)
    last = lines[-1] if lines else "(no line)"
    status = (f"exit {p.returncode}" if p.returncode >= 0
              else f"killed by {signal.Signals(-p.returncode).name}")
    if p.returncode > 128:
        status += f" ({signal.Signals(p.returncode - 128).name})"
    what = [status, f"last line “{last}”"]
    if os.path.exists(result_path):
        with open(result_path) as f:
            r = json.load(f)
        what.append(f"result status “{r.get('status')}”, peak "
                    f"{(r.get('peak_memory_bytes') or 0) / 2**20:.0f} MiB")
        tree_note = [line for line in p.stderr.splitlines()
                     if "memory" in line]
        if tree_note:
            what.append(f"says “{tree_note[-1].strip()}”")
    held = 0
    if program.startswith("tree"):
        held = sum(40 for line in lines if line.endswith("held 40 MiB"))
    else:
        m = re.match(r"bomb (\d+) MiB", last)
        held = int(m.group(1)) if m else 0
    if held > LIMIT_MIB + 8:
        contained = f"no: {held} MiB held"
    elif "allocation failed" in p.stdout:
        contained = "yes, by a failed allocation"
    elif p.returncode != 0:
        contained = "yes, killed"
    else:
        contained = "?"
    return {"tool": tool, "program": program, "contained": contained,
            "what": "; ".join(what), "exit": p.returncode}


def first_line(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return ((p.stdout or p.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def machine_facts(paths):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    fs = first_line(["stat", "-fc", "%T", "/sys/fs/cgroup"])
    if fs == "cgroup2fs":
        cgroups = "v2 (unified)"
    elif os.path.isdir("/sys/fs/cgroup/unified"):
        cgroups = "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)"
    else:
        cgroups = "v1"
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    touch = json.loads(subprocess.run([paths["driver"], "facts"],
                                      capture_output=True, text=True,
                                      check=True).stdout)
    execa = os.path.join(os.path.dirname(paths["node_peer"]), "node_modules",
                         "execa", "package.json")
    boost = "?"
    try:
        with open("/usr/include/boost/version.hpp") as f:
            boost = re.search(r'BOOST_LIB_VERSION "([^"]+)"', f.read()).group(1)
    except (OSError, AttributeError):
        pass
    facts = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "glibc": os.confstr("CS_GNU_LIBC_VERSION"),
        "virtualization": first_line(["systemd-detect-virt"]),
        "cgroups": cgroups,
        "load_average_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "page_first_touch_us": touch["page_first_touch_s"] * 1e6,
        "page_second_write_us": touch["page_second_write_s"] * 1e6,
        "procsandbox": first_line(["git", "rev-parse", "--short", "HEAD"]),
        "compiler": first_line(["c++", "--version"]),
        "boost": boost.replace("_", "."),
        "python": platform.python_version(),
        "node": first_line(["node", "--version"]),
        "execa": json.load(open(execa))["version"] if os.path.exists(execa)
        else "not installed",
        "coreutils": first_line(["timeout", "--version"]),
        "util_linux": first_line(["prlimit", "--version"]),
        "bubblewrap": first_line(["bwrap", "--version"]),
        "firejail": first_line(["firejail", "--version"]),
    }
    return facts


def facts_markdown(f):
    return "\n".join([
        f"Measured {f['date_utc']} by `scripts/bench-peers` "
        f"(procsandbox {f['procsandbox']}, Release).",
        "",
        f"* machine: {f['nproc']} CPUs ({f['cpu']}), {f['memory_gib']} GiB, "
        f"virtualization: {f['virtualization']}; load average "
        f"{f['load_average_start']} at the start, "
        f"{f.get('load_average_end', '?')} at the end",
        f"* kernel {f['kernel']}, {f['glibc']}, cgroups {f['cgroups']}",
        f"* page touch (4 KiB pages, 256 MiB, median of 5): first touch "
        f"{f['page_first_touch_us']:.2f} µs a page, a second write "
        f"{f['page_second_write_us'] * 1e3:.0f} ns",
        f"* peers: {f['compiler']}; Boost {f['boost']}; Python "
        f"{f['python']}; Node {f['node']}; execa {f['execa']}; "
        f"{f['coreutils']}; {f['util_linux']}; {f['bubblewrap']}; "
        f"{f['firejail']}",
    ])


def report_markdown(facts, results, contain, svg_link, elapsed_s, quick):
    parts = [facts_markdown(facts), ""]
    if quick:
        parts += ["**--quick run: few rounds; not for comparison.**", ""]
    parts += [f"![ratios to each measure's floor]({svg_link})", ""]
    for m in results:
        parts += [f"#### {m['title']}", "", m.get("note", ""), "",
                  markdown_table(m), ""]
    parts += [f"#### 5. memory containment under {LIMIT_MIB} MiB", "",
              containment_table(contain), "",
              f"The whole run took {elapsed_s / 60:.1f} min."]
    return "\n".join(p for p in parts if p is not None)


NOTES = {
    "spawn": "Every variant runs `/bin/true` with the host's streams (no "
             "capture). Node and execa with `stdio: 'inherit'`.",
    "deadline": "Start of the call to its return, minus 100 ms; each stops "
                "the child its own way (the floor and Python SIGKILL, the "
                "library, Node and execa SIGTERM). The whole-command rows "
                "include that command's own start-up. p99 of few samples is "
                "close to the maximum.",
    "command": "Whole commands, posix_spawn'ed by the driver with their "
               "streams on /dev/null, wall time to the reaped exit.",
    "capture-bounded": "The writer is `procsandbox_peers_child write` (1 MiB "
                       "writes) for every variant, into a 1 MiB pipe for "
                       "the C loop and the library. The floor keeps its "
                       "64 MiB in a fresh std::string: 16,384 first touches "
                       "of 4 KiB pages (the page-touch cost above); the "
                       "library's capture buffer is prefaulted in huge pages "
                       "(9b93435), so it can beat this floor; the second C row keeps "
                       "its 64 MiB in huge pages (MADV_HUGEPAGE) as the "
                       "library does.",
    "capture-all": "Keeping 1 GiB means 262,144 first touches of 4 KiB "
                   "pages for the floor (the page-touch cost above), and as "
                   "many or more for Boost, Python and Node; the library "
                   "grows its buffer in prefaulted huge pages, hence a ratio "
                   "below 1 where first touches are dear. The second C row "
                   "reads into huge pages (MADV_HUGEPAGE) as the library "
                   "does.",
}


def run_all(args):
    started = time.monotonic()
    build = os.path.abspath(args.build_dir)
    here = os.path.dirname(os.path.abspath(__file__))
    paths = {
        "driver": os.path.join(build, "bench/peers/procsandbox_peers_driver"),
        "child": os.path.join(build, "bench/peers/procsandbox_peers_child"),
        "procsandbox": os.path.join(build, "tools/procsandbox"),
        "python_peer": os.path.join(here, "python_peer.py"),
        "node_peer": os.path.join(os.path.abspath(args.node_dir),
                                  "node_peer.mjs"),
    }
    for key in ("driver", "child", "procsandbox"):
        if not os.access(paths[key], os.X_OK):
            sys.exit(f"bench_peers: no {paths[key]} (build it first)")
    os.makedirs(args.out, exist_ok=True)

    def log(text):
        print(text, flush=True)

    facts = machine_facts(paths)
    log("machine: " + json.dumps(facts))
    results = []
    for m in measures(paths, args.quick):
        if args.only and m["id"] not in args.only:
            continue
        log(f"{m['title']}: {m['rounds']} rounds of {m['batch']}")
        m["note"] = NOTES.get(m["id"], "")
        run_measure(m, m["rounds"], m["batch"], args.timeout, log)
        for v in m["variants"]:
            v.pop("argv")
        results.append(m)
        log(markdown_table(m))
    contain = []
    if not args.only or "memory" in args.only:
        log(f"5. memory containment under {LIMIT_MIB} MiB")
        with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
            contain = containment(paths, tmp, log)
    facts["load_average_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    elapsed = time.monotonic() - started
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"facts": facts, "measures": results,
                   "containment": contain, "elapsed_s": elapsed,
                   "quick": args.quick}, f, indent=1)
    write_reports(args, facts, results, contain, elapsed, args.quick)


def write_reports(args, facts, results, contain, elapsed, quick):
    """results.md and peers.svg into args.out; the chart's copy and the
    README section where asked."""
    os.makedirs(args.out, exist_ok=True)
    title = (f"procsandbox and its peers, {facts['date_utc']}, "
             f"{facts['nproc']} CPUs, {facts['virtualization']}")
    svg = svg_chart(results, title)
    md = report_markdown(facts, results, contain, args.svg_link, elapsed,
                         quick)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(args.out, "peers.svg"), "w") as f:
        f.write(svg)
    if args.svg:
        shutil.copyfile(os.path.join(args.out, "peers.svg"), args.svg)
    if args.readme:
        with open(args.readme) as f:
            text = f.read()
        with open(args.readme, "w") as f:
            f.write(replace_marked(text, md))
    print(f"\n{md}\n\nwrote results.md and peers.svg into {args.out}"
          f"{', and ' + args.readme if args.readme else ''}")


# --- self-test ------------------------------------------------------------


class SelfTest(unittest.TestCase):
    def test_median_and_percentile(self):
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([4, 1, 3, 2]), 3)
        values = list(range(1, 101))
        self.assertEqual(percentile(values, 0.99), 100)
        self.assertEqual(percentile(values, 0.5), 51)
        self.assertEqual(percentile([7], 0.99), 7)

    def test_rotation_puts_each_variant_first_in_turn(self):
        items = ["a", "b", "c"]
        self.assertEqual([rotated(items, r)[0] for r in range(4)],
                         ["a", "b", "c", "a"])
        self.assertEqual(rotated(items, 1), ["b", "c", "a"])

    def test_formatting(self):
        self.assertEqual(format_seconds(0.000512), "512 µs")
        self.assertEqual(format_seconds(0.0000034), "3.4 µs")
        self.assertEqual(format_seconds(0.0123), "12.30 ms")
        self.assertEqual(format_seconds(0.25), "250.0 ms")
        self.assertEqual(format_seconds(2.5), "2.50 s")
        self.assertEqual(format_ratio(1.234), "1.23×")
        self.assertEqual(format_ratio(45.67), "45.7×")
        self.assertEqual(format_ratio(456.7), "457×")

    def sample_measure(self):
        return summarize({"title": "t", "bytes": 2**30, "variants": [
            {"label": "floor", "floor": True, "kind": "floor",
             "samples": [1.0, 1.0, 2.0]},
            {"label": "lib", "kind": "procsandbox", "samples": [2.0, 3.0, 2.0]},
            {"label": "gone", "error": "no such file"}]})

    def test_summary_and_table(self):
        m = self.sample_measure()
        self.assertEqual(m["variants"][1]["ratio"], 2.0)
        self.assertEqual(m["variants"][1]["gib_per_s"], 0.5)
        table = markdown_table(m).splitlines()
        self.assertEqual(table[0], "| variant | median | p99 | GiB/s | "
                         "× floor | n |")
        self.assertEqual(table[2], "| floor (floor) | 1.00 s | 2.00 s | 1.00 "
                         "| 1.00× | 3 |")
        self.assertIn("not run: no such file", table[4])
        self.assertTrue(all(row.count("|") == 7 for row in table))

    def test_chart_is_svg_with_a_bar_per_ratio(self):
        svg = svg_chart([self.sample_measure()], "a <title>")
        root = ElementTree.fromstring(svg)
        rects = root.findall("{http://www.w3.org/2000/svg}rect")
        self.assertEqual(len(rects), 6)  # background, legend, two bars
        self.assertIn("a &lt;title&gt;", svg)

    def test_readme_section_is_replaced_and_the_rest_kept(self):
        text = f"head\n{BEGIN}\nold\n{END}\ntail\n"
        self.assertEqual(replace_marked(text, "new\n"),
                         f"head\n{BEGIN}\nnew\n{END}\ntail\n")
        with self.assertRaises(ValueError):
            replace_marked("no markers", "x")

    def test_judge_reads_a_failed_allocation_and_a_held_tree(self):
        class P:
            pass
        p = P()
        p.returncode, p.stderr = 3, ""
        p.stdout = "bomb 56 MiB\nbomb 60 MiB: allocation failed\n"
        self.assertEqual(judge("t", "bomb", p, "/nonexistent")["contained"],
                         "yes, by a failed allocation")
        p.returncode = 0
        p.stdout = "".join(f"tree process {k} held 40 MiB\n"
                           for k in range(4)) + "tree 4 of 4 held\n"
        self.assertEqual(judge("t", "tree", p, "/nonexistent")["contained"],
                         "no: 160 MiB held")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build-dir", default="build/release")
    ap.add_argument("--node-dir", default="build/release/bench-peers/node",
                    help="where node_peer.mjs and its node_modules are")
    ap.add_argument("--out", default="build/release/bench-peers")
    ap.add_argument("--svg", help="also copy the chart here")
    ap.add_argument("--svg-link", default="peers.svg",
                    help="the chart's link in the Markdown")
    ap.add_argument("--readme", help="rewrite this file's marked section")
    ap.add_argument("--only", action="append",
                    help="run only this measure (spawn, deadline, command, "
                         "capture-bounded, capture-all, memory); repeatable")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds one batch may take")
    ap.add_argument("--quick", action="store_true", help="few rounds")
    ap.add_argument("--from-results", metavar="JSON",
                    help="measure nothing: write the reports again from "
                         "this results.json")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        unittest.main(argv=[sys.argv[0], "-v"])
    if args.from_results:
        with open(args.from_results) as f:
            r = json.load(f)
        write_reports(args, r["facts"], r["measures"], r["containment"],
                      r["elapsed_s"], r["quick"])
        return
    run_all(args)


if __name__ == "__main__":
    main()
