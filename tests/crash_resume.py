#!/usr/bin/env python3
"""Crash safety of `glow-vk train`: SIGKILL at 20 seeded random moments, half of
them inside a checkpoint write, and every time `--resume` must continue from an
intact checkpoint, losing at most the step in progress.

   usage: crash_resume.py PATH/TO/glow-vk [SEED]

A tiny model on the ref backend trains on a 4-image data set (written here in
the IDX format) with batch 4, so every step ends an epoch and writes a
checkpoint (about 0.8 MB: the write and fsync take a real share of each step).
Moments: even-numbered kills wait a random 0-0.4 s, then watch the output folder
and fire as soon as a checkpoint temporary (checkpoint.glow.tmp.*) appears,
after a further random 0-2 ms: the process dies between mkstemp and rename. A
temporary still there after the kill proves that the kill landed inside the
write (the next successful save removes it; none may remain at the end).
Odd-numbered kills fire at a random 0.05-1.2 s after the start.

After every kill:
  * `train --resume` must start (the checkpoint loads: magic, sizes, checksum);
  * its step S must be M or M - 1 for the last metrics.csv row M (each step's
    row is logged just before its checkpoint is saved; --resume drops rows
    past the checkpoint), and never below the previous S: the loss is at most
    the step in progress.
In the end the interrupted run is resumed to completion, and its per-step
train and test bpd must equal those of an uninterrupted run exactly: the
checkpoints restored the state bit for bit and no step was lost or repeated.
At least 5 kills must have landed inside a checkpoint write; where fewer of the
first 20 did (on a loaded machine a write can end before the kill lands: 4 of 10
once, in a full parallel test run), up to 20 more kills aimed at a write follow
until 5 have. Exit 0 = pass."""
import glob
import gzip
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

KILLS = 20
MIN_IN_WRITE = 5
EXTRA_KILLS = 20  # in-write kills added while fewer than MIN_IN_WRITE of the first KILLS landed
STEPS = 5000  # the run's length; the kills stop it long before


