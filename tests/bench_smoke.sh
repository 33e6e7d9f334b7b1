#!/usr/bin/env bash
# Smoke test of `glow-vk bench` (benchmarks are not tests: this only checks that the command
# runs on every available backend and writes a well-formed, self-consistent JSON file).
# usage: bench_smoke.sh /path/to/glow-vk
# Tiny configuration: 1x8x8 input, L=2, K=1, F=8, batch 2, one repetition, sampling batch 4.
# A second run selects stages (train only, store mode, 1 thread, no peak) and checks what is left out.
set -euo pipefail
GLOW_VK="$1"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$GLOW_VK" bench --backend all --config 2,1,8,1,8,8 --batch 2 --reps 1 --sample-batch 4 \
    --json "$WORK/bench.json" > "$WORK/stdout.txt"
grep -q "GEMM ceiling probe" "$WORK/stdout.txt"
grep -q "^fp32 peak of this machine: " "$WORK/stdout.txt"
"$GLOW_VK" bench --backend ref --config 2,1,8,1,8,8 --batch 2 --reps 1 --threads 1 --stages train \
    --memory store --precision tf32 --json "$WORK/train_only.json" > "$WORK/train_only.txt"
# --precision is shown with what the backend uses (ref has no matrix units: fp32)
grep -q "^precision: tf32 asked; the backend uses fp32$" "$WORK/train_only.txt"
"$GLOW_VK" bench --backend ref --config small --stages peak --json "$WORK/small.json" > /dev/null
if grep -q -e "GEMM ceiling probe" -e "^fp32 peak of this machine" -e "^sampling" "$WORK/train_only.txt"; then
    echo "bench --stages train ran other stages:"; cat "$WORK/train_only.txt"; exit 1
fi

# A bad flag value is a usage error (exit 2) naming the flag.
set +e
"$GLOW_VK" bench --config 3,8 > /dev/null 2> "$WORK/usage.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "bench --config 3,8 exited $rc, expected 2"; exit 1; }
grep -q -- "--config" "$WORK/usage.txt"
for bad in "--stages peak,bogus" "--memory none"; do
    set +e
    # shellcheck disable=SC2086
    "$GLOW_VK" bench $bad > /dev/null 2> "$WORK/usage.txt"
    rc=$?
    set -e
    [ "$rc" -eq 2 ] || { echo "bench $bad exited $rc, expected 2"; exit 1; }
    grep -q -- "${bad%% *}" "$WORK/usage.txt"
done
set +e
GLOW_THREADS=two "$GLOW_VK" bench --stages peak > /dev/null 2> "$WORK/usage.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "GLOW_THREADS=two exited $rc, expected 2"; exit 1; }
grep -q "GLOW_THREADS" "$WORK/usage.txt"

"$PYTHON" - "$WORK/bench.json" "$WORK/train_only.json" "$WORK/small.json" <<'PY'
import json, math, sys

doc = json.load(open(sys.argv[1]))
assert doc["format"] == "glow-vk-bench" and doc["version"] == 1, doc.get("format")
records = doc["records"]
assert records, "no records"
assert any(r["device"]["backend"] == "ref" for r in records), "the CPU backend is always available"

def positive(x, what):
    assert isinstance(x, (int, float)) and math.isfinite(x) and x > 0, f"{what} = {x!r}"

