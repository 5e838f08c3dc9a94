#!/usr/bin/python3
"""A cost model of data-parallel training steps, fitted to measurements on this machine.

    t_step(N) = t_compute + t_comm(N)
    t_comm(N) = 2 (N - 1) alpha + 2 (N - 1) / N * bytes / beta      (ring all-reduce, no overlap)

t_compute is the step time of 1 rank on the larger MLP of bench/engine_scaling.sh (1024-512-256,
per-rank batch 512; weak scaling keeps the per-rank batch, so t_compute does not depend on N),
measured two ways: a 1-rank job alone on the machine, and two independent 1-rank jobs at once
(what each of 2 ranks on this 2-core machine gets when both compute: the cores share caches,
memory bandwidth and the host). The check uses both; the projection uses the side-by-side one,
and its efficiency is relative to a rank alone: t_compute(alone) / t_step(N).

alpha (latency per ring hop) and beta (bandwidth) are fitted per link to the gradient all-reduce
time of 2-rank runs with comm.bucket_mb=0 (no overlap: the whole all-reduce is exposed, so
sync_exposed_seconds / steps is its time) of two models of other sizes than the one predicted:
a 13-16-1 MLP (1 KB of gradients: latency) and 2048-1024-512 (11 MB: bandwidth), one point per
run: the line through the medians of the two sizes (alpha clipped at 0). At N = 2 the ring gives
t_comm = 2 alpha + bytes / beta.

The check: predicted vs measured 2-rank step time and all-reduce time of the 1024-512-256 model
(2.9 MB) on each link: shared memory, and veth between two network namespaces, uncapped and
capped with tc tbf. Then the projected throughput (N x per-rank batch / t_step) and weak-scaling
efficiency for N = 8..512 ranks if every hop were such a link: a table on stdout and a chart.

Input: the CSV that `POINTS=FILE bench/netns_scaling.sh` writes (one row per run). Without
--points this script runs bench/netns_scaling.sh itself (about 3 minutes, as root; its tables go
to stderr).

Usage: bench/cost_model.py [--points CSV] [--rounds N] [--png bench/cost_model.png]
Needs Debian's /usr/bin/python3 and python3-matplotlib (installed with apt-get when missing, as root).
"""
import argparse
import collections
import csv
import math
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = {"shm": "shared memory", "veth": "veth, uncapped"}


def label(link):
    return LABELS.get(link, link.replace("veth-", "veth, tbf "))


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        if os.geteuid() != 0:
            sys.exit("cost_model.py: needs /usr/bin/python3 with python3-matplotlib (apt-get install -y python3-matplotlib)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "python3-matplotlib"]
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=True)
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def measure(rounds):
    fd, path = tempfile.mkstemp(prefix="ectrain_points.", suffix=".csv")
    os.close(fd)
    print(f"measuring: POINTS={path} bench/netns_scaling.sh {rounds} (its tables on stderr)", file=sys.stderr)
    env = dict(os.environ, POINTS=path)
    subprocess.run([os.path.join(HERE, "netns_scaling.sh"), str(rounds)], env=env, stdout=sys.stderr, check=True)
    return path


def load(path):
    groups = collections.defaultdict(list)
    for row in csv.DictReader(open(path)):
        key = (row["link"], row["model"], int(row["ranks"]), float(row["bucket_mb"]))
        steps = float(row["steps"])
        groups[key].append({
            "step": float(row["train_seconds"]) / steps,
            "sync": float(row["sync_exposed_seconds"]) / steps,
            "bytes": float(row["sync_bytes_per_step"]),
            "batch": int(row["per_rank_batch"]),
            "foreign": float(row["foreign_load"]),
        })
    return groups


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def fit(small, large):
    """alpha and beta of t = 2 alpha + bytes / beta (a 2-rank ring: 2 hops) through the medians
    (bytes, t) of the small-message and the large-message runs. Where that line would need a
    negative latency (a tbf cap lets a small message through at once, from its burst allowance),
    alpha is 0 and beta comes from the large messages alone."""
    (bs, ts), (bl, tl) = small, large
    inv_beta = (tl - ts) / (bl - bs)
    alpha = (ts - bs * inv_beta) / 2
    if alpha < 0:
        alpha, inv_beta = 0.0, tl / bl
    return alpha, 1 / inv_beta


