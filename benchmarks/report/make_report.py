#!/usr/bin/python3
"""Cryo's benchmark report: reads the result files, writes PNG charts and docs/benchmarks.md.

Inputs (the newest of each, or the ones given):
  benchmarks/results/cpu/<date>/   written by bin/bench: jmh.json (JMH JSON), images.csv,
                                   restores.csv, machine.txt
  device/results/bench/<date>/     gpu.csv (format in benchmarks/report/README.md), machine.txt
  device/results/<dir>/            device/gpu-arena-bench.sh runs: every *arena.csv below it, machine.txt
Outputs: docs/img/*.png and docs/benchmarks.md (GPU sections only when a gpu.csv exists).

Usage:
  /usr/bin/python3 benchmarks/report/make_report.py [--cpu DIR] [--gpu DIR]
  /usr/bin/python3 benchmarks/report/make_report.py --summary DIR    (ratios only, no charts)
  /usr/bin/python3 benchmarks/report/make_report.py --restore-modes DIR   (the eager/lazy section of
                                   one benchmarks/scripts/restore-modes.sh run, as markdown)
Needs matplotlib for the charts (apt-get install -y python3-matplotlib), not for --summary.
"""
import argparse
import csv
import glob
import json
import os
import re
import statistics
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMG = os.path.join(ROOT, "docs", "img")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")

# CRIUgpu's published figures, as quoted in "GPU Container Checkpoint/Restore with CRIUgpu:
# Zero-Downtime Live Migration for ML Workloads" (Debo Ray, July 11, 2025).
CRIUGPU = [
    # label, gpu, checkpoint_s, restore_s, image_gb
    ("LLaMA 3.1 8B", "H100", 77, 39, 56),
    ("GPT-2 XL 1.5B", "A100", 131, 145, 60),
]
CRIUGPU_SCALING = [("1x A100", 13, 8), ("2x A100", 26, 17), ("4x A100", 55, 35)]


# ---------------------------------------------------------------- reading

def newest(pattern):
    dirs = sorted(d for d in glob.glob(pattern) if os.path.isdir(d))
    return dirs[-1] if dirs else None


def read_machine(d):
    m = {}
    path = os.path.join(d, "machine.txt") if d else None
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    m[k.strip()] = v.strip()
    return m


def read_csv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_jmh(d):
    """{(short benchmark name, frozen params): result dict} from jmh.json."""
    path = os.path.join(d, "jmh.json")
    with open(path) as f:
        data = json.load(f)
    out = {}
    for r in data:
        name = r["benchmark"].rsplit(".", 2)
        name = name[-2] + "." + name[-1]
        params = tuple(sorted((r.get("params") or {}).items()))
        pm = r["primaryMetric"]
        raw = [x for fork in pm.get("rawData", []) for x in fork]
        out[(name, params)] = {
            "score": pm["score"], "error": pm["scoreError"], "unit": pm["scoreUnit"], "raw": raw,
            "forks": r.get("forks"), "jvm": r.get("jvm"), "jdk": r.get("jdkVersion"),
        }
    return out


def jmh_get(jmh, name, **params):
    want = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    for (n, ps), r in jmh.items():
        d = dict(ps)
        if n == name and all(d.get(k) == v for k, v in want.items()):
            return r
    return None


