#!/usr/bin/env bash
# End-to-end test of the glow-vk command line on Fashion-MNIST with a tiny
# model on the CPU reference backend.
#   usage: cli_e2e.sh PATH/TO/glow-vk
# Every check prints "ok" or "FAIL"; the last line is "N passed, M failed" and
# the exit status is non-zero when any check failed.
set -u

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GLOW="$(realpath "${1:?usage: cli_e2e.sh PATH/TO/glow-vk}")"
if [ ! -x "$GLOW" ]; then
    echo "cli_e2e.sh: $1 is not an executable"; echo "0 passed, 1 failed"; exit 1
fi
DATA=/usr/share/datasets/fashion-mnist
. "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"
e2e_enter_tmp glow-cli-e2e

check() { # check NAME COMMAND...: passes when the command succeeds
    local name="$1"; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}
# expect_rc NAME WANT LOG COMMAND...: runs COMMAND with stdout+stderr in LOG, checks its exit status.
expect_rc() {
    local name="$1" want="$2" log="$3"; shift 3
    "$@" >"$log" 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then
        pass "$name (exit $rc)"
    else
        fail "$name: exit $rc, want $want"
        sed 's/^/    /' "$log" | tail -n 15
    fi
}

# png_size FILE: "W H" after checking the signature, the IHDR and that the
# zlib stream of the IDAT chunks inflates to height * (1 + width * channels) bytes.
png_size() {
    python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
pos, idat, w = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        w, h, depth, color = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
if depth != 8 or len(zlib.decompress(idat)) != h * (1 + w * channels):
    sys.exit("bad image data")
print(w, h)
PY
}
png_is() { # png_is NAME FILE W H
    local got
    got="$(png_size "$2" 2>&1)"
    if [ "$got" = "$3 $4" ]; then pass "$1: $2 is $3x$4"; else fail "$1: $2: got '$got', want $3x$4"; fi
}
# Grid geometry of glow_png_write_grid with pad 2 and 32x32 images: cols*32 + (cols+1)*2.
grid_px() { echo $(($1 * 32 + ($1 + 1) * 2)); }
# csv_col FILE STEP COLUMN: the value of a metrics.csv column on the row of STEP.
csv_col() { awk -F, -v s="$2" -v c="$3" 'NR > 1 && $1 == s { print $c }' "$1"; }
# same_bpd WHAT STRAIGHT.csv RESUMED.csv STEP...: each step's train bpd is identical (exact text).
same_bpd() {
    local what="$1" straight="$2" resumed="$3" s a b
    shift 3
    for s in "$@"; do
        a="$(csv_col "$straight" "$s" 4)"; b="$(csv_col "$resumed" "$s" 4)"
        if [ -n "$a" ] && [ "$a" = "$b" ]; then
            pass "step $s $what: identical train bpd ($a)"
        else
            fail "step $s $what: straight '$a' vs resumed '$b'"
        fi
    done
}

TINY=(--backend ref --dataset fashion-mnist --data-dir "$DATA" --L 2 --K 1 --hidden 8 --batch 8 --test-limit 16
      --samples 16 --log-every 1)

# ---- devices and help ----------------------------------------------------------
expect_rc "devices" 0 devices.log "$GLOW" devices
check "devices lists the ref backend" contains devices.log "ref: 1 device"
for cmd in train sample interpolate eval devices; do
    expect_rc "$cmd --help" 0 "help_$cmd.log" "$GLOW" "$cmd" --help
done
check "train --help names --resume" contains help_train.log "--resume"

# ---- train 6 steps straight -----------------------------------------------------
expect_rc "train 6 steps" 0 run6.log "$GLOW" train "${TINY[@]}" --steps 6 --out run6
check "config.txt written" contains run6/config.txt "hidden = 8"
check "settings printed at start" contains run6.log "batch = 8"
check "metrics.csv header" \
    test "$(head -n 1 run6/metrics.csv)" = "step,epoch,lr,train_bpd,test_bpd,images_per_s,seconds"
