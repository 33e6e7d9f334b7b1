#!/usr/bin/env bash
# Data-parallel training under mpirun on Fashion-MNIST with a tiny model (L=2, K=1, F=8):
#   - 2 ranks x 16 images against 1 rank x 32 for 20 steps: every step's train bpd within
#     1e-5 and the final parameters within 1e-5 relative (||a - b|| / ||b||,
#     tests/checkpoint_diff.c), and the
#     ranks' parameters bit-identical at every checkpoint (the trainer checks and says so);
#   - a 2-rank run resumed on 1 rank, and a 1-rank run resumed on 2, continue the same run;
#   - mixed devices: rank 0 on Vulkan (lavapipe), rank 1 on the CPU: bpd within 1e-5, and the
#     parameters no farther from the CPU run than a single-process Vulkan run is (see below);
#   - eval split over 2 ranks gives the single process's figure exactly;
#   - a class-conditional model with a classifier (--conditional): 2 ranks x 4 against 1 rank x 8
#     for 6 steps, train bpd and classifier bits_y within 1e-5 and the same accuracy every step;
#   - a batch that does not split evenly is a usage error;
#   - a rank killed in the middle of an epoch: the other stops within seconds naming it,
#     the last checkpoint stays intact and --resume continues.
#   usage: mpi_e2e.sh PATH/TO/glow-vk PATH/TO/checkpoint_diff PATH/TO/mpirun
set -u
GLOW="$(realpath "$1")"
DIFF="$(realpath "$2")"
MPIRUN="$3"
# --oversubscribe: more ranks than cores on small CI machines
MPI=("$MPIRUN" --oversubscribe -np 2)
. "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh"
e2e_enter_tmp glow-mpi-e2e