def num(x):
    try:
        return float(x) if x not in (None, "") else None
    except ValueError:
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def steps_of(row):
    out = {}
    for part in (row.get("steps") or "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = float(v)
    return out


def err(x):
    try:
        x = float(x)  # JMH writes "NaN" when there is one sample
    except (TypeError, ValueError):
        return 0.0
    return x if x == x else 0.0


class Cpu:
    def __init__(self, d):
        self.dir = d
        self.machine = read_machine(d)
        self.jmh = read_jmh(d)
        self.images = read_csv(os.path.join(d, "images.csv"))
        self.restores = read_csv(os.path.join(d, "restores.csv"))
        self.apps = sorted({dict(ps).get("app") for (n, ps) in self.jmh if dict(ps).get("app")},
                           key=lambda a: (a != "SlowStartService", a))

    def case(self, app):
        c = {"app": app}
        for key, name, params in [("cold", "RestoreVsCold.cold", {}),
                                  ("restore", "RestoreVsCold.restore", {"gc": True}),
                                  ("restore_nogc", "RestoreVsCold.restore", {"gc": False}),
                                  ("ckpt", "CheckpointCost.checkpointStart", {"gc": True}),
                                  ("ckpt_nogc", "CheckpointCost.checkpointStart", {"gc": False})]:
            c[key] = jmh_get(self.jmh, name, app=app, **params)
        for gc, suffix in ((True, ""), (False, "_nogc")):
            rows = [r for r in self.images if r["app"] == app and r["gc"] == str(gc).lower()]
            c["image_bytes" + suffix] = median(num(r["image_bytes"]) for r in rows)
            c["resident_bytes" + suffix] = median(num(r["resident_bytes"]) for r in rows)
            c["checkpoint_ms" + suffix] = median(num(r.get("checkpoint_ms")) for r in rows)
            names = sorted({k for r in rows for k in steps_of(r)})
            c["steps" + suffix] = {k: median(steps_of(r).get(k) for r in rows) for k in names}
            rr = [r for r in self.restores if r["app"] == app and r["gc"] == str(gc).lower()]
            c["launcher_ms" + suffix] = median(num(r["launcher_restore_ms"]) for r in rr)
            c["restore_image_bytes" + suffix] = median(num(r["image_bytes"]) for r in rr)
        return c

    def overhead(self):
        off = jmh_get(self.jmh, "Overhead.workload", cryo=False)
        on = jmh_get(self.jmh, "Overhead.workload", cryo=True)
        return off, on


# ---------------------------------------------------------------- summary

def fmt_ms(r):
    return "-" if r is None else "%.0f ± %.0f ms" % (r["score"], err(r["error"]))


def mb(b):
    return "-" if b is None else "%.1f MB" % (b / 1e6)


def ratio(a, b):
    return None if not a or not b else a["score"] / b["score"]


def summary_lines(cpu):
    lines = []
    for app in cpu.apps:
        c = cpu.case(app)
        r = ratio(c["cold"], c["restore"])
        lines.append("%-18s cold %s, restore %s -> restore is %s faster to the first answer" % (
            app, fmt_ms(c["cold"]), fmt_ms(c["restore"]), "%.1fx" % r if r else "?"))
        if c["ckpt"] and c["cold"]:
            lines.append("%-18s checkpointing start %s (%+.0f ms over a plain cold start); the checkpoint itself"
                         " (log line, median) %s ms" % (
                             "", fmt_ms(c["ckpt"]), c["ckpt"]["score"] - c["cold"]["score"],
                             "%.0f" % c["checkpoint_ms"] if c["checkpoint_ms"] else "-"))
        if c["image_bytes"] and c["image_bytes_nogc"]:
            lines.append("%-18s GC before dump: image %s -> %s (%.2fx smaller), launcher restore %s -> %s ms,"
                         " restore to first answer %s -> %s" % (
                             "", mb(c["image_bytes_nogc"]), mb(c["image_bytes"]),
                             c["image_bytes_nogc"] / c["image_bytes"],
                             "%.0f" % c["launcher_ms_nogc"] if c["launcher_ms_nogc"] else "-",
                             "%.0f" % c["launcher_ms"] if c["launcher_ms"] else "-",
                             fmt_ms(c["restore_nogc"]), fmt_ms(c["restore"])))
    off, on = cpu.overhead()
    if off and on:
        diff = on["score"] - off["score"]
        noise = err(on["error"]) + err(off["error"])
        lines.append("Overhead workload: without Cryo %.1f ± %.1f ops/s, with Cryo loaded %.1f ± %.1f ops/s:"
                     " ratio %.3f (%s)" % (off["score"], err(off["error"]), on["score"], err(on["error"]),
                                          on["score"] / off["score"],
                                          "within noise" if abs(diff) <= noise else "beyond the error bars"))
    return lines


# ---------------------------------------------------------------- eager vs lazy restore

PHASES = ["buildKey", "chooseImage", "deviceMemoryCheck", "loadLibcriu", "integrity", "restoreMode", "prepareRequest",
          "lazyPagesReady", "criuRestore"]
RM_COLUMNS = (["app", "mode", "round", "ok", "attempts", "first_answer_ms", "wrapper_ms", "jvm_start_ms"]
              + ["phase_" + p for p in PHASES] + ["app_to_answer_ms", "all_resident_ms", "image_bytes"])


def restore_modes_csv(index, out):
    """Turns benchmarks/scripts/restore-modes.sh's logs into OUT/restore-modes.csv."""
    import re
    rows = []
    sizes = {}
    for r in read_csv(index):
        app, mode = r["app"], r["mode"]
        if app not in sizes:
            props = read_machine_file(os.path.join(out, "image-%s.properties" % app))
            sizes[app] = props.get("image.bytes", "")
        with open(r["log"], errors="replace") as f:
            text = f.read()
        start = int(r["start_epoch_ms"])
        row = {c: "" for c in RM_COLUMNS}
        row.update(app=app, mode=mode, round=r["round"], image_bytes=sizes[app])
        fa = re.search(r"CRYO-TIME first_answer_epoch_ms=(\d+)", text)
        if mode == "cold":
            row["ok"] = "true" if fa else "false"
        else:
            restored = re.search(r"cryo: restored image \S+ in (\d+) ms", text)
            # wrapper= (bin/cryo's bash, excluded from jvmStart) is there from the fast-launch change on
            timing = re.search(r"restore timing \(ms\): (?:wrapper=\d+ )?jvmStart=(\d+) \{([^}]*)\} mode=(\w+) startEpochMs=(\d+)"
                               r"(?: attempts=(\d+))?", text)
            resident = re.search(r"all pages in memory after (\d+) ms", text)
            ok = bool(fa and restored and timing and "CRYO RESTORED" in text and timing.group(3) == mode)
            row["ok"] = "true" if ok else "false"
            if ok:
                jvm, launcher_epoch, restored_ms = int(timing.group(1)), int(timing.group(4)), int(restored.group(1))
                phases = dict(kv.split("=") for kv in timing.group(2).split(", ") if "=" in kv)
                row["jvm_start_ms"] = jvm
                row["attempts"] = timing.group(5) or 1
                row["wrapper_ms"] = launcher_epoch - jvm - start
                for p in PHASES:
                    row["phase_" + p] = phases.get(p, "")
                row["app_to_answer_ms"] = int(fa.group(1)) - (launcher_epoch + restored_ms)
                done = int(resident.group(1)) if (mode == "lazy" and resident) else restored_ms
                row["all_resident_ms"] = launcher_epoch + done - start if (mode == "eager" or resident) else ""
        if fa:
            row["first_answer_ms"] = int(fa.group(1)) - start
        rows.append(row)
    with open(os.path.join(out, "restore-modes.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=RM_COLUMNS)
        wr.writeheader()
        wr.writerows(rows)


def read_machine_file(path):
    m = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    k, v = line.rstrip("\n").split("=", 1)
                    m[k.strip()] = v.strip()
    return m


def newest_restore_modes(n):
    """The newest n restore-modes.sh runs, oldest first: the machines' page-fault cost changes from day to day,
    and which mode answers first with it, so the report shows more than one."""
    dirs = sorted(d for d in glob.glob(os.path.join(ROOT, "benchmarks", "results", "cpu", "*-restore-modes*"))
                  if os.path.isfile(os.path.join(d, "restore-modes.csv")))
    return dirs[-n:]


def restore_modes_lines(d):
    """The report's section on eager vs lazy restore, from one restore-modes.sh run."""
    rows = [r for r in read_csv(os.path.join(d, "restore-modes.csv"))]
    m = read_machine(d)
    pf = read_machine_file(os.path.join(d, "pagefault.txt"))
    apps = []
    for r in rows:
        if r["app"] not in apps:
            apps.append(r["app"])

    def first_try(r):
        # A restore that had to wait for its PID (another task held it) says nothing about the mode.
        return r["ok"] == "true" and r.get("attempts", "") in ("", "1")

    def med(app, mode, col):
        xs = [num(r[col]) for r in rows if r["app"] == app and r["mode"] == mode and first_try(r)
              and r[col] not in ("", None)]
        return median(xs) if xs else None

    def count(app, mode):
        runs = [r for r in rows if r["app"] == app and r["mode"] == mode]
        return sum(first_try(r) for r in runs), sum(r["ok"] == "true" for r in runs), len(runs)

    def ms(x):
        return "-" if x is None else "%.0f ms" % x

    def x(a, b):
        return "%.1fx" % (a / b) if a and b else "-"

    L = []
    w = L.append
    w("## Restore only what the first answer needs: eager vs lazy restore (%s, %s µs a page fault)"
      % (m.get("date", os.path.basename(d))[:10], pf.get("first_touch_us_per_4k", "?")))
    w("")
    w("Results: `%s/` (restore-modes.csv, pagefault.txt, machine.txt, image-*.properties, logs.tgz), from one run of "
      "`benchmarks/scripts/restore-modes.sh %s`: per app one checkpoint, then %s rounds of a plain cold start "
      "(`--no-checkpoint`, no Cryo), an eager restore (`bin/cryo run --restore-mode eager`) and a lazy one "
      "(`--restore-mode lazy`, CRIU's lazy-pages daemon), the two restores' order alternating. Times run from "
      "starting the process (`bin/cryo` or `java`) to the app's first-answer line, as `bin/demo` measures them; "
      "the image files are in the page cache. Medians over the restores made at the first attempt (a restore "
      "retries while another task holds one of the image's PIDs or thread ids, which the shared machine's fast-"
      "turning PID counter causes now and then); ratios are taken within this one run."
      % (rel(d), m.get("rounds", "?"), m.get("rounds", "?")))
    w("")
    w("Machine: %s; load average before %s, after %s." % (machine_line(m), m.get("load_before", "?"),
                                                         m.get("load_after", "?")))
    w("")
    if pf:
        w("Page-fault floor of this machine (`dev.cryo.benchmarks.PageFaultFloor`, %s MiB of fresh memory, one "
          "write per 4 KiB page): **%s µs per 4 KiB page** (%s GB/s); with MADV_HUGEPAGE %s µs per 4 KiB (%s GB/s); "
          "the same memory written again: %s GB/s. An eager restore puts every page of the image into fresh memory: "
          "image pages x fault cost is the least it can take here."
          % (pf.get("touched_mib", "?"), pf.get("first_touch_us_per_4k", "?"), pf.get("first_touch_gb_per_s", "?"),
             pf.get("hugepage_first_touch_us_per_4k", "?"), pf.get("hugepage_first_touch_gb_per_s", "?"),
             pf.get("rewrite_gb_per_s", "?")))
        w("")
    w("| app | image | plain cold start | eager restore | lazy restore | cold / eager | cold / lazy | eager / lazy |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for app in apps:
        img = med(app, "eager", "image_bytes") or med(app, "cold", "image_bytes")
        c, e, l = med(app, "cold", "first_answer_ms"), med(app, "eager", "first_answer_ms"), med(app, "lazy", "first_answer_ms")
        w("| %s | %s | %s | %s | %s | %s | %s | **%s** |" % (app, mb(img) if img else "-", ms(c), ms(e), ms(l),
                                                           x(c, e), x(c, l), x(e, l)))
    w("")
    targets = []
    for app, goal in (("SlowStartService", "restore to first answer <= 100 ms"),
                      ("HeavyStartService", ">= 15x faster than its cold start")):
        best = min((v for v in (med(app, "eager", "first_answer_ms"), med(app, "lazy", "first_answer_ms")) if v),
                   default=None)
        cold = med(app, "cold", "first_answer_ms")
        if best is None:
            continue
        met = best <= 100 if app == "SlowStartService" else bool(cold and cold / best >= 15)
        got = ms(best) if app == "SlowStartService" else x(cold, best)
        targets.append("%s %s: %s, %s" % (app, goal, got, "met" if met else "**not met**"))
    if targets:
        w("Issue 13's targets for this machine, with the faster mode: " + "; ".join(targets) + ".")
        w("")
    w("Until all memory is resident (eager: when CRIU returns; lazy: when the daemon has copied every page "
      "and exited), against the floor for the image's pages:")
    w("")
    w("| app | eager: all resident | lazy: all resident | floor: image pages x fault cost "
      "| runs at the first attempt / restored / made (eager; lazy) |")
    w("|---|---:|---:|---:|---|")
    us = num(pf.get("first_touch_us_per_4k")) if pf else None
    for app in apps:
        img = med(app, "eager", "image_bytes")
        floor = img / 4096 * us / 1000 if img and us else None
        ce, cl = count(app, "eager"), count(app, "lazy")
        w("| %s | %s | %s | %s | %d/%d/%d; %d/%d/%d |" % ((app, ms(med(app, "eager", "all_resident_ms")),
                                                         ms(med(app, "lazy", "all_resident_ms")), ms(floor)) + ce + cl))
    w("")
    w("Where a restore's time goes (medians, ms): `bin/cryo`'s bash wrapper (from the fast-launch change on: until "
      "it hands over to the JVM; before, only until bash started, its own work counted in the JVM's start), the "
      "launcher JVM's start, the launcher's phases (`integrity`: waiting for the check of the image's contents "
      "against its manifest, started as early as the image is known; `restoreMode`: the mode's choice and "
      "everything up to it, stored files, the restore request, the subreaper; `lazyPagesReady`: waiting for the "
      "daemon, started before the request is prepared; '-': no such phase in that run), CRIU's restore, then the "
      "restored app until its first answer:")
    w("")
    w("| app | mode | wrapper | JVM start | %s | app to answer | first answer |" % " | ".join(PHASES))
    w("|---|---|---:|---:|%s---:|---:|" % ("---:|" * len(PHASES)))
    for app in apps:
        for mode in ("eager", "lazy"):
            cells = [med(app, mode, "phase_" + p) for p in PHASES]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                app, mode, ms(med(app, mode, "wrapper_ms")), ms(med(app, mode, "jvm_start_ms")),
                " | ".join(ms(v) for v in cells), ms(med(app, mode, "app_to_answer_ms")),
                ms(med(app, mode, "first_answer_ms"))))
    w("")
    return L


# ---------------------------------------------------------------- GPU

def read_gpu(d):
    rows = read_csv(os.path.join(d, "gpu.csv"))
    for r in rows:
        r["_dir"] = d
        for k in list(r):
            if k not in ("case", "_dir") and not k.endswith("_note"):
                v = num(r[k])
                r[k] = v if v is not None else r[k]
    return rows


def gpu_cases(rows):
    keys = []
    for r in rows:
        k = (r["case"], r.get("gib"))
        if k not in keys:
            keys.append(k)
    out = []
    for case, gib in keys:
        rs = [r for r in rows if r["case"] == case and r.get("gib") == gib]
        agg = {"case": case, "gib": gib, "runs": len(rs)}
        for col in sorted({c for r in rs for c in r}):
            if col in ("case", "gib", "run", "_dir"):
                continue
            vals = [r[col] for r in rs if isinstance(r.get(col), float)]
            agg[col] = median(vals)
        out.append(agg)
    return out


# ---------------------------------------------------------------- device memory (device/gpu-arena-bench.sh)

# The link and the peers' published figures (issue 11, ../shared/FACTS.md), GB/s host <-> device.
LINK_GBS = 55.0
PEERS = [
    ("NVIDIA Dynamo, restore through the stock driver (B200)", 8.0, 8.0),
    ("Dynamo GPU Memory Service, pinned buffers", 28 * 1.073741824, 35 * 1.073741824),
    ("a pinned host arena, per GPU", 44.0, 54.0),
]
GIB = 1.073741824  # GB per GiB


def arena_csvs(d):
    """The *arena.csv files under d, those of its experiments/ folder (settings tried and left) aside."""
    return sorted(p for p in glob.glob(os.path.join(d, "**", "*arena.csv"), recursive=True)
                  if "experiments" not in os.path.relpath(p, d).split(os.sep))


def newest_arena_dir():
    """The device/results/<dir> with arena.csv files whose runs started last (the date line of their logs)."""
    base = os.path.join(ROOT, "device", "results")
    def started(d):
        dates = [m.group(1) for log in glob.glob(os.path.join(d, "**", "*gpu-arena-bench.log"), recursive=True)
                 for m in [re.search(r"^date: (\S+)", open(log, errors="replace").read(), re.M)] if m]
        return (max(dates) if dates else "", os.path.basename(d))
    dirs = [d for d in glob.glob(os.path.join(base, "*")) if os.path.isdir(d) and arena_csvs(d)]
    return max(dirs, key=started) if dirs else None


def read_arena(d):
    """Every *arena.csv under d, each row tagged with its run (sub-directory or file prefix)."""
    rows = []
    for path in arena_csvs(d):
        sub = os.path.relpath(os.path.dirname(path), d)
        prefix = os.path.basename(path)[:-len("arena.csv")].rstrip("-")
        run = "/".join(x for x in (sub if sub != "." else "", prefix) if x) or "."
        # GEN=1 runs: the sample generated its weights on the GPU, so their cold start reads none.
        log = os.path.join(os.path.dirname(path), (prefix + "-" if prefix else "") + "gpu-arena-bench.log")
        generated = os.path.exists(log) and "generated on the GPU" in open(log, errors="replace").read()
        for r in read_csv(path):
            r["_gen"] = generated
            for k in list(r):
                if k != "case":
                    v = num(r[k])
                    r[k] = v if v is not None else None
            r["_run"] = run
            rows.append(r)
    return rows


def rate(gib, ms):
    return gib * GIB / (ms / 1000) if gib and ms else None


def arena_charts(rows):
    import matplotlib.pyplot as plt  # charts() chose the backend
    made = []
    fig, ax = plt.subplots(figsize=(8, 4.8))
    styles = {"managed": ("#2c6fbb", "restore, DeviceMemory (Cryo's pipeline)"),
              "managed-mapped": ("#6aa0d8", "restore, DeviceMemory (mapped fill)"),
              "driver": ("#c0392b", "restore, cuMemAlloc (driver's checkpoint)"),
              "driver-direct": ("#e67e22", "restore, cuMemAlloc (GPU memory files O_DIRECT)")}
    gibs = sorted({r["gib"] for r in rows if r.get("gib")})
    for case, (color, label) in styles.items():
        pts = []
        for g in gibs:
            v = [r["restore_ms"] / 1000 for r in rows if r["case"] == case and r["gib"] == g and r.get("restore_ms")]
            if v:
                pts.append((g, median(v), min(v), max(v)))
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                        yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                        marker="o", color=color, label=label, capsize=3)
    cold = []
    for g in gibs:
        v = [r["cold_ms"] / 1000 for r in rows
             if r["case"] == "managed" and r["gib"] == g and r.get("cold_ms") and not r["_gen"]]
        if v:
            cold.append((g, median(v), min(v), max(v)))
    if cold:  # min-max bars: a fresh machine's first start also fills the driver's JIT cache
        ax.errorbar([c[0] for c in cold], [c[1] for c in cold],
                    yerr=[[c[1] - c[2] for c in cold], [c[3] - c[1] for c in cold]], fmt="--", color="#777777",
                    marker="s", capsize=3, label="cold start (weights through the same pipeline)")
    ax.plot(gibs, [g * GIB / LINK_GBS for g in gibs], ":", color="black",
            label="the weights once over the link (55 GB/s)")
    targets = [(16, 1.5), (32, 2.5)]
    ax.plot([t[0] for t in targets if t[0] in gibs], [t[1] for t in targets if t[0] in gibs], "x", color="red",
            markersize=10, mew=2, label="issue 11 targets")
    ax.set_yscale("log")
    finish_gib_chart(fig, ax, [{"gib": g} for g in gibs], "GiB of weights in device memory",
                     "seconds to first inference", "H200: restore to first inference (median, min-max over runs; "
                     "page cache warm)", "gpu-device-memory-restore.png")
    made.append("gpu-device-memory-restore.png")

    fig, ax = plt.subplots(figsize=(8, 4.2))
    top = max(gibs) if gibs else None
    at16 = [r for r in rows if r["gib"] == 16] or [r for r in rows if r["gib"] == top]
    bars = []
    def span(case, col):
        v = [rate(r["gib"], r.get(col)) for r in at16 if r["case"] == case and r.get(col)]
        v = [x for x in v if x]
        return (min(v), max(v)) if v else None
    for label, case, col, color in (
            ("Cryo: fill at restore", "managed", "restore_dm_ms", "#2c6fbb"),
            ("Cryo: copy out at checkpoint", "managed", "dm_out_ms", "#6aa0d8"),
            ("driver: checkpoint (device to host)", "driver", "gpu_suspend_ms", "#c0392b"),
            ("driver: restore (host to device)", "driver", "restore_gpu_ms", "#e08e86")):
        sp = span(case, col)
        if sp:
            bars.append((label, sp, color))
    for label, lo, hi in PEERS:
        bars.append((label, (lo, hi), "#999999"))
    for i, (label, (lo, hi), color) in enumerate(bars):
        ax.barh(i, hi, color=color, alpha=0.45)
        ax.barh(i, lo, color=color)
    ax.axvline(LINK_GBS, color="black", linestyle=":", label="PCIe Gen5 link, pinned (55 GB/s)")
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[0] for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("GB/s (dark: lowest run, light: highest)")
    ax.set_title("%s GiB: device memory GB/s, Cryo's runs and the peers' published figures"
                 % ("16" if any(r["gib"] == 16 for r in rows) else top), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "gpu-device-memory-rates.png"), dpi=120)
    plt.close(fig)
    made.append("gpu-device-memory-rates.png")
    return made