check "metrics.csv has steps 1..6" test "$(awk -F, 'NR > 1 { printf "%s ", $1 }' run6/metrics.csv)" = "1 2 3 4 5 6 "
# Every train bpd is a finite number in a plausible range for 5-bit images (0, 8].
check "train bpd finite and in (0, 8]" \
    awk -F, 'NR > 1 { if (!($4 > 0 && $4 <= 8)) bad = 1 } END { exit bad }' run6/metrics.csv
test_rows() { awk -F, 'NR > 1 && $5 != "" { printf "%s ", $1 }' "$1"; } # steps with a test bpd
check "test bpd only on the last row" test "$(test_rows run6/metrics.csv)" = "6 "
png_is "loss plot" run6/loss.png 900 560
png_is "final samples (16 -> 4x4)" run6/samples_final.png "$(grid_px 4)" "$(grid_px 4)"
check "checkpoint written" test -s run6/checkpoint.glow

# ---- 3 steps, then --resume to 6: the same losses -------------------------------
expect_rc "train 3 steps" 0 run3.log "$GLOW" train "${TINY[@]}" --steps 3 --out run3
expect_rc "resume to step 6" 0 resume.log "$GLOW" train --backend ref --data-dir "$DATA" --test-limit 16 --samples 16 \
    --resume --steps 6 --out run3
check "resume reports its start step" contains resume.log "resuming from run3/checkpoint.glow at step 3"
# Exact: the resumed run repeats the data order, noise, optimiser state and step counter.
same_bpd "resumed at 3" run6/metrics.csv run3/metrics.csv 1 2 3 4 5 6
t6="$(csv_col run6/metrics.csv 6 5)"
check "test bpd identical at step 6 ($t6)" test -n "$t6" -a "$t6" = "$(csv_col run3/metrics.csv 6 5)"
expect_rc "resume with a contradicting --batch" 2 contra.log "$GLOW" train --backend ref --resume --batch 16 --out run3
check "contradiction names the flag" contains contra.log "--batch 16 contradicts"

# ---- epochs: per-epoch test bpd, sample grids, warm-up ----------------------------
# 32 training images / batch 8 = 4 steps per epoch; 2 epochs; lr rises over the first epoch.
expect_rc "train 2 epochs of 4 steps" 0 epochs.log "$GLOW" train "${TINY[@]}" --train-limit 32 --epochs 2 \
    --lr 0.001 --warmup-epochs 1 --samples 4 --out epochs
check "test bpd after each epoch" test "$(test_rows epochs/metrics.csv)" = "4 8 "
png_is "epoch 1 samples (4 -> 2x2)" epochs/samples_epoch001.png "$(grid_px 2)" "$(grid_px 2)"
png_is "epoch 2 samples" epochs/samples_epoch002.png "$(grid_px 2)" "$(grid_px 2)"
# Warm-up: lr_t = 0.001 * min(1, t / 4). The base lr is a float32, so compare to 1e-6 relative.
check "warm-up learning rates" awk -F, 'NR > 1 { want = 0.001 * ($1 < 4 ? $1 / 4 : 1);
    if ($3 < want * (1 - 1e-6) || $3 > want * (1 + 1e-6)) bad = 1 } END { exit bad }' epochs/metrics.csv

# ---- --train-limit is part of the run: stored in the checkpoint and used by --resume ---
# Stopped after 2 steps of the 2-epoch run of epochs/ above, then resumed without the flag:
# the resumed steps must see the same data order, so the same losses.
expect_rc "train 2 steps, same settings as epochs/" 0 lim_b.log "$GLOW" train "${TINY[@]}" --train-limit 32 \
    --epochs 2 --lr 0.001 --warmup-epochs 1 --samples 4 --steps 2 --out lim_b
expect_rc "resume it without --train-limit" 0 lim_b_resume.log "$GLOW" train --backend ref --data-dir "$DATA" \
    --test-limit 16 --samples 4 --resume --out lim_b