def t_comm(n, alpha, beta, nbytes):
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * nbytes / beta


def pct(pred, meas):
    return f"{(pred - meas) / meas * 100:+.0f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", help="CSV from POINTS=FILE bench/netns_scaling.sh (default: run it now)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of bench/netns_scaling.sh when measuring")
    ap.add_argument("--png", default=os.path.join(HERE, "cost_model.png"), help="chart path")
    ap.add_argument("--ranks", default="8,16,32,64,128,256,512", help="projected rank counts")
    args = ap.parse_args()
    plt = import_pyplot()
    points = args.points or measure(args.rounds)
    g = load(points)
    ranks = [int(n) for n in args.ranks.split(",")]

    alone = g[("r1", "mid", 1, 4.0)]
    side = g.get(("r1pair", "mid", 1, 4.0), alone)
    t_alone, t_side = med(alone, "step"), med(side, "step")
    batch = alone[0]["batch"]
    links = []
    for key in g:
        if key[1] == "mid" and key[2] == 2 and key[0] not in links:
            links.append(key[0])
    foreign = [r["foreign"] for runs in g.values() for r in runs]
    print(f"points: {points}; {sum(len(v) for v in g.values())} runs, foreign load median {statistics.median(foreign):.3f}, "
          f"max {max(foreign):.3f}")
    print(f"t_compute, MLP 1024-512-256, per-rank batch {batch}: alone {t_alone * 1e3:.2f} ms per step "
          f"({batch / t_alone:.0f} samples/s, {len(alone)} runs); two jobs side by side {t_side * 1e3:.2f} ms "
          f"({batch / t_side:.0f} samples/s each, {len(side)} runs): x{t_side / t_alone:.2f}")
    print()
    print("Fitted links (2 ranks, comm.bucket_mb 0; through the medians of the 1 KB and the 11 MB model):")
    print()
    print("| link | alpha, latency per hop (us) | beta, bandwidth (Gbit/s) | runs | worst single-run residual |")
    print("| --- | --- | --- | --- | --- |")
    model = {}
    for link in links:
        tiny, big = g[(link, "tiny", 2, 0.0)], g[(link, "big", 2, 0.0)]
        alpha, beta = fit((med(tiny, "bytes"), med(tiny, "sync")), (med(big, "bytes"), med(big, "sync")))
        pts = [(r["bytes"], r["sync"]) for r in tiny + big]
        model[link] = (alpha, beta)
        worst = max(abs(2 * alpha + b / beta - t) / t for b, t in pts)
        print(f"| {label(link)} | {alpha * 1e6:.1f} | {beta * 8 / 1e9:.3f} | {len(pts)} | {worst * 100:.0f}% |")
    print()
    print(f"Check on the 1024-512-256 model, 2 ranks, per-rank batch {batch}, comm.bucket_mb 0 (medians; error = "
          f"(predicted - measured) / measured):")
    print()
    print("| link | all-reduce predicted (ms) | measured (ms) | error | step predicted, t_compute alone (ms) | error "
          "| step predicted, side by side (ms) | error | step measured (ms) | 2 / 1 rank predicted (side by side) | measured |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for link in links:
        alpha, beta = model[link]
        b0 = g[(link, "mid", 2, 0.0)]
        comm = t_comm(2, alpha, beta, med(b0, "bytes"))
        sync, step = med(b0, "sync"), med(b0, "step")
        print(f"| {label(link)} | {comm * 1e3:.2f} | {sync * 1e3:.2f} | {pct(comm, sync)} | {(t_alone + comm) * 1e3:.1f} "
              f"| {pct(t_alone + comm, step)} | {(t_side + comm) * 1e3:.1f} | {pct(t_side + comm, step)} | {step * 1e3:.1f} "
              f"| {2 * t_alone / (t_side + comm):.2f} | {2 * t_alone / step:.2f} |")
    print()
    nbytes = med(g[(links[0], "mid", 2, 0.0)], "bytes")
    print(f"Projection, weak scaling (per-rank batch {batch}, {nbytes / 1e6:.2f} MB of gradients, ring all-reduce, no overlap, "
          f"t_compute side by side) if every hop were the link: samples/s (efficiency t_compute alone / t_step)")
    print()
    print("| link | " + " | ".join(f"N = {n}" for n in ranks) + " |")
    print("| --- | " + " | ".join("---" for _ in ranks) + " |")
    proj = {}
    for link in links:
        alpha, beta = model[link]
        steps = [t_side + t_comm(n, alpha, beta, nbytes) for n in ranks]
        proj[link] = ([n * batch / t for n, t in zip(ranks, steps)], [t_alone / t for t in steps])
        cells = [f"{thr:,.0f} ({eff * 100:.0f}%)" for thr, eff in zip(*proj[link])]
        print(f"| {label(link)} | " + " | ".join(cells) + " |")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    ticks = [2] + ranks  # N = 2: the measured points (x), beside the model's line
    dense = [2 ** (k / 4) for k in range(4, int(math.log2(ranks[-1]) * 4) + 1)]
    for link in links:
        alpha, beta = model[link]
        steps = [t_side + t_comm(n, alpha, beta, nbytes) for n in dense]
        name = f"{label(link)} (alpha {alpha * 1e6:.0f} us, beta {beta * 8 / 1e9:.2g} Gbit/s)"
        line, = ax1.plot(dense, [n * batch / t for n, t in zip(dense, steps)], label=name)
        ax1.plot(ranks, proj[link][0], "o", color=line.get_color(), ms=4)
        ax2.plot(dense, [t_alone / t * 100 for t in steps], color=line.get_color(), label=name)
        ax2.plot(ranks, [e * 100 for e in proj[link][1]], "o", color=line.get_color(), ms=4)
        measured = med(g[(link, "mid", 2, 0.0)], "step")
        ax1.plot([2], [2 * batch / measured], "x", color=line.get_color(), ms=7, mew=2)
        ax2.plot([2], [t_alone / measured * 100], "x", color=line.get_color(), ms=7, mew=2)
    ax1.plot(dense, [n * batch / t_alone for n in dense], "k--", lw=0.8, label="linear (1 rank alone x N)")
    ax1.set(xscale="log", yscale="log", xlabel="ranks N", ylabel="samples/s", title="Projected throughput")
    ax2.axhline(t_alone / t_side * 100, color="k", ls=":", lw=0.8, label="compute only, side by side")
    ax2.plot([], [], "kx", ms=7, mew=2, label="measured, 2 ranks (comm.bucket_mb 0)")
    ax2.set(xscale="log", xlabel="ranks N", ylabel="efficiency: t_compute alone / t_step (%)",
            ylim=(0, max(105, t_alone / t_side * 100 + 5)), title="Weak-scaling efficiency (lines: model)")
    for ax in (ax1, ax2):
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(n) for n in ticks])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
    ax1.legend(fontsize=7, loc="upper left")
    ax2.legend(fontsize=7, loc="center right")
    fig.suptitle(f"ectrain cost model: MLP 1024-512-256, {nbytes / 1e6:.1f} MB of gradients, per-rank batch {batch}; "
                 f"t_compute {t_alone * 1e3:.1f} ms alone, {t_side * 1e3:.1f} ms side by side (2-core machine); "
                 f"ring all-reduce fitted per link", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print()
    print(f"chart: {args.png}")


if __name__ == "__main__":
    main()