def arena_lines(d, rows):
    """The section on device memory that Cryo moves itself, from device/gpu-arena-bench.sh runs."""
    L = []
    w = L.append
    w("## Device memory that Cryo moves itself (H200)")
    w("")
    w("Results: `%s/` (`device/gpu-arena-bench.sh`; one run per figure; its README says how and on which machine "
      "each run was made). Machine: %s." % (rel(d), machine_line(read_machine_file(
          next(iter(sorted(glob.glob(os.path.join(d, "**", "*machine.txt"), recursive=True))), ""))) or "see the results"))
    w("")
    w("`DeviceMemory`: the sample's weights allocated through Cryo's API, copied out by Cryo through pinned "
      "buffers and filled back at the same address; `driver`: the same weights in `cuMemAlloc` memory, moved by "
      "the driver's checkpoint. Times from process start (restores: from starting `bin/cryo run`) to the first "
      "inference, page cache warm unless the column says dropped; GB/s of the weights (GiB x 1.0737 / s); "
      "link 55 GB/s; driver ckpt and driver restore: GB/s of the weights where the driver moves them, ms of its "
      "~0.5 GB where `DeviceMemory` holds them. Every restore verified bit for bit unless marked.")
    w("")
    w("| run | case | GiB | cold | restore | cold / restore | checkpoint | copy out | fill | driver ckpt | driver restore | dropped: cold | dropped: restore |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    def ms(v):
        return "%.0f" % v if v else "-"
    def gbs(v):
        return "%.1f" % v if v else "-"
    for r in sorted(rows, key=lambda r: (r["_run"], r["gib"] or 0, r["case"])):
        ok = "" if (r.get("verify_ok") or 0) >= 1 else " (VERIFY?)"
        managed = r["case"].startswith("managed")
        rr = r["cold_ms"] / r["restore_ms"] if r.get("cold_ms") and r.get("restore_ms") else None
        w("| %s | %s | %g | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["_run"], r["case"] + (" (weights generated)" if r["_gen"] else ""), r["gib"], ms(r.get("cold_ms")), ms(r.get("restore_ms")), ok,
            "%.2fx" % rr if rr else "-", ms(r.get("checkpoint_ms")),
            gbs(rate(r["gib"], r.get("dm_out_ms"))) if managed else "-",
            gbs(rate(r["gib"], r.get("restore_dm_ms"))) if managed else "-",
            # the driver moves the weights only on the driver path; beside DeviceMemory only its ~0.5 GB
            "%s ms" % ms(r.get("gpu_suspend_ms")) if managed else gbs(rate(r["gib"], r.get("gpu_suspend_ms"))),
            "%s ms" % ms(r.get("restore_gpu_ms")) if managed else gbs(rate(r["gib"], r.get("restore_gpu_ms"))),
            ms(r.get("cold_dropped_ms")),
            ms(r.get("restore_dropped_ms"))))
    w("")
    w("![device memory: restore against size](img/gpu-device-memory-restore.png)")
    w("")
    w("![device memory: GB/s against the link and the peers](img/gpu-device-memory-rates.png)")
    w("")
    return L