def write_idx(dirname, split, count, seed):
    rng = random.Random(seed)
    pixels = bytes(rng.randrange(256) if 4 <= (i % 784) % 28 < 24 else 0 for i in range(count * 784))
    with gzip.open(os.path.join(dirname, f"{split}-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, count, 28, 28) + pixels)
    with gzip.open(os.path.join(dirname, f"{split}-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, count) + bytes(i % 10 for i in range(count)))


def metrics(path):
    """{step: (train_bpd, test_bpd)} of a metrics.csv (text as written, compared exactly)."""
    rows = {}
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split(",")
            if len(cols) == 7:
                rows[int(cols[0])] = (cols[3], cols[4])
    return rows


def main():
    glow = os.path.realpath(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 13
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="glow-crash.")
    failures = []

    def check(ok, what):
        print(("ok   - " if ok else "FAIL - ") + what, flush=True)
        if not ok:
            failures.append(what)
        return ok

    try:
        data = os.path.join(tmp, "data")
        os.mkdir(data)
        write_idx(data, "train", 4, 1)
        write_idx(data, "t10k", 4, 2)
        common = ["--backend", "ref", "--data-dir", data, "--test-limit", "4", "--samples", "1", "--log-every", "1000"]
        fresh = [glow, "train", "--dataset", "fashion-mnist", "--L", "2", "--K", "2", "--hidden", "96", "--batch", "4",
                 "--lr", "1e-3", "--seed", "5", "--epochs", str(STEPS)] + common
        crash_dir, ref_dir = os.path.join(tmp, "crash"), os.path.join(tmp, "straight")

        # The uninterrupted run, alongside the crashes (it is only read at the end).
        ref_log = open(os.path.join(tmp, "straight.log"), "w")
        ref = subprocess.Popen(fresh + ["--out", ref_dir], stdout=ref_log, stderr=subprocess.STDOUT)

        ckpt = os.path.join(crash_dir, "checkpoint.glow")
        in_write, last_s, cycle_log = 0, 0, os.path.join(tmp, "cycle.log")
        kill = -1
        while True:
            kill += 1
            if kill >= KILLS and (in_write >= MIN_IN_WRITE or kill >= KILLS + EXTRA_KILLS):
                break
            cmd = (fresh if kill == 0 else [glow, "train", "--resume"] + common) + ["--out", crash_dir]
            stale = set(glob.glob(ckpt + ".tmp.*"))  # left by an earlier kill, removed by the next save
            with open(cycle_log, "w") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
                start = time.monotonic()
                if kill == 0:  # a fresh run: wait for its first checkpoint, so there is one to resume
                    while not os.path.exists(ckpt) and proc.poll() is None and time.monotonic() - start < 60:
                        time.sleep(0.002)
                if kill % 2 == 0 or kill >= KILLS:
                    time.sleep(rng.uniform(0.0, 0.4))
                    extra = rng.uniform(0.0, 0.002)
                    while proc.poll() is None and time.monotonic() - start < 60:
                        if set(glob.glob(ckpt + ".tmp.*")) - stale:
                            time.sleep(extra)
                            break
                    moment = "in a checkpoint write"
                else:
                    delay = rng.uniform(0.05, 1.2)
                    time.sleep(delay)
                    moment = f"at {delay:.3f} s"
                alive = proc.poll() is None
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            if not check(alive, f"kill {kill + 1}: the run was still training when killed ({moment})"):
                print(open(cycle_log).read()[-2000:])
                break
            leftovers = set(glob.glob(ckpt + ".tmp.*")) - stale  # a write that never finished
            in_write += bool(leftovers)
            logged = max(metrics(os.path.join(crash_dir, "metrics.csv")), default=0)

            # Resume with --steps 1: it loads and checks the checkpoint, reports its step and stops there.
            probe = subprocess.run([glow, "train", "--resume", "--steps", "1"] + common + ["--out", crash_dir],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            m = re.search(r"is at step (\d+)", probe.stdout)
            if not check(m is not None, f"kill {kill + 1}: the checkpoint loads after the kill"):
                print(probe.stdout[-2000:])
                break
            s = int(m.group(1))
            check(logged - 1 <= s <= logged and s >= last_s,
                  f"kill {kill + 1} ({moment}{', temporary left' if leftovers else ''}): checkpoint at step {s}, "
                  f"last logged step {logged}, previous checkpoint {last_s}")
            last_s = s

        check(in_write >= MIN_IN_WRITE, f"{in_write} of {kill} kills landed inside a checkpoint write "
                                        f"(at least {MIN_IN_WRITE} wanted)")
        # Resume to a few steps past the last checkpoint; the straight run must have got there too.
        final = last_s + 3
        done = subprocess.run([glow, "train", "--resume", "--steps", str(final)] + common + ["--out", crash_dir],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(done.returncode == 0, f"final resume to step {final}")
        left = glob.glob(ckpt + ".tmp.*")
        check(not left, f"the killed writes' temporaries were removed by later saves ({len(left)} left)")
        while len(metrics(os.path.join(ref_dir, "metrics.csv"))) < final and ref.poll() is None:
            time.sleep(0.05)
        ref.send_signal(signal.SIGKILL)
        ref.wait()
        ref_log.close()
        want, got = metrics(os.path.join(ref_dir, "metrics.csv")), metrics(os.path.join(crash_dir, "metrics.csv"))
        differ = [s for s in range(1, final + 1) if want.get(s) is None or want.get(s) != got.get(s)]
        check(not differ and len(got) == final,
              f"steps 1..{final} after {KILLS} kills equal the uninterrupted run (train and test bpd, exactly)"
              + (f"; first difference at step {differ[0]}: {want.get(differ[0])} vs {got.get(differ[0])}"
                 if differ else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
