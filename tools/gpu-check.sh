#!/usr/bin/env bash
# The conclusive check of a machine with an NVIDIA GPU, in one run of at most 9.5
# minutes (16 cores). Every step has a timeout of its own (below) and none runs past
# the run's deadline, 540 s after the start (the one-page summary takes <= 30 s more): a step is cut to the time left, and one
# that would have under 5 s is not started (both TIMEOUT, a failure):
#
#   1. preflight (<= 30 s; ~1 s when nothing hangs): an NVIDIA driver with a GPU (nvidia-smi, libcuda.so.1),
#      nvcc and compute-sanitizer (/usr/local/cuda or PATH), NVIDIA's Vulkan driver
#      (nvidia_icd.json), and apt-get as root or through sudo. Anything missing ends
#      the run here, every missing item named, before anything is installed;
#   2. tools/install-deps (150 s; the Debian packages, including Fashion-MNIST from
#      dataset-fashion-mnist), then a check that the data the tests read is there;
#   3. build with the CUDA module (-Dcuda=enabled; setup 20 s, compile 120 s);
#   4. glow-vk devices (15 s);
#   5. three runs at once (150 s):
#      - the GPU suites with GLOW_TEST_STRICT=1 GLOW_TEST_REQUIRE=cuda,vulkan,
#        vulkan-validation: test_cuda_loader, test_cuda_host, cuda_source_check,
#        test_cuda_tf32 (TF32 GEMMs within their rounding bound of fp32, and really on
#        the tensor cores), test_cuda_graph (a step graph's training equals the eager
#        one bit for bit; one graph launch and no single kernel per replayed step; no
#        allocation after capture), test_backend_ops, test_backend_model,
#        test_train_submit, test_vk_grid_stride
#        against the CPU reference, Vulkan on the GPU only (VK_DRIVER_FILES names
#        NVIDIA's driver) with the validation layer; a suite that could not open CUDA
#        or Vulkan fails, and any skipped suite fails the step;
#      - compute-sanitizer memcheck over the op suite (test_backend_ops, CUDA only);
#      - compute-sanitizer racecheck over the op suite;
#   5b. Vulkan cooperative matrices (precision tf32): test_vk_coopmat's error bound with the
#      KHR modules (required) and the NV ones (where offered), and the bench's GEMM probe
#      at precision fp32 against tf32 (coopmat.log, coopmat-bench-fp32/tf32.txt/.json);
#   6. glow-vk bench --backend cuda,vulkan for the small (60 s) and the report (90 s)
#      configuration, alone on the GPU, JSON written; then the small one on CUDA with
#      --precision tf32, and with step graphs off (GLOW_CUDA_GRAPH=0), train stage only
#      (40 s each), for the tf32/fp32 and graph/eager step-time ratios;
#   7. summary.txt: one page with every step's result and time, the devices, the
#      sanitizers' verdicts and the bench's images/s.
#
# Everything lands in $OUT (default ./gpu-check-out): summary.txt, preflight.txt,
# env.txt, install.log, build.log, devices.txt, tests.log, memcheck.log,
# racecheck.log, bench-small.json/.txt, bench-report.json/.txt.
# Exit status: 0 only when every step passed.
#
# Usage: tools/gpu-check.sh [BUILD_DIR]   (default build-gpu, set up afresh)
# Environment: OUT; GPU_CHECK_BENCH_ARGS (extra bench flags, default "--reps 3").
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
BUILD=${1:-build-gpu}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
START=$SECONDS
failed=0
JOBS=$(nproc 2>/dev/null || echo 4)

note() { echo "$*" | tee -a "$SUMMARY"; }

DEADLINE=540 # s after the start: 8 minutes less 5 s for a killed step to go and 30 s for the summary,
#              plus 100 s for the Vulkan cooperative-matrix checks (5b)