# ---------------------------------------------------------------- charts

def moves_data(step):
    """Whether a step's time is spent moving the image's bytes (dump, GPU suspend/restore, ...)."""
    low = step.lower()
    if low.startswith(("before", "after")) or low in ("gc", "commit") or "lock" in low or "refresh" in low:
        return False
    return any(w in low for w in ("dump", "suspend", "checkpoint", "restore", "copy", "write", "read"))


def finish_gib_chart(fig, ax, gs, xlabel, ylabel, title, name):
    """The GPU charts' common part: GiB on a log2 axis with a tick per size, labels, legend, saved PNG."""
    import matplotlib.pyplot as plt  # charts() chose the backend
    ax.set_xscale("log", base=2)
    gibs = sorted({g["gib"] for g in gs})
    ax.set_xticks(gibs)
    ax.set_xticklabels(["%g" % x for x in gibs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, name), dpi=120)
    plt.close(fig)
    return name


def gpu_machine(rows):
    m = read_machine(gpu_dir_of(rows))
    return "%s, driver %s, %s cores" % (m.get("gpu", "?"), m.get("driver", "?"), m.get("cores", "?"))


def gpu_dir_of(rows):
    return rows[0].get("_dir") if rows else None


def charts(cpu, gpu_rows, arena_rows=()):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(IMG, exist_ok=True)
    made = arena_charts(arena_rows) if arena_rows else []
    cases = [cpu.case(a) for a in cpu.apps]
    machine = cpu.machine.get("cpu", "?") + ", " + cpu.machine.get("cores", "?") + " cores"

    # 1. restore vs cold, per case
    fig, ax = plt.subplots(figsize=(8, 4.5))
    series = [("cold", "plain cold start", "#999999"), ("ckpt", "checkpointing start (bin/cryo, first run)", "#e3a33b"),
              ("restore_nogc", "restore, image without GC", "#8fb3d9"), ("restore", "restore (GC before dump)", "#2c6fbb")]
    width = 0.2
    for i, (key, label, color) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for j, c in enumerate(cases):
            if c[key]:
                r = c[key]
                raw = r["raw"] or [r["score"]]
                xs.append(j + (i - 1.5) * width)
                ys.append(r["score"] / 1000)
                lo.append(max(0.0, r["score"] - min(raw)) / 1000)
                hi.append(max(0.0, max(raw) - r["score"]) / 1000)
        bars = ax.bar(xs, ys, width, yerr=[lo, hi], label=label, color=color, capsize=3)
        for b, y, h in zip(bars, ys, hi):
            ax.annotate("%.2f" % y, (b.get_x() + b.get_width() / 2, y + h), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels(["%s\nrestore %.1fx faster" % (c["app"], ratio(c["cold"], c["restore"]) or 0) for c in cases])
    ax.set_ylabel("seconds from process start to first answer")
    ax.set_title("Cryo: restore vs cold start (JMH single-shot: mean, whiskers min-max of the samples)\n" + machine, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "restore-vs-cold.png"), dpi=120)
    plt.close(fig)
    made.append("restore-vs-cold.png")

    # 2. restore time against image size (log-log, with CRIUgpu's published points)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    markers = {"SlowStartService": "o", "HeavyStartService": "s"}
    palette = ["#2c6fbb", "#e3a33b", "#8e44ad", "#16a085"]
    for n, app in enumerate(cpu.apps):
        color = palette[n % len(palette)]
        for gc, fill in (("true", True), ("false", False)):
            rr = [r for r in cpu.restores if r["app"] == app and r["gc"] == gc]
            if not rr:
                continue
            xs = [float(r["image_bytes"]) / 1e9 for r in rr]
            ys = [float(r["launcher_restore_ms"]) / 1000 for r in rr]
            ax.scatter(xs, ys, marker=markers.get(app, "^"), facecolors=color if fill else "none",
                       edgecolors=color, label="%s, %s (CPU)" % (app, "GC" if fill else "no GC"), alpha=0.7)
    if gpu_rows:
        for label, pick, color in (("GPU sample, GPU memory files (H100)", lambda c: "memory-files" in c, "#3a9e4f"),
                                   ("GPU sample, GPU memory in CRIU's pages (H100)", lambda c: "memory-files" not in c,
                                    "#8e44ad")):
            pts = [(r["image_bytes"] / 1e9, r["restore_ms"] / 1000) for r in gpu_rows if pick(r["case"])
                   and isinstance(r.get("image_bytes"), float) and isinstance(r.get("restore_ms"), float)]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker="D", color=color,
                           label=label + ", to first answer")
    for label, gpu, ck, rs, gb in CRIUGPU:
        ax.scatter([gb], [rs], marker="*", s=120, color="#c0392b")
        ax.annotate("CRIUgpu %s on %s" % (label, gpu), (gb, rs), fontsize=7, xytext=(-10, 6),
                    textcoords="offset points", ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=max(ax.get_ylim()[1], 500))
    ax.set_xlabel("image size (GB)")
    ax.set_ylabel("restore time (s)")
    ax.set_title("Restore time against image size (CPU: launcher's restore time; * = CRIUgpu, published)",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(os.path.join(IMG, "restore-vs-image-size.png"), dpi=120)
    plt.close(fig)
    made.append("restore-vs-image-size.png")

    # 3. GB/s of each step that moves the image's bytes (not gc, commit, lock/unlock, resource calls)
    def step_chart(labels, values, colors, title, filename):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ax.bar(range(len(values)), values, color=colors)
        for i, v in enumerate(values):
            ax.annotate("%.2f" % v, (i, v), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
        ax.set_ylabel("GB per second of step time")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(IMG, filename), dpi=120)
        plt.close(fig)
        made.append(filename)

    labels, values, colors = [], [], []
    for c in cases:
        for suffix, tag in (("", "GC"), ("_nogc", "no GC")):
            b = c["image_bytes" + suffix]
            if not b:
                continue
            for step, ms in sorted(c["steps" + suffix].items()):
                if ms and moves_data(step):
                    labels.append("%s, %s\n%s" % (c["app"].replace("Service", ""), tag, step))
                    values.append(b / 1e9 / (ms / 1000))
                    colors.append("#e3a33b")
            if c["launcher_ms" + suffix]:
                labels.append("%s, %s\nrestore (launcher)" % (c["app"].replace("Service", ""), tag))
                values.append(c["restore_image_bytes" + suffix] / 1e9 / (c["launcher_ms" + suffix] / 1000))
                colors.append("#2c6fbb")
    step_chart(labels, values, colors, "CPU: image bytes / step time, medians (orange: checkpoint's dump, blue: "
               "whole restore)\n" + machine, "step-throughput.png")

    if gpu_rows:
        gs = gpu_cases(gpu_rows)
        fig, ax = plt.subplots(figsize=(8, 4.8))
        series = [  # (case, column, label): GB of the image moved per second of the step
            ("criu-pages", "step_gpuSuspend_ms", "CUDA checkpoint (device -> host)"),
            ("criu-pages", "step_criuDump_ms", "CRIU dump, GPU memory among its pages"),
            ("memory-files", "step_gpuMemoryFiles_ms", "GPU memory files written (8 threads)"),
            ("criu-pages", "restore_criuRestore_ms", "CRIU restore, GPU memory among its pages"),
            ("memory-files", "restore_gpuMemoryFiles_ms", "GPU memory files read (8 threads, huge pages)"),
            ("criu-pages", "restore_gpuRestore_ms", "CUDA restore (host -> device), small pages"),
            ("memory-files", "restore_gpuRestore_ms", "CUDA restore (host -> device), huge pages"),
        ]
        for n, (case, col, label) in enumerate(series):
            pts = sorted((g["gib"], g["image_bytes"] / 1e9 / (g[col] / 1000)) for g in gs
                         if g["case"] == case and g.get(col) and g.get("image_bytes"))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        made.append(finish_gib_chart(fig, ax, gs, "GiB of device memory held by the app (page cache warm)",
                                     "GB/s (image bytes / step time)",
                                     "GPU sample: throughput of each step (%s)" % gpu_machine(gpu_rows),
                                     "gpu-step-throughput.png"))

    # 4. GPU: restore and cold start against the GiB held, one line per case
    if gpu_rows:
        gs = gpu_cases(gpu_rows)
        fig, ax = plt.subplots(figsize=(8, 4.8))
        palette = ["#c0392b", "#3a9e4f", "#e3a33b", "#2c6fbb", "#8e44ad", "#16a085"]
        cases = []
        for g in gs:
            if g["case"] not in cases:
                cases.append(g["case"])
        for n, case in enumerate(cases):
            pts = sorted((g["gib"], g["restore_ms"] / 1000) for g in gs if g["case"] == case and g.get("restore_ms"))
            style = "--" if "dropped" in case else "-"
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", color=palette[n % len(palette)],
                    label="restore, " + case)
        for label, pick in (("cold start, page cache warm", lambda c: "dropped" not in c),
                            ("cold start, page cache dropped", lambda c: "dropped" in c)):
            pts = {}
            for g in gs:
                if pick(g["case"]) and g.get("cold_ms"):
                    pts.setdefault(g["gib"], g["cold_ms"] / 1000)
            if pts:
                xs = sorted(pts)
                ax.plot(xs, [pts[x] for x in xs], "--" if "dropped" in label else "-", marker="s", color="#777777",
                        label=label)
        made.append(finish_gib_chart(fig, ax, gs, "GiB of device memory held by the app",
                                     "seconds from start to first inference",
                                     "GPU sample: restore vs cold start (one run per point; %s)"
                                     % gpu_machine(gpu_rows), "gpu-restore-vs-cold.png"))
    return made