check "resumed run keeps --train-limit 32" contains lim_b_resume.log "train_limit = 32"
same_bpd "after resume without --train-limit" epochs/metrics.csv lim_b/metrics.csv 3 5 8
# Other images of the same count (a different --data-dir): the stored fingerprint refuses them.
mkdir -p other
python3 - other <<'PY'
import gzip, struct, sys
for split, n in (("train", 32), ("t10k", 16)):
    with gzip.open(f"{sys.argv[1]}/{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes((i * 7) % 256 for i in range(n * 784)))
    with gzip.open(f"{sys.argv[1]}/{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
expect_rc "resume on other images" 1 lim_other.log "$GLOW" train --backend ref --data-dir other --resume --out lim_b
check "other images: fingerprint named" contains lim_other.log "are not the ones the run was trained on"
expect_rc "resume with a contradicting --train-limit" 2 lim_contra.log "$GLOW" train --backend ref --resume \
    --train-limit 64 --out lim_b
check "contradiction names --train-limit" contains lim_contra.log "--train-limit 64 contradicts"

# ---- --precision: stored in the checkpoint, kept by --resume unless given -------------
expect_rc "train 1 step --precision tf32" 0 prec.log "$GLOW" train "${TINY[@]}" --steps 1 --precision tf32 --out prec
check "config.txt records the precision" contains prec/config.txt "precision = tf32"
check "the backend says what it uses (ref: fp32)" contains prec.log "precision: fp32"
expect_rc "resume it without --precision" 0 prec_resume.log "$GLOW" train --backend ref --data-dir "$DATA" \
    --test-limit 16 --samples 4 --resume --steps 2 --out prec
check "resumed run keeps --precision tf32" contains prec_resume.log "precision = tf32"
expect_rc "resume it with --precision fp32" 0 prec_fp32.log "$GLOW" train --backend ref --data-dir "$DATA" \
    --test-limit 16 --samples 4 --resume --steps 3 --precision fp32 --out prec
check "a changed precision is noted" contains prec_fp32.log "was trained with --precision tf32; continuing with fp32"
check "and recorded from there on" contains prec/config.txt "precision = fp32"
expect_rc "--precision bf16 is a usage error" 2 prec_bad.log "$GLOW" train "${TINY[@]}" --precision bf16 --out prec_bad
check "the error names --precision" contains prec_bad.log "--precision"

# ---- nothing is written before the configuration and data are checked ---------------
expect_rc "--L 6 on 32x32 images" 2 l6.log "$GLOW" train "${TINY[@]}" --L 6 --out l6
check "--L 6: names the largest valid L" contains l6.log "the largest valid L is 5"
check "--L 6: no output folder" test ! -e l6
expect_rc "--L 5 is accepted" 0 l5.log "$GLOW" train "${TINY[@]}" --L 5 --steps 1 --out l5
expect_rc "missing data dir (nothing written)" 1 nodata_early.log "$GLOW" train "${TINY[@]}" \
    --data-dir "$TMP/no-such-dir" --out nodata_early
check "missing data: no output folder" test ! -e nodata_early

# ---- a configuration larger than the device's memory ---------------------------------
# 60000 images per step with every step's activations stored: about 1.3 TB on the ref backend.
expect_rc "too large for the device" 1 oom.log "$GLOW" train --backend ref --dataset fashion-mnist --data-dir "$DATA" \
    --batch 60000 --memory store --out oom
check "too large: states the need" grep -qE 'needs at least [0-9.]+ GiB of device memory' oom.log
check "too large: states what the device has" grep -qE "device '.*' has [0-9.]+ GiB" oom.log
check "too large: suggests --memory reversible" contains oom.log "--memory reversible needs"
check "too large: suggests a smaller --batch" grep -qE -- '--batch [0-9]+ is the largest that fits' oom.log
check "too large: no training started" bash -c "! grep -qF 'training from step' oom.log"
check "too large: no output folder" test ! -e oom

# ---- class-conditional model (--conditional) ---------------------------------------
expect_rc "train --conditional" 0 cond.log "$GLOW" train "${TINY[@]}" --steps 4 --conditional --class-weight 0.5 \
    --out cond
check "conditional: settings" contains cond/config.txt "class_weight = 0.5"
check "conditional: metrics.csv has the classifier columns" test "$(head -n 1 cond/metrics.csv)" = \
    "step,epoch,lr,train_bpd,test_bpd,images_per_s,seconds,train_bits_y,train_class_acc,test_bits_y,test_class_acc"
check "conditional: train bits_y near log2(10) after 4 steps" \
    awk -F, 'NR > 1 { if (!($8 > 2.5 && $8 < 4.5)) exit 1 } END { if (NR != 5) exit 1 }' cond/metrics.csv
check "conditional: test figures on the last row" test -n "$(csv_col cond/metrics.csv 4 11)"
check "conditional: classifier logged" contains cond.log "classifier: train"
expect_rc "sample --class 2" 0 cond_s2.log "$GLOW" sample --checkpoint cond/checkpoint.glow -n 4 --class 2 \
    -o cond_s2.png --backend ref
png_is "sample --class: 4 images" cond_s2.png "$(grid_px 2)" "$(grid_px 2)"
expect_rc "sample, conditional, no --class" 0 cond_rows.log "$GLOW" sample --checkpoint cond/checkpoint.glow -n 15 \
    -o cond_rows.png --backend ref
png_is "sample: one row of 2 per class" cond_rows.png "$(grid_px 2)" "$(grid_px 10)"
expect_rc "sample --class 10 of 10 classes" 2 cond_s10.log "$GLOW" sample --checkpoint cond/checkpoint.glow \
    --class 10 --backend ref
check "--class out of range named" contains cond_s10.log "--class 10 is outside 0..9"
expect_rc "sample --class on an unconditional model" 2 uncond_class.log "$GLOW" sample \
    --checkpoint run6/checkpoint.glow --class 1 --backend ref
check "--class on an unconditional model named" contains uncond_class.log "is not class-conditional"
expect_rc "eval, conditional" 0 cond_eval.log "$GLOW" eval --checkpoint cond/checkpoint.glow --data-dir "$DATA" \
    --limit 16 --backend ref
check "eval, conditional: classifier line" grep -qE '^classifier: [0-9.]+ bits_y, accuracy' cond_eval.log
check "eval, conditional: last line is the bpd" grep -qE '^test bpd: [0-9.]+$' <(tail -n 1 cond_eval.log)
expect_rc "interpolate, conditional" 0 cond_interp.log "$GLOW" interpolate --checkpoint cond/checkpoint.glow \
    --data-dir "$DATA" --pairs 2 --steps 2 -o cond_interp.png --backend ref
expect_rc "--class-weight without --conditional" 2 cw.log "$GLOW" train "${TINY[@]}" --steps 1 --class-weight 0.1 \
    --out cw
check "--class-weight alone named" contains cw.log "--class-weight applies to a --conditional model only"

# ---- sample, interpolate, eval ----------------------------------------------------
expect_rc "sample" 0 sample.log "$GLOW" sample --checkpoint run6/checkpoint.glow -n 10 --temperature 0.7 -o s.png \
    --backend ref --seed 3
png_is "sample grid (10 -> 4 cols, 3 rows)" s.png "$(grid_px 4)" "$(grid_px 3)"
expect_rc "interpolate" 0 interp.log "$GLOW" interpolate --checkpoint run6/checkpoint.glow --dataset fashion-mnist \
    --data-dir "$DATA" --pairs 3 --steps 4 -o interp.png --backend ref
png_is "interpolation grid (3 rows of 1 + 4 + 1)" interp.png "$(grid_px 6)" "$(grid_px 3)"
expect_rc "eval" 0 eval.log "$GLOW" eval --checkpoint run6/checkpoint.glow --dataset fashion-mnist --data-dir "$DATA" \
    --limit 16 --backend ref
check "eval's last line is 'test bpd: <value>'" grep -qE '^test bpd: [0-9.]+$' <(tail -n 1 eval.log)
# Same checkpoint, images, batch and noise stream as the trainer's step-6 evaluation: the same figure.
check "eval equals the trainer's test bpd" test -n "$t6" -a "$(tail -n 1 eval.log)" = "test bpd: $t6"

# ---- --pad edge: stored in the checkpoint, followed by resume, sample and eval -------
# The run goes 2 steps, then --resume (no --pad) to 4: the same losses as 4 steps straight.
expect_rc "train --pad edge 4 steps" 0 edge4.log "$GLOW" train "${TINY[@]}" --pad edge --steps 4 --out edge4
check "config.txt records pad = edge" contains edge4/config.txt "pad = edge"
expect_rc "train --pad edge 2 steps" 0 edge2.log "$GLOW" train "${TINY[@]}" --pad edge --steps 2 --out edge2
expect_rc "resume the edge run to step 4" 0 edge_resume.log "$GLOW" train --backend ref --data-dir "$DATA" \
    --test-limit 16 --samples 16 --resume --steps 4 --out edge2
same_bpd "edge run resumed at 2" edge4/metrics.csv edge2/metrics.csv 1 2 3 4
check "zero and edge padding train differently" test "$(csv_col run6/metrics.csv 4 4)" != "$(csv_col edge4/metrics.csv 4 4)"
expect_rc "resume with a contradicting --pad" 2 edge_contra.log "$GLOW" train --backend ref --resume --pad zero \
    --out edge2
check "contradiction names --pad" contains edge_contra.log "--pad zero contradicts"
expect_rc "sample from the edge model" 0 edge_sample.log "$GLOW" sample --checkpoint edge4/checkpoint.glow -n 4 \
    -o edge_s.png --backend ref --seed 3
png_is "edge sample grid (4 -> 2x2)" edge_s.png "$(grid_px 2)" "$(grid_px 2)"
expect_rc "eval the edge model" 0 edge_eval.log "$GLOW" eval --checkpoint edge4/checkpoint.glow \
    --dataset fashion-mnist --data-dir "$DATA" --limit 16 --backend ref
te4="$(csv_col edge4/metrics.csv 4 5)"
check "edge eval equals the trainer's test bpd" test -n "$te4" -a "$(tail -n 1 edge_eval.log)" = "test bpd: $te4"

# ---- SIGTERM: checkpoint and clean exit ---------------------------------------------
"$GLOW" train "${TINY[@]}" --steps 100000 --out sig >sig.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do # wait (up to 60 s) until two steps are logged, so the handler is installed
    kill -0 "$pid" 2>/dev/null || break
    [ -f sig/metrics.csv ] && [ "$(wc -l <sig/metrics.csv)" -ge 3 ] && break
    sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 1 ]; then pass "SIGTERM exits with status 1"; else fail "SIGTERM: exit $rc"; fi
check "SIGTERM message" contains sig.log "interrupted: checkpoint saved to sig/checkpoint.glow"
last="$(tail -n 1 sig/metrics.csv | cut -d, -f1)"
expect_rc "resume after SIGTERM at its last step" 0 sig_resume.log "$GLOW" train --backend ref --resume --out sig \
    --steps "$last"
check "the SIGTERM checkpoint is at the last logged step ($last)" contains sig_resume.log "is at step $last and"

# ---- a non-finite loss keeps the last good checkpoint --------------------------------
# A short good run, then one actnorm log-scale of its checkpoint set to 100 (exp(100)
# overflows fp32): the resumed run meets a non-finite loss at its first step and must keep
# the checkpoint it started from, byte for byte. (Divergence by a huge --lr alone is not
# reliable: whether and when it overflows depends on rounding.)
expect_rc "a short run before the poisoned one" 0 nan_good.log "$GLOW" train "${TINY[@]}" --train-limit 8 \
    --steps 3 --test-limit 8 --samples 1 --out nan
python3 "$TESTS_DIR/checkpoint_set_param.py" nan/checkpoint.glow l0.s0.actnorm.logs 100
cp nan/checkpoint.glow nan_poisoned.glow
expect_rc "a run meeting a non-finite loss stops" 1 nan.log "$GLOW" train --backend ref --resume --out nan \
    --train-limit 8 --steps 10
check "non-finite message" contains nan.log "non-finite value at step"
kept="$(sed -n 's/.*last good checkpoint .* (step \([0-9]*\)) was kept.*/\1/p' nan.log)"
failed_at="$(sed -n 's/.*non-finite value at step \([0-9]*\).*/\1/p' nan.log)"
if [ -n "$kept" ] && [ -n "$failed_at" ] && [ "$kept" -lt "$failed_at" ]; then
    pass "kept checkpoint step $kept < failing step $failed_at"
else
    fail "kept checkpoint step '$kept', failing step '$failed_at'"
fi
if cmp -s nan/checkpoint.glow nan_poisoned.glow; then
    pass "the kept checkpoint is unchanged"
else
    fail "the checkpoint changed after the non-finite step"
fi
expect_rc "the kept checkpoint loads" 0 nan_resume.log "$GLOW" train --backend ref --resume --out nan --train-limit 8 \
    --steps "${kept:-3}"
check "the kept checkpoint is at step $kept" contains nan_resume.log "is at step $kept and"

# ---- bad input ------------------------------------------------------------------------
expect_rc "unknown flag" 2 bad_flag.log "$GLOW" train --no-such-flag
check "unknown flag named" contains bad_flag.log "unknown flag '--no-such-flag'"
expect_rc "out-of-range value" 2 bad_range.log "$GLOW" train --n-bits 9
check "range named" contains bad_range.log "--n-bits: 9 is out of range [1, 8]"
expect_rc "missing value" 2 bad_missing.log "$GLOW" sample --checkpoint
expect_rc "unknown command" 2 bad_cmd.log "$GLOW" no-such-command
expect_rc "missing data dir" 1 nodata.log "$GLOW" train "${TINY[@]}" --data-dir "$TMP/no-such-dir" --out nodata
check "missing data dir names the path" contains nodata.log "$TMP/no-such-dir"
: >not-a-dir
expect_rc "unwritable --out" 1 badout.log "$GLOW" train "${TINY[@]}" --out not-a-dir/run
check "unwritable --out reported before training" \
    bash -c "grep -qF 'output directory' badout.log && ! grep -qF 'training from step' badout.log"
cp run6/checkpoint.glow corrupt.glow
# Two bytes inside the last arena (Adam v), which only the checksum covers.
printf '\x55\xaa' | dd of=corrupt.glow bs=1 seek=$(($(stat -c %s corrupt.glow) - 100)) conv=notrunc 2>/dev/null
expect_rc "corrupt checkpoint" 1 corrupt.log "$GLOW" eval --checkpoint corrupt.glow --data-dir "$DATA" --backend ref
check "corrupt checkpoint: checksum named" contains corrupt.log "checksum"
check "corrupt checkpoint: file named" contains corrupt.log "corrupt.glow"
# sample, eval and interpolate check the checkpoint before they start a backend.
for cmd in sample eval interpolate; do
    data=(--data-dir "$DATA")
    [ "$cmd" = sample ] && data=()
    expect_rc "$cmd: corrupt checkpoint" 1 "corrupt_$cmd.log" "$GLOW" "$cmd" --checkpoint corrupt.glow \
        --backend ref "${data[@]}"
    check "$cmd: corrupt checkpoint found before a backend starts" \
        bash -c "grep -qF checksum corrupt_$cmd.log && ! grep -qF 'backend:' corrupt_$cmd.log"
    expect_rc "$cmd: missing checkpoint" 1 "missing_$cmd.log" "$GLOW" "$cmd" --checkpoint no-such.glow \
        --backend ref "${data[@]}"
    check "$cmd: missing checkpoint found before a backend starts" \
        bash -c "grep -qF no-such.glow missing_$cmd.log && ! grep -qF 'backend:' missing_$cmd.log"
done

e2e_summary