run() { # run NAME LOG COMMAND...: the command must succeed
    local name="$1" log="$2"; shift 2
    if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name (exit $?)"; tail -n 20 "$log" | sed 's/^/    /'; fi
}
# same_bpd NAME A/metrics.csv B/metrics.csv FIRST LAST: train_bpd of steps FIRST..LAST within 1e-5
same_bpd() {
    local out
    out=$(awk -F, -v first="$4" -v last="$5" '
        FNR == 1 { next }
        FNR == NR { a[$1] = $4; next }
        $1 >= first && $1 <= last { n++; d = a[$1] - $4; if (d < 0) d = -d; if (!($1 in a) || d > 1e-5) { bad++; msg = msg " step " $1 ": " a[$1] " vs " $4 }
                                    if (d > worst) worst = d }
        END { if (n != last - first + 1) { print "rows " n " of " last - first + 1; exit 1 }
              if (bad) { print msg; exit 1 } printf "worst |d bpd| %.3g over %d steps\n", worst, n }' "$2" "$3")
    if [ $? -eq 0 ]; then pass "$1: $out"; else fail "$1: $out"; fi
}
same_params() { # same_params NAME A.glow B.glow
    local out
    if out=$("$DIFF" "$2" "$3" 1e-5); then pass "$1: $out"; else fail "$1: $out"; fi
}

TINY=(--dataset fashion-mnist --L 2 --K 1 --hidden 8 --batch 32 --train-limit 320 --epochs 2 --steps 20
      --test-limit 64 --samples 4 --log-every 1)

# ---- 2 ranks x 16 against 1 rank x 32 ----
run "1 rank x 32, 20 steps" one.log "$GLOW" train "${TINY[@]}" --backend ref --out one
run "2 ranks x 16, 20 steps" two.log "${MPI[@]}" "$GLOW" train "${TINY[@]}" --backend ref --out two
same_bpd "2 ranks: per-step bpd" one/metrics.csv two/metrics.csv 1 20
same_params "2 ranks: final parameters" two/checkpoint.glow one/checkpoint.glow
if contains two.log "parameters identical on all 2 ranks at step 20"; then pass "2 ranks: bit-identical parameters on both ranks"
else fail "2 ranks: no parameter agreement line"; fi
if contains two.log "rank 1/2: backend: ref" && contains two.log "rank 0/2: training from step 0"; then pass "log lines carry the rank"
else fail "log lines without the rank"; fi
if [ ! -e two/.glow-vk-write-probe ] && [ "$(ls two | wc -l)" -ge 4 ]; then pass "rank 0 writes the outputs"; else fail "outputs"; fi

# ---- resume across rank counts (both halves stop at the end of epoch 1, step 10) ----
run "2 ranks, steps 1-10" a.log "${MPI[@]}" "$GLOW" train "${TINY[@]}" --steps 10 --backend ref --out two_then_one
run "... resumed on 1 rank, steps 11-20" b.log "$GLOW" train --resume --out two_then_one --steps 20 \
    --train-limit 320 --backend ref --log-every 1
same_bpd "2 then 1 rank: per-step bpd" one/metrics.csv two_then_one/metrics.csv 1 20
same_params "2 then 1 rank: final parameters" two_then_one/checkpoint.glow one/checkpoint.glow
run "1 rank, steps 1-10" c.log "$GLOW" train "${TINY[@]}" --steps 10 --backend ref --out one_then_two
run "... resumed on 2 ranks, steps 11-20" d.log "${MPI[@]}" "$GLOW" train --resume --out one_then_two --steps 20 \
    --train-limit 320 --backend ref --log-every 1
same_bpd "1 then 2 ranks: per-step bpd" one/metrics.csv one_then_two/metrics.csv 1 20
same_params "1 then 2 ranks: final parameters" one_then_two/checkpoint.glow one/checkpoint.glow

# ---- mixed devices: rank 0 on Vulkan (lavapipe), rank 1 on the CPU ----
run "mixed vulkan,ref, 20 steps" mixed.log "${MPI[@]}" "$GLOW" train "${TINY[@]}" --backend vulkan,ref --out mixed
if contains mixed.log "rank 0/2: backend: vulkan" && contains mixed.log "rank 1/2: backend: ref"; then
    pass "mixed: rank 0 on vulkan, rank 1 on ref"; else fail "mixed: backends"; fi
same_bpd "mixed: per-step bpd" one/metrics.csv mixed/metrics.csv 1 20
# Parameters: a single-process Vulkan run already differs from the CPU run by more than 1e-5
# (Adam turns rounding-sized gradients of the zero-initialised top prior into lr-sized steps;
# ~5e-5 here), so the mixed job is held to max(1e-5, that difference): it must be no farther
# from the CPU run than Vulkan alone is.
run "1 rank on vulkan, 20 steps" vk.log "$GLOW" train "${TINY[@]}" --backend vulkan --out vk
vk_rel=$("$DIFF" vk/checkpoint.glow one/checkpoint.glow 1 | sed -n 's/.*||a - b|| \/ ||b|| = \([^ ]*\) .*/\1/p')
bound=$(awk -v v="${vk_rel:-0}" 'BEGIN { x = v + 0; printf "%.3g", (x > 1e-5) ? x : 1e-5 }')
if out=$("$DIFF" mixed/checkpoint.glow one/checkpoint.glow "$bound"); then pass "mixed: final parameters (vulkan alone: $vk_rel): $out"
else fail "mixed: final parameters (vulkan alone: $vk_rel): $out"; fi

# ---- eval split over ranks: exactly the single process's figure (batch 32: last batch of 8) ----
run "eval, 1 rank" e1.log "$GLOW" eval --checkpoint one/checkpoint.glow --limit 200 --backend ref
run "eval, 2 ranks" e2.log "${MPI[@]}" "$GLOW" eval --checkpoint one/checkpoint.glow --limit 200 --backend ref
b1=$(grep '^test bpd:' e1.log); b2=$(grep '^test bpd:' e2.log)
if [ -n "$b1" ] && [ "$b1" = "$b2" ] && [ "$(grep -c '^test bpd:' e2.log)" = 1 ]; then pass "eval: 2 ranks give '$b2' exactly"
else fail "eval: '$b1' vs '$b2'"; fi

# ---- class-conditional model: the classifier's figures are summed over the ranks too ----
COND=(--dataset fashion-mnist --L 2 --K 1 --hidden 8 --batch 8 --train-limit 320 --steps 6 --test-limit 16
      --samples 4 --conditional --class-weight 0.5 --backend ref)
run "conditional, 1 rank x 8" cond1.log "$GLOW" train "${COND[@]}" --out cond1
run "conditional, 2 ranks x 4" cond2.log "${MPI[@]}" "$GLOW" train "${COND[@]}" --out cond2
same_bpd "conditional: per-step bpd" cond1/metrics.csv cond2/metrics.csv 1 6
if awk -F, 'FNR == 1 { next } FNR == NR { y[$1] = $8; acc[$1] = $9; next }
            { d = y[$1] - $8; if (d < 0) d = -d; if (d > 1e-5 || acc[$1] != $9) bad++; n++ }
            END { exit (bad || n != 6) }' cond1/metrics.csv cond2/metrics.csv; then
    pass "conditional: per-step bits_y within 1e-5 and the same accuracy on 2 ranks"
else fail "conditional: classifier figures differ"; paste -d'|' cond1/metrics.csv cond2/metrics.csv | tail -3; fi

# ---- usage ----
"${MPI[@]}" "$GLOW" train "${TINY[@]}" --batch 33 --backend ref --out bad >bad.log 2>&1
if contains bad.log "--batch 33 cannot be split evenly over 2 ranks"; then pass "indivisible batch: usage error"
else fail "indivisible batch"; tail -5 bad.log; fi

# ---- bench: 1 rank against 2, and the bytes of the gradient exchange ----
run "bench under mpirun" bench.log "${MPI[@]}" "$GLOW" bench --backend ref --batch 8 --L 1 --K 1 --hidden 8 \
    --warmup 1 --steps 2
bytes=$(sed -n 's/.*sent + received): \([0-9]*\) .*(\([0-9]*\) gradient floats.*/\1 \2/p' bench.log)
if grep -q "scaling efficiency: [0-9]" bench.log && [ -n "$bytes" ] &&
   [ "${bytes% *}" -eq $((2 * 4 * (${bytes#* } + 2))) ]; then pass "bench: efficiency and $bytes bytes/floats per step"
else fail "bench output"; tail -5 bench.log; fi

# ---- a rank killed in the middle of epoch 2 ----
FAULT=(--dataset fashion-mnist --L 2 --K 2 --hidden 32 --batch 32 --train-limit 320 --epochs 3
       --test-limit 64 --samples 4 --log-every 1 --backend ref --out fault)
"${MPI[@]}" "$GLOW" train "${FAULT[@]}" >fault.log 2>&1 &
job=$!
victim=""
for _ in $(seq 1 1200); do # up to 120 s for step 13 (an epoch is 10 steps)
    victim=$(sed -n 's/^rank 1\/2: pid \([0-9]*\) on .*/\1/p' fault.log | head -n 1)
    rows=$(($(cat fault/metrics.csv 2>/dev/null | wc -l) - 1))
    [ -n "$victim" ] && [ "$rows" -ge 13 ] && break
    sleep 0.1
done
if [ -n "$victim" ] && [ "$rows" -ge 13 ] && [ "$rows" -lt 20 ]; then
    kill -9 "$victim"
    t0=$(date +%s.%N)
    wait "$job"; rc=$?
    dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" -ne 0 ] && awk -v d="$dt" 'BEGIN { exit !(d < 15) }'; then pass "kill -9 rank 1 at step $rows: the job stopped (exit $rc) after ${dt}s"
    else fail "after the kill: exit $rc after ${dt}s"; fi
    if grep -q "rank 0/2: .*waiting for rank 1 \|process rank 1 " fault.log; then pass "the message names rank 1"
    else fail "no message naming rank 1"; tail -n 15 fault.log | sed 's/^/    /'; fi
    if "$GLOW" eval --checkpoint fault/checkpoint.glow --limit 32 --backend ref >fe.log 2>&1 && contains fe.log "step 10,"; then
        pass "the last checkpoint (step 10) is intact"; else fail "checkpoint after the kill"; cat fe.log; fi
    run "--resume on 2 ranks continues to step 30" fr.log "${MPI[@]}" "$GLOW" train --resume --out fault \
        --train-limit 320 --backend ref --log-every 1
    if contains fr.log "resuming from fault/checkpoint.glow at step 10" && [ "$(tail -n 1 fault/metrics.csv | cut -d, -f1)" = 30 ]; then
        pass "resumed from step 10 and finished at step 30"; else fail "resume after the kill"; tail -3 fault/metrics.csv; fi
else
    kill "$job" 2>/dev/null; wait "$job"
    fail "fault test: could not catch rank 1 in epoch 2 (pid '$victim', $rows steps)"; tail -n 20 fault.log
fi

e2e_summary