# ---------------------------------------------------------------- page

def rel(path):
    return os.path.relpath(path, ROOT)


def machine_line(m):
    keys = ["cpu", "cores", "memory", "kernel", "os", "jdk", "criu", "gpu", "driver"]
    return "; ".join("%s: %s" % (k, m[k]) for k in keys if m.get(k))


def gpu_before_after(gs, w):
    """The GPU tables for device/gpu-bench.sh's cases; False when the cases are not there."""
    by = {(g["case"], g["gib"]): g for g in gs}
    gibs = sorted({g["gib"] for g in gs if g["case"] == "memory-files"})
    if not gibs or not any(("criu-pages", x) in by for x in gibs):
        return False

    def ms(g, col):
        v = g.get(col) if g else None
        return "%.0f" % v if isinstance(v, float) else "-"

    def x(a, b):
        return "%.1fx" % (a / b) if isinstance(a, float) and isinstance(b, float) and b else "-"
    w("Each row: one run per figure, all in one session on the machine above; ms from process start to the "
      "first inference (restores: from starting `bin/cryo run`). `criu-pages`: the GPU memory's host copy "
      "among CRIU's pages (`-Dcryo.gpu.memoryFiles=false`, how Cryo worked before); `memory-files`: in files "
      "of its own, read back in parallel into huge pages (the default now). Every restore was verified bit for "
      "bit (`verify_ok`).")
    w("")
    w("**Page cache warm** (the image and the weights file in memory: a node that just wrote or prefetched them)")
    w("")
    w("| GiB | cold start | restore, criu-pages | restore, memory-files | memory-files speed-up | cold / restore |")
    w("|---:|---:|---:|---:|---:|---:|")
    for gib in gibs:
        a, b = by.get(("criu-pages", gib)), by.get(("memory-files", gib))
        w("| %g | %s | %s | %s | **%s** | %s |" % (gib, ms(b, "cold_ms"), ms(a, "restore_ms"), ms(b, "restore_ms"),
                                              x(a and a.get("restore_ms"), b.get("restore_ms")),
                                              x(b.get("cold_ms"), b.get("restore_ms"))))
    w("")
    if any(("memory-files-dropped", g) in by for g in gibs):
        w("**Page cache dropped** (image and weights read from the disk, about 1.5 GB/s here)")
        w("")
        w("| GiB | cold start | restore, criu-pages | restore, memory-files | cold / restore |")
        w("|---:|---:|---:|---:|---:|")
        for gib in gibs:
            a, b = by.get(("criu-pages-dropped", gib)), by.get(("memory-files-dropped", gib))
            if b:
                w("| %g | %s | %s | %s | %s |" % (gib, ms(b, "cold_ms"), ms(a, "restore_ms"), ms(b, "restore_ms"),
                                                 x(b.get("cold_ms"), b.get("restore_ms"))))
        w("")
    w("**Where the time goes** (ms, page cache warm; checkpoint steps from the image's metadata, restore steps "
      "from the launcher's and the restored process's timing lines)")
    w("")
    w("| GiB | image | CUDA checkpoint | CRIU dump (pages / files) | memory files written | whole checkpoint "
      "(pages / files) | launcher before CRIU | CRIU restore (pages / files) | memory files read | CUDA restore "
      "(pages / files) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for gib in gibs:
        a, b = by.get(("criu-pages", gib)) or {}, by.get(("memory-files", gib))
        w("| %g | %s | %s | %s / %s | %s | %s / %s | %s | %s / %s | %s | %s / %s |" % (
            gib, mb(b.get("image_bytes")), ms(b, "step_gpuSuspend_ms"), ms(a, "step_criuDump_ms"),
            ms(b, "step_criuDump_ms"), ms(b, "step_gpuMemoryFiles_ms"), ms(a, "checkpoint_ms"), ms(b, "checkpoint_ms"),
            ms(b, "launcher_before_criu_ms"), ms(a, "restore_criuRestore_ms"), ms(b, "restore_criuRestore_ms"),
            ms(b, "restore_gpuMemoryFiles_ms"), ms(a, "restore_gpuRestore_ms"), ms(b, "restore_gpuRestore_ms")))
    w("")
    return True


def page(cpu, gpu_dir, gpu_rows, made, all_cpu_dirs=(), arena=None):
    L = []
    w = L.append
    w("# Cryo benchmarks")
    w("")
    w("Generated by `benchmarks/report/make_report.py` from the result files named below; do not edit by hand.")
    w("")
    w("## How to reproduce")
    w("")
    w("```")
    w("bin/bench                        # CPU benchmarks: writes benchmarks/results/cpu/<date>/, prints the ratios")
    w("bin/bench --quick                # a smoke run (one fork, one iteration each), not for quoting")
    w("/usr/bin/python3 benchmarks/report/make_report.py   # this page and docs/img/*.png from the newest results")
    w("benchmarks/scripts/restore-modes.sh 7      # eager vs lazy restore, step by step: results/cpu/<date>-restore-modes/")
    w("benchmarks/scripts/image-size.sh           # image size under JVM flag sets (docs/image-size.md)")
    w("```")
    w("")
    w("`bin/bench` runs the JMH benchmarks of `benchmarks/src/main/java/dev/cryo/benchmarks/` "
      "(`java -jar benchmarks/target/benchmarks.jar`, JMH JSON in `jmh.json`):")
    w("")
    w("- **RestoreVsCold** (single-shot): process start to the first-answer line "
      "(`CRYO-TIME first_answer_epoch_ms=`) on its stdout, for a plain cold start (`--no-checkpoint`, no Cryo) "
      "and for `bin/cryo run` restoring an image written in the trial's setup, with and without the GC step "
      "(`-Dcryo.noGc=true`). Each invocation's processes are waited for outside the clock. The image files are "
      "in the page cache (the setup just wrote them): these are warm-cache restores.")
    w("- **CheckpointCost** (single-shot): the checkpointing start, `bin/cryo run` into an empty image directory "
      "(build, checkpoint, answer); each image's `cryo-image.properties` (`image.bytes`, `resident.bytes`, "
      "`step.<name>.millis`) goes to `images.csv`.")
    w("- **Overhead** (throughput): SHA-256 over 4 MB plus sorting 512 Ki ints, in JVMs without Cryo and with "
      "Cryo loaded (`Checkpointer` initialized, resources registered, no checkpoint).")
    w("")
    w("The apps are `dev.cryo.samples.SlowStartService` (builds a 400,000-document search index: hundreds of MB "
      "of live heap) and `dev.cryo.samples.HeavyStartService` (a framework-like start: compiles 300 generated "
      "components with javac in memory, loads the 1,800 resulting classes, about 6,500 classes in all, and "
      "warms the JIT), both run as `bin/demo` runs them.")
    w("")
    w("## CPU results")
    w("")
    w("Results: `%s/` (jmh.json, images.csv, restores.csv, machine.txt)." % rel(cpu.dir))
    w("")
    w("Machine: %s." % machine_line(cpu.machine))
    w("")
    w("All CPU figures come from this one `bin/bench` run: compare numbers within it. The machine may be "
      "shared and noisy; JMH's error columns show how much, and a single-shot sample of a multi-second start "
      "can vary by tens of percent.")
    if cpu.machine.get("note"):
        w("")
        w(cpu.machine["note"])
    w("")
    w("### Restore vs cold start (to the first answer)")
    w("")
    w("| app | plain cold start | checkpointing start | restore | restore, image without GC | cold / restore |")
    w("|---|---:|---:|---:|---:|---:|")
    for app in cpu.apps:
        c = cpu.case(app)
        r = ratio(c["cold"], c["restore"])
        w("| %s | %s | %s | %s | %s | **%s** |" % (app, fmt_ms(c["cold"]), fmt_ms(c["ckpt"]), fmt_ms(c["restore"]),
                                                   fmt_ms(c["restore_nogc"]), "%.1fx" % r if r else "-"))
    w("")
    w("Mean ± JMH's 99.9%% confidence half-interval (the chart's whiskers: min-max of the samples); %s." % ", ".join(
        "%s: %d samples" % (n, len(v["raw"])) for n, v in
        [("cold", jmh_get(cpu.jmh, "RestoreVsCold.cold")), ("restore", jmh_get(cpu.jmh, "RestoreVsCold.restore")),
         ("checkpointing start", jmh_get(cpu.jmh, "CheckpointCost.checkpointStart"))] if v))
    w("The checkpointing start has few samples (each writes a new image), hence its wide interval; the "
      "checkpoint's own time is the \"checkpoint\" column of the next table.")
    w("")
    w("![restore vs cold](img/restore-vs-cold.png)")
    w("")
    w("### Checkpoint cost, image size and the GC step")
    w("")
    w("Medians over the images written by CheckpointCost (`images.csv`); checkpoint = the whole "
      "`checkpointNow()` as its log line `Checkpoint image <id> written to <path>: <size> in <ms> ms` gives it; "
      "launcher restore time = "
      "`cryo: restored image <id> in <ms> ms` (launcher start until CRIU's restore returned), median over the "
      "restore invocations (`restores.csv`).")
    w("")
    w("| app | GC before dump | image | resident memory | checkpoint | checkpoint steps (ms) | launcher restore | restore to first answer |")
    w("|---|---|---:|---:|---:|---|---:|---:|")
    for app in cpu.apps:
        c = cpu.case(app)
        for suffix, tag, rk in (("", "yes (default)", "restore"), ("_nogc", "no (`-Dcryo.noGc=true`)", "restore_nogc")):
            steps = ", ".join("%s %.0f" % (k, v) for k, v in c["steps" + suffix].items())
            w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                app, tag, mb(c["image_bytes" + suffix]), mb(c["resident_bytes" + suffix]),
                "%.0f ms" % c["checkpoint_ms" + suffix] if c["checkpoint_ms" + suffix] else "-", steps or "-",
                "%.0f ms" % c["launcher_ms" + suffix] if c["launcher_ms" + suffix] else "-", fmt_ms(c[rk])))
    w("")
    gc_lines = []
    for app in cpu.apps:
        c = cpu.case(app)
        if c["image_bytes"] and c["image_bytes_nogc"] and c["launcher_ms"] and c["launcher_ms_nogc"]:
            gc_lines.append("%s: the GC step makes the image %.2fx smaller (%s -> %s) and the launcher's restore "
                            "%.2fx faster (%.0f -> %.0f ms)" % (
                                app, c["image_bytes_nogc"] / c["image_bytes"], mb(c["image_bytes_nogc"]),
                                mb(c["image_bytes"]), c["launcher_ms_nogc"] / c["launcher_ms"],
                                c["launcher_ms_nogc"], c["launcher_ms"]))
    if gc_lines:
        w("Before/after of \"make the image small\" (GC before the dump): " + "; ".join(gc_lines) + ".")
        w("")
    w("![restore vs image size](img/restore-vs-image-size.png)")
    w("")
    w("![step throughput](img/step-throughput.png)")
    w("")
    w("### Overhead of having Cryo in the JVM")
    w("")
    off, on = cpu.overhead()
    if off and on:
        w("| JVM | workload throughput |")
        w("|---|---:|")
        w("| without Cryo | %.1f ± %.1f ops/s |" % (off["score"], err(off["error"])))
        w("| Cryo loaded, no checkpoint | %.1f ± %.1f ops/s |" % (on["score"], err(on["error"])))
        diff = on["score"] - off["score"]
        noise = err(on["error"]) + err(off["error"])
        w("")
        w("Ratio with/without: **%.3f**; the difference (%.1f ops/s) is %s the two error bars (%.1f ops/s together)." % (
            on["score"] / off["score"], diff, "within" if abs(diff) <= noise else "BEYOND", noise))
    w("")
    others = [d for d in all_cpu_dirs if os.path.abspath(d) != os.path.abspath(cpu.dir)]
    if others:
        w("### Every CPU run kept")
        w("")
        w("The tables above are from the newest run; the cold / restore ratios and the overhead ratio of every "
          "run in `benchmarks/results/cpu/` show how far they move from run to run on this kind of machine.")
        w("")
        w("| run | machine | %s | overhead ratio |" % " | ".join("%s cold / restore" % a for a in cpu.apps))
        w("|---|---|%s---:|" % ("---:|" * len(cpu.apps)))
        for d in all_cpu_dirs:
            run = Cpu(d)
            cells = []
            for app in cpu.apps:
                c = run.case(app)
                r = ratio(c["cold"], c["restore"])
                cells.append("%.1fx" % r if r else "-")
            off, on = run.overhead()
            w("| `%s` | %s, %s cores | %s | %s |" % (os.path.basename(d), run.machine.get("cpu", "?"),
                                                 run.machine.get("cores", "?"), " | ".join(cells),
                                                 "%.3f" % (on["score"] / off["score"]) if off and on else "-"))
        w("")
    for modes_dir in newest_restore_modes(2):
        L.extend(restore_modes_lines(modes_dir))
    if gpu_rows:
        gm = read_machine(gpu_dir)
        w("## GPU results")
        w("")
        w("Results: `%s/gpu.csv`." % rel(gpu_dir))
        w("")
        w("Machine: %s." % (machine_line(gm) or "see the results directory"))
        w("")
        gs = gpu_cases(gpu_rows)
        if gpu_before_after(gs, w):
            gs = []  # the specific tables said it all
        cols = sorted({k for g in gs for k in g if k.startswith(("step_", "restore_")) and k != "restore_ms"})
        def colname(c):
            return "%s (%s)" % (c.split("_", 1)[1][:-3], "checkpoint step" if c.startswith("step_") else "restore step")
        if gs:
            w("| case | GiB | runs | cold | restore | cold / restore | checkpoint | image | %s |" % " | ".join(
                colname(c) for c in cols))
            w("|---|---:|---:|---:|---:|---:|---:|---:|%s" % ("---:|" * len(cols)))
        for g in gs:
            def ms(v):
                return "%.0f ms" % v if isinstance(v, float) else "-"
            rr = g["cold_ms"] / g["restore_ms"] if g.get("cold_ms") and g.get("restore_ms") else None
            w("| %s | %g | %d | %s | %s | %s | %s | %s | %s |" % (
                g["case"], g["gib"], g["runs"], ms(g.get("cold_ms")), ms(g.get("restore_ms")),
                "%.1fx" % rr if rr else "-", ms(g.get("checkpoint_ms")), mb(g.get("image_bytes")),
                " | ".join(ms(g.get(c)) for c in cols)))
        w("")
        w("![GPU restore vs cold](img/gpu-restore-vs-cold.png)")
        w("")
        w("![GPU step throughput](img/gpu-step-throughput.png)")
        w("")
    if arena and arena[1]:
        L.extend(arena_lines(*arena))
    w("## Compared with CRIUgpu's published figures")
    w("")
    w("\"GPU Container Checkpoint/Restore with CRIUgpu: Zero-Downtime Live Migration for ML Workloads\" "
      "(Debo Ray, July 11, 2025) quotes these figures from the CRIUgpu work (CRIU with NVIDIA's "
      "cuda-checkpoint, containers):")
    w("")
    w("| workload | GPU | checkpoint | restore | image | checkpoint rate | restore rate |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for label, gpu, ck, rs, gb in CRIUGPU:
        w("| %s | %s | %d s | %d s | %d GB | %.2f GB/s | %.2f GB/s |" % (label, gpu, ck, rs, gb, gb / ck, gb / rs))
    w("")
    w("and for multi-GPU scaling %s." % ", ".join("%s: %d s checkpoint, %d s restore" % s for s in CRIUGPU_SCALING))
    w("")
    para = ("LLaMA 3.1 8B on an H100 restores its 56 GB image in 39 s, about %.2f GB/s, and checkpoints at "
            "about %.2f GB/s." % (56 / 39, 56 / 77))
    cpu_rates = []
    for app in cpu.apps:
        c = cpu.case(app)
        if c["launcher_ms"] and c["restore_image_bytes"]:
            cpu_rates.append("%s restores %s in %.0f ms (%.2f GB/s)" % (
                app, mb(c["restore_image_bytes"]), c["launcher_ms"],
                c["restore_image_bytes"] / 1e9 / (c["launcher_ms"] / 1000)))
    if cpu_rates:
        para += (" Cryo's CPU images here are far smaller: " + "; ".join(cpu_rates) + ". At that size fixed "
                 "costs (starting the launcher JVM, CRIU's set-up of the process tree) are a large share of the "
                 "restore, so the GB/s figures are not comparable with CRIUgpu's, which are dominated by copying GPU memory; what the CPU numbers "
                 "show is the start-up time saved (the cold / restore column), which grows with the work the "
                 "app does before its first answer, not with its image size.")
    if gpu_rows:
        gs = [g for g in gpu_cases(gpu_rows) if g.get("restore_ms") and g.get("image_bytes")]
        top = max((g["gib"] for g in gs), default=None)
        gs = [g for g in gs if g["gib"] == top]
        if gs:
            para += (" Cryo's GPU sample on an H100, with the largest state measured (%g GiB), start to first "
                     "inference: " % top) + "; ".join(
                "%s: a %s image in %.1f s (%.2f GB/s)" % (
                    g["case"], mb(g["image_bytes"]), g["restore_ms"] / 1000,
                    g["image_bytes"] / 1e9 / (g["restore_ms"] / 1000)) for g in gs) + (
                ". With the GPU memory among CRIU's pages (as CRIUgpu restores it) Cryo's rate is close to"
                " CRIUgpu's; GPU memory files lift it about threefold when the image is in memory.")
    else:
        para += (" No GPU results are in this report yet (no `device/results/bench/<date>/gpu.csv`); the "
                 "like-for-like comparison with CRIUgpu needs them.")
    para += (" Different machines, storage and workloads (CRIUgpu's figures are for containers whose "
             "images are 96-97% GPU memory): read the comparison as orders of magnitude, not as a race.")
    w(para)
    w("")
    # Hand-written analysis of where the time goes, with its result files.
    analysis = os.path.join(ROOT, "benchmarks", "report", "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            L.append(f.read().rstrip("\n"))
        w("")
    with open(DOC, "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", help="a benchmarks/results/cpu/<date> directory (default: the newest)")
    ap.add_argument("--gpu", help="a device/results/bench/<date> directory (default: the newest with gpu.csv)")
    ap.add_argument("--arena", help="a device/results/<dir> of device/gpu-arena-bench.sh runs (default: the newest)")
    ap.add_argument("--summary", metavar="DIR", help="print the ratios of one CPU results directory and exit")
    ap.add_argument("--restore-modes", metavar="DIR", help="print the eager/lazy section of one restore-modes run")
    ap.add_argument("--restore-modes-csv", nargs=2, metavar=("INDEX", "DIR"),
                    help="(for restore-modes.sh) write DIR/restore-modes.csv from its run index and logs")
    a = ap.parse_args()
    if a.restore_modes_csv:
        restore_modes_csv(*a.restore_modes_csv)
        return 0
    if a.restore_modes:
        print("\n".join(restore_modes_lines(a.restore_modes)))
        return 0
    if a.summary:
        for line in summary_lines(Cpu(a.summary)):
            print(line)
        return 0
    cpu_dirs = sorted(d for d in glob.glob(os.path.join(ROOT, "benchmarks", "results", "cpu", "*"))
                      if os.path.isfile(os.path.join(d, "jmh.json")) and "-quick" not in os.path.basename(d))
    cpu_dir = a.cpu or (cpu_dirs[-1] if cpu_dirs else None)
    if not cpu_dir:
        print("make_report: no CPU results in benchmarks/results/cpu/: run bin/bench first", file=sys.stderr)
        return 1
    gpu_csvs = sorted(glob.glob(os.path.join(ROOT, "device", "results", "bench", "*", "gpu.csv")))
    gpu_dir = a.gpu or (os.path.dirname(gpu_csvs[-1]) if gpu_csvs else None)
    gpu_rows = read_gpu(gpu_dir) if gpu_dir and os.path.exists(os.path.join(gpu_dir, "gpu.csv")) else []
    arena_dir = a.arena or newest_arena_dir()
    arena_rows = read_arena(arena_dir) if arena_dir else []
    cpu = Cpu(cpu_dir)
    made = charts(cpu, gpu_rows, arena_rows)
    page(cpu, gpu_dir, gpu_rows, made, cpu_dirs, (arena_dir, arena_rows))
    print("make_report: wrote %s and %s" % (rel(DOC), ", ".join("docs/img/" + m for m in made)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
