#!/usr/bin/env bash
# One prepared check for a machine with an NVIDIA GPU: builds glow-vk with the
# CUDA module, then runs, each against the CPU reference,
#   test_cuda_loader, test_backend_ops and test_backend_model (every non-CPU
#   backend that opens: CUDA and Vulkan),
# and `glow-vk bench` on cuda and vulkan. Everything lands under $OUT
# (default ./gpu-check-out), at most 8 files:
#   env.txt      nvidia-smi, nvcc, compilers, Vulkan loader
#   build.log    meson setup + compile
#   devices.txt  glow-vk devices
#   tests.log    the three suites (meson's test log, with every suite's output)
#   bench.txt    glow-vk bench --backend cuda,vulkan (and bench.json)
#   summary.txt  one line per step: ok / FAILED (exit code) and the wall time
# Exit status: 0 when every step passed.
#
# Usage: tools/gpu-check.sh [BUILD_DIR]   (default build-gpu; reused when it exists)
# Environment: OUT, GPU_CHECK_BENCH_ARGS (extra bench flags, default "--reps 5").
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
BUILD=${1:-build-gpu}
mkdir -p "$OUT"
export PATH="/usr/local/cuda/bin:$PATH"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
failed=0

# Runs "$@" with its output appended to $log; records ok/FAILED and seconds.
step() {
    local name=$1 log=$2
    shift 2
    local t0=$SECONDS
    echo "== $name: $*" >>"$log"
    "$@" >>"$log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok      $name ($((SECONDS - t0)) s)" >>"$SUMMARY"
    else
        echo "FAILED  $name (exit $rc, $((SECONDS - t0)) s; see $(basename "$log"))" >>"$SUMMARY"
        failed=1
    fi
    return $rc
}

# Vulkan on a headless NVIDIA machine: use the driver's ICD when the loader
# finds none by itself.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi

{
    date -u
    nvidia-smi || echo "nvidia-smi: not available"
    nvcc --version || echo "nvcc: not found"
    cc --version | head -1
    meson --version
    ldconfig -p | grep -E 'libcuda\.so|libvulkan\.so' || echo "no libcuda/libvulkan in ldconfig"
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
} >"$OUT/env.txt" 2>&1

if [ ! -d "$BUILD" ]; then
    step "meson setup" "$OUT/build.log" meson setup "$BUILD" -Dcuda=enabled || { cat "$SUMMARY"; exit 1; }
fi
step "compile" "$OUT/build.log" meson compile -C "$BUILD" || { cat "$SUMMARY"; exit 1; }

step "devices" "$OUT/devices.txt" "$BUILD/glow-vk" devices

# The suites compare every backend that opens against the CPU reference; they
# print "[ skipped  ] <backend>: <reason>" for a backend that does not open.
step "tests" "$OUT/tests.log" meson test -C "$BUILD" --print-errorlogs --num-processes 1 \
    test_cuda_loader test_backend_ops test_backend_model
cat "$BUILD/meson-logs/testlog.txt" >>"$OUT/tests.log" 2>/dev/null
if grep -q "skipped  \] cuda" "$OUT/tests.log"; then
    echo "NOTE    cuda was skipped by a suite (no driver or device?): see tests.log" >>"$SUMMARY"
fi

# shellcheck disable=SC2086
step "bench" "$OUT/bench.txt" "$BUILD/glow-vk" bench --backend cuda,vulkan --json "$OUT/bench.json" \
    ${GPU_CHECK_BENCH_ARGS:---reps 5}

cat "$SUMMARY"
exit $failed