for r in records:
    d, c = r["device"], r["config"]
    who = f'{d["backend"]}[{d["index"]}]'
    assert r["error"] == "", f'{who}: {r["error"]}'
    for k in ("backend", "name", "vendor", "driver", "api_version", "type"):
        assert isinstance(d[k], str) and d[k], f"{who}: device.{k} empty"
    assert (c["in_c"], c["in_h"], c["in_w"], c["levels"], c["steps"], c["hidden"], c["batch"]) == \
        (1, 8, 8, 2, 1, 8, 2), f"{who}: config {c}"
    f = r["flops_per_step"]
    # Hand count (tests/test_model_flops.c formula) for 1x8x8, L=2, K=1, F=8, batch 2:
    # level 0 P=32, C=4: 32*(16 + 144 + 64 + 288) + prior 32*72 = 18688 MACs;
    # level 1 P=8, C=8:  8*(64 + 288 + 64 + 576) + top prior 8*1152 = 17152 MACs.
    assert f["forward"] == 2 * (18688 + 17152), f
    assert f["step"] == f["forward"] + f["backward"], f
    probe = r["gemm_probe"]
    assert len(probe) == 29, f"{who}: {len(probe)} probe entries (5 convs x 3 kernels x 2 levels - 1)"
    for e in probe:
        positive(e["ms"], f'{who} {e["name"]} {e["kernel"]} ms')
        positive(e["gflops"], f'{who} {e["name"]} {e["kernel"]} gflops')
        assert abs(e["gflops"] - e["flops"] / (e["ms"] * 1e6)) <= 1e-4 * e["gflops"] + 1e-6, e
    best = max(probe, key=lambda e: e["gflops"])
    assert r["gemm_ceiling"]["gflops"] == best["gflops"], (r["gemm_ceiling"], best)
    names = [o["name"] for o in r["ops"]]
    for want in ("conv2", "actnorm", "coupling", "gaussian_logp", "adam"):
        assert want in names, f"{who}: op {want} missing from {names}"
    for o in r["ops"]:
        positive(o["forward_ms"], f'{who} {o["name"]} forward_ms')
    # --precision: fp32 by default, and what the backend uses (CUDA may say more, e.g. why not tf32)
    assert r["precision"] == "fp32" and r["backend_precision"].startswith("fp32"), r
    modes = {t["memory"]: t for t in r["train"]}
    assert set(modes) == {"store", "reversible"}, modes.keys()
    for t in modes.values():
        positive(t["step_ms"], f"{who} step_ms")
        positive(t["peak_memory_bytes"], f"{who} peak memory")
        assert abs(t["images_per_s"] - 2 / (t["step_ms"] * 1e-3)) <= 1e-4 * t["images_per_s"], t
        assert abs(t["ceiling_fraction"] * r["gemm_ceiling"]["gflops"] - t["gflops"]) <= 1e-4 * t["gflops"], t
        assert math.isfinite(t["bpd"]) and 0 < t["bpd"] < 50, t
        # CUDA launch counts of the last timed step: CUDA only (a step-graph replay: one launch)
        if d["backend"] == "cuda":
            assert t["cuda_launches"] >= 1 and t["cuda_kernels"] >= t["cuda_launches"], t
        else:
            assert t["cuda_launches"] is None and t["cuda_kernels"] is None, t
    # the same seed and input give the same loss in both memory modes (within float rounding)
    assert abs(modes["store"]["bpd"] - modes["reversible"]["bpd"]) < 1e-3, modes
    # the fp32 peak: measured once per run, the best of its SIMD variants; fractions of it only for
    # devices of type CPU, and consistent with the step's GFLOP/s
    peak = r["fp32_peak"]
    positive(peak["gflops"], f"{who} fp32 peak")
    assert peak["isa"] in ("avx512", "avx2", "scalar") and peak["chains"] == 12, peak
    assert peak["threads"] == r["threads"] and r["threads"] >= 1, (peak, r["threads"])
    assert peak["gflops"] == max(v["gflops"] for v in peak["variants"]), peak
    assert peak == records[0]["fp32_peak"], "one peak per run"
    for t in modes.values():
        if d["type"] == "cpu":
            assert abs(t["peak_fraction"] * peak["gflops"] - t["gflops"]) <= 1e-4 * t["gflops"], (t, peak)
            assert 0 < t["peak_fraction"] < 1, t
        else:
            assert t["peak_fraction"] is None, t
    assert r["sample"]["batch"] == 4
    positive(r["sample"]["images_per_s"], f"{who} sample images/s")
print(f"bench JSON ok: {len(records)} record(s):", ", ".join(r["device"]["backend"] for r in records))

# --stages train --memory store --threads 1: no peak, no probe (no ceiling), store mode only
only = json.load(open(sys.argv[2]))["records"]
assert len(only) == 1 and only[0]["device"]["backend"] == "ref", only
r = only[0]
assert r["error"] == "" and r["threads"] == 1, r
assert r["precision"] == "tf32" and r["backend_precision"] == "fp32", r
assert r["fp32_peak"] is None and r["gemm_ceiling"] is None and r["gemm_probe"] == [] and r["ops"] == [], r
assert [t["memory"] for t in r["train"]] == ["store"], r["train"]
assert r["train"][0]["ceiling_fraction"] is None and r["train"][0]["peak_fraction"] is None, r["train"]
assert r["sample"] is None, r["sample"]
print("bench --stages ok")

# FLOP counts are written exactly (tools/bench-vs-pytorch compares them with PyTorch's for equality):
# the small configuration's 13,247,447,040 FLOPs per step do not fit 6 significant digits
(r,) = json.load(open(sys.argv[3]))["records"]
f = r["flops_per_step"]
assert (f["forward"], f["backward"], f["step"]) == (4417388544, 8830058496, 13247447040), f
print("bench FLOP counts exact")
PY

"$PYTHON" "$SRC_DIR/tools/bench-report" "$WORK/bench.json" -o "$WORK/report.md"
grep -q "^| ref | " "$WORK/report.md"
grep -q "^## Per-op times at level 0" "$WORK/report.md"
grep -q "| fp32 peak GFLOP/s |.*| store % peak |" "$WORK/report.md"
echo "bench-report ok"
