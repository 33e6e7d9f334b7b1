#!/usr/bin/env bash
# CI hook of tools/bench-vs-pytorch. It is a benchmark, not a test: no speed is checked here, only
# that the tool runs end to end on its tiny configuration (1x8x8, L=2, K=1, F=8, batch 4) with the
# ref backend, and that the PyTorch model executes exactly the convolution FLOPs of glow-vk's FLOP
# model, which also match a hand count.
#
# Skips (exit 77) where no Python imports torch. PyTorch is not a dependency of the project
# (tools/install-deps does not install it; Debian's python3-torch is only needed to regenerate the
# golden fixture), so this skip is expected on CI and allowed under GLOW_TEST_STRICT=1.
# usage: bench_vs_pytorch.sh /path/to/glow-vk
set -euo pipefail
GLOW_VK="$1"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

set +e
"$PYTHON" "$SRC_DIR/tools/bench-vs-pytorch" --tiny --backend ref --steps 2 --glow-vk "$GLOW_VK" \
    --json "$WORK/out.json" > "$WORK/stdout.txt" 2> "$WORK/stderr.txt"
rc=$?
set -e
cat "$WORK/stdout.txt"
if [ "$rc" -eq 77 ]; then
    cat "$WORK/stderr.txt"
    exit 77
fi
[ "$rc" -eq 0 ] || { echo "bench-vs-pytorch exited $rc"; cat "$WORK/stderr.txt"; exit 1; }
grep -q "^FLOPs per step: .*: identical$" "$WORK/stdout.txt"

"$PYTHON" - "$WORK/out.json" <<'PY'
import json, math, sys

doc = json.load(open(sys.argv[1]))
assert doc["format"] == "glow-vk-bench-vs-pytorch" and doc["version"] == 1, doc.get("format")
(s,) = doc["summaries"]
assert s["name"] == "tiny" and s["batch"] == 4, s
# Hand count (tests/bench_smoke.sh, at batch 4): forward 2 * 2 * (18688 + 17152) FLOPs; the
# backward doubles every conv but the top prior (level 1: 2x2 pixels per image, 3x3 8 -> 16).
forward = 2 * 2 * (18688 + 17152)
top_prior = 2 * (4 * 2 * 2) * 16 * 9 * 8
for who in ("flops_glow", "flops_torch"):
    f = s[who]
    assert f["forward"] == forward, (who, f)
    assert f["backward"] == 2 * forward - top_prior, (who, f)
assert s["flops_identical"] is True
positive = lambda x: isinstance(x, (int, float)) and math.isfinite(x) and x > 0
assert positive(doc["peak_gflops"]), doc["peak_gflops"]
labels = [r["label"] for r in s["rows"]]
assert labels[0].startswith("PyTorch ") and labels[1:] == ["glow-vk ref store", "glow-vk ref reversible"], labels
for r in s["rows"]:
    for k in ("images_per_s", "gflops", "peak_rss_mib", "peak_fraction"):
        assert positive(r[k]), (r["label"], k, r[k])
    assert 0 < r["bpd"] < 50, r
    assert abs(r["gflops"] - r["images_per_s"] / 4 * s["flops_glow"]["step"] / 1e9) <= 1e-9 * r["gflops"], r
for r in s["rows"][1:]:
    assert positive(r["reported_peak_mib"]) and positive(r["images_ratio"]) and positive(r["rss_ratio"]), r
    assert abs(r["images_ratio"] * s["rows"][0]["images_per_s"] - r["images_per_s"]) <= 1e-9 * r["images_per_s"], r
print("bench-vs-pytorch JSON ok")
PY