# step NAME LOG TIMEOUT_S CMD...: runs CMD under `timeout` (cut to the time left before
# the deadline), output appended to LOG; records "ok", "FAILED (exit N)" or "TIMEOUT"
# with the wall time.
step() {
    local name=$1 log=$2 limit=$3
    shift 3
    local t0=$SECONDS rc left=$((DEADLINE - (SECONDS - START)))
    if [ "$left" -lt 5 ]; then
        note "TIMEOUT  $name (not started: the 8 minutes are spent)"
        failed=1
        return 124
    fi
    [ "$limit" -le "$left" ] || limit=$left
    echo "== $name (timeout ${limit}s): $*" >>"$log"
    timeout --kill-after=5 "$limit" "$@" >>"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        note "ok       $name ($((SECONDS - t0)) s)"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        note "TIMEOUT  $name (limit $limit s; see $(basename "$log"))"
        failed=1
    else
        note "FAILED   $name (exit $rc, $((SECONDS - t0)) s; see $(basename "$log"))"
        failed=1
    fi
    return $rc
}

finish() {
    note "total    $((SECONDS - START)) s; $([ $failed -eq 0 ] && echo "PASSED: every step" || echo "FAILED")"
    exit $failed
}

# ---- 1. preflight: what this machine must already have (<= 30 s) ---------------------
export PATH="/usr/local/cuda/bin:$PATH"
missing=()
{
    date -u
    echo "-- nvidia-smi"
    if ! command -v nvidia-smi >/dev/null; then
        echo "nvidia-smi: not found"
        missing+=("the NVIDIA driver (nvidia-smi not found)")
    elif ! timeout 8 nvidia-smi -L | grep -q '^GPU '; then
        timeout 8 nvidia-smi
        missing+=("an NVIDIA GPU (nvidia-smi -L lists none)")
    else
        timeout 8 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    fi
    echo "-- libcuda.so.1"
    if ! { ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; } && ! compgen -G "/usr/lib*/*/libcuda.so.1" >/dev/null &&
        ! compgen -G "/usr/local/nvidia/lib*/libcuda.so.1" >/dev/null; then
        echo "not found"
        missing+=("the CUDA driver library libcuda.so.1")
    fi
    echo "-- nvcc"
    if command -v nvcc >/dev/null; then nvcc --version | tail -2; else
        echo "not found"
        missing+=("nvcc (the CUDA toolkit, expected under /usr/local/cuda/bin)")
    fi
    echo "-- compute-sanitizer"
    if command -v compute-sanitizer >/dev/null; then command -v compute-sanitizer; else
        echo "not found"
        missing+=("compute-sanitizer (NVIDIA's, from the CUDA toolkit under /usr/local/cuda/bin)")
    fi
    echo "-- NVIDIA Vulkan driver"
    icd=""
    for f in "${VK_DRIVER_FILES:-}" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
        /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
        /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
        if [ -n "$f" ] && [ -f "$f" ]; then icd=$f; break; fi
    done
    if [ -n "$icd" ]; then echo "$icd"; else
        echo "not found"
        missing+=("NVIDIA's Vulkan driver (nvidia_icd.json under /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)")
    fi
    echo "-- apt-get as root or with sudo"
    if ! command -v apt-get >/dev/null; then
        missing+=("apt-get (a Debian-based system)")
    elif [ "$(id -u)" -ne 0 ] && ! timeout 5 sudo -n true 2>/dev/null; then
        missing+=("root or password-less sudo (tools/install-deps runs apt-get)")
    else
        echo "ok"
    fi
} >"$OUT/preflight.txt" 2>&1
if [ ${#missing[@]} -gt 0 ]; then
    note "FAILED   preflight ($((SECONDS - START)) s): this machine lacks:"
    for m in "${missing[@]}"; do note "           - $m"; done
    note "         nothing was installed or built; see preflight.txt"
    failed=1
    finish
fi
note "ok       preflight ($((SECONDS - START)) s)"
# Vulkan on the GPU only: lavapipe stays out of the suites and the bench.
export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"

# ---- 2. packages and data ---------------------------------------------------------------
step "install-deps" "$OUT/install.log" 150 tools/install-deps || finish
FMNIST=/usr/share/datasets/fashion-mnist
step "data: Fashion-MNIST" "$OUT/install.log" 5 \
    test -r "$FMNIST/train-images-idx3-ubyte.gz" -a -r "$FMNIST/t10k-images-idx3-ubyte.gz" || finish
{
    date -u
    timeout 5 nvidia-smi
    timeout 5 nvcc --version
    cc --version | head -1
    meson --version
    echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
    command -v vulkaninfo >/dev/null && timeout 10 vulkaninfo --summary
} >"$OUT/env.txt" 2>&1 # (at most 10 s: every command here answers at once, but vulkaninfo)

# ---- 3. build ------------------------------------------------------------------------------
rm -rf "$BUILD"
step "meson setup" "$OUT/build.log" 20 meson setup "$BUILD" -Dcuda=enabled || finish
step "compile" "$OUT/build.log" 120 meson compile -C "$BUILD" -j "$JOBS" || finish

# ---- 4. devices -----------------------------------------------------------------------------
step "devices" "$OUT/devices.txt" 15 "$BUILD/glow-vk" devices
if grep -q "unavailable" "$OUT/devices.txt"; then
    note "         $(grep "unavailable" "$OUT/devices.txt" | head -3 | tr '\n' ' ')"
fi

# ---- 5. GPU suites and the sanitizers, at once -----------------------------------------------
# (functions run under `timeout` through bash -c: exported with what they read)
export ROOT BUILD
# shellcheck disable=SC2317 # (run through bash -c)
run_suites() {
    GLOW_TEST_STRICT=1 GLOW_TEST_REQUIRE=cuda,vulkan,vulkan-validation \
        meson test -C "$BUILD" --print-errorlogs --num-processes 4 --no-rebuild test_cuda_loader test_cuda_host \
        cuda_source_check test_cuda_tf32 test_cuda_graph test_backend_ops test_backend_model test_train_submit test_vk_grid_stride || return $?
    # a skipped suite could not run what it exists for
    if grep -Eq '^Skipped: *[1-9]' "$BUILD/meson-logs/testlog.txt"; then
        echo "gpu-check: a suite was skipped (exit 77): see above"
        return 1
    fi
}
# Runs test_backend_ops on the CUDA targets only under compute-sanitizer TOOL.
# shellcheck disable=SC2317 # (run through bash -c)
sanitize() {
    local tool=$1
    GLOW_TEST_BACKENDS=cuda GLOW_TEST_REQUIRE=cuda GLOW_CUDA_MODULE="$BUILD/backends/cuda/libglow-cuda.so" \
        compute-sanitizer --tool "$tool" --error-exitcode 3 "$BUILD/tests/test_backend_ops"
}
export -f run_suites sanitize
step "GPU suites (CUDA and Vulkan against ref, validation on)" "$OUT/tests.log" 150 bash -c run_suites &
p1=$!
step "compute-sanitizer memcheck (test_backend_ops, cuda)" "$OUT/memcheck.log" 150 bash -c "sanitize memcheck" &
p2=$!
step "compute-sanitizer racecheck (test_backend_ops, cuda)" "$OUT/racecheck.log" 150 bash -c "sanitize racecheck" &
p3=$!
for p in $p1 $p2 $p3; do wait "$p" || failed=1; done

# ---- 5b. Vulkan cooperative matrices (precision tf32; issue 12, Vulkan half) -------------------
# Error: test_vk_coopmat bounds the cooperative-matrix GEMM (fp16 x fp16 + fp32) against the fp32
# reference op by op, with the KHR modules (required here: GLOW_TEST_REQUIRE=vulkan-coopmat),
# validation off (Debian bookworm's layer, 1.3.239, predates VK_KHR_cooperative_matrix), then with
# the NV modules and the validation layer on, where the driver also has VK_NV_cooperative_matrix
# (exit 77 = no NV: accepted).
# Speed: the bench's GEMM probe at the model's shapes, precision fp32 (tiled) against tf32.
# (<= 100 s together.)
# shellcheck disable=SC2317 # (run through bash -c)
coopmat_nv() {
    GLOW_VK_VALIDATION=1 GLOW_VK_COOPMAT=nv "$BUILD/tests/test_vk_coopmat"
    local rc=$?
    if [ "$rc" -eq 77 ]; then
        echo "gpu-check: no usable VK_NV_cooperative_matrix (accepted)"
        return 0
    fi
    return "$rc"
}
export -f coopmat_nv
step "vulkan coopmat error bound (KHR)" "$OUT/coopmat.log" 30 env GLOW_VK_VALIDATION=0 \
    GLOW_TEST_REQUIRE=vulkan-coopmat GLOW_VK_COOPMAT=khr "$BUILD/tests/test_vk_coopmat"
step "vulkan coopmat error bound (NV, validation on)" "$OUT/coopmat.log" 20 bash -c coopmat_nv
if "$BUILD/glow-vk" bench --help 2>&1 | grep -q -- --precision; then
    for prec in fp32 tf32; do
        step "vulkan GEMM probe, precision $prec" "$OUT/coopmat-bench-$prec.txt" 25 env GLOW_VK_VALIDATION=0 \
            "$BUILD/glow-vk" bench --backend vulkan --config small --stages gemm --precision "$prec" \
            --json "$OUT/coopmat-bench-$prec.json"
    done
else
    note "FAILED   vulkan GEMM probe: this build's bench has no --precision"
    failed=1
fi

# ---- 6. bench, alone on the GPU ---------------------------------------------------------------
for config in small:60 report:90; do
    # shellcheck disable=SC2086
    step "bench ${config%:*} (cuda, vulkan)" "$OUT/bench-${config%:*}.txt" "${config#*:}" "$BUILD/glow-vk" bench \
        --backend cuda,vulkan --config "${config%:*}" --json "$OUT/bench-${config%:*}.json" \
        ${GPU_CHECK_BENCH_ARGS:---reps 3}
done
# shellcheck disable=SC2086
step "bench small (cuda, --precision tf32)" "$OUT/bench-small-tf32.txt" 40 "$BUILD/glow-vk" bench --backend cuda \
    --config small --precision tf32 --stages gemm,train --json "$OUT/bench-small-tf32.json" \
    ${GPU_CHECK_BENCH_ARGS:---reps 3}
# shellcheck disable=SC2086
step "bench small (cuda, step graphs off)" "$OUT/bench-small-eager.txt" 40 env GLOW_CUDA_GRAPH=0 "$BUILD/glow-vk" \
    bench --backend cuda --config small --stages train --json "$OUT/bench-small-eager.json" \
    ${GPU_CHECK_BENCH_ARGS:---reps 3}

# ---- 7. one page -------------------------------------------------------------------------------
{
    echo
    echo "-- GPU and driver"
    timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -4
    echo "-- devices"
    grep -E '^(cuda|vulkan|ref)' "$OUT/devices.txt" 2>/dev/null | head -8
    echo "-- suites"
    awk '/^Summary of Failures/ {exit} /^ *[0-9]+\/[0-9]+ /' "$OUT/tests.log" 2>/dev/null | sed 's/  */ /g' | head -10
    grep -E '^(Ok|Fail|Skipped|Timeout): ' "$OUT/tests.log" 2>/dev/null | tr -s ' ' | paste -sd ' ' -
    echo "-- sanitizers"
    for t in memcheck racecheck; do
        echo "$t: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/$t.log" 2>/dev/null | tail -1)"
    done
    echo "-- vulkan cooperative matrices (precision tf32)"
    grep -E '^\[ coopmat  \]' "$OUT/coopmat.log" 2>/dev/null | head -16
    for prec in fp32 tf32; do
        echo "GEMM probe $prec: $(grep -m1 '^gemm kernels:' "$OUT/coopmat-bench-$prec.txt" 2>/dev/null)"
        awk '/GEMM ceiling probe/ {on=1} on && NF == 0 {exit} on' "$OUT/coopmat-bench-$prec.txt" 2>/dev/null | head -12
    done
    echo "-- bench (images/s of a training step; CUDA: launches and kernels of the last step)"
    for config in small report small-tf32 small-eager; do
        [ -f "$OUT/bench-$config.json" ] || { echo "$config: no JSON"; continue; }
        timeout 10 python3 - "$OUT/bench-$config.json" "$config" <<'PY' || echo "$config: JSON unreadable"
import json, sys
for r in json.load(open(sys.argv[1]))["records"]:
    d = r["device"]
    def launches(t):
        n = t.get("cuda_launches")
        return f' ({n:.0f} launches, {t.get("cuda_kernels"):.0f} kernels)' if n is not None else ""
    train = ", ".join(f'{t["memory"]} {t["images_per_s"]:.0f} img/s{launches(t)}' for t in r["train"])
    prec = r.get("backend_precision", "?")
    print(f'{sys.argv[2]}: {d["backend"]}[{d["index"]}] {d["name"]} [{prec}]: {train or r["error"]}')
PY
    done
} >>"$SUMMARY" 2>&1
finish
