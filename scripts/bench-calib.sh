#!/usr/bin/env bash
# Calibration benchmark on PP-OCRv4 det (issue: calibration subsystem).
# Prints a table; never asserts. Measures:
#   - peak RSS of `onnxq calibrate` with N1 and N2 samples (bounded memory:
#     the two should differ by little)
#   - throughput with observers (default histogram subsample, and every value
#     binned with --hist-sample 0) vs the same run without them; the three
#     runs are interleaved REPS times (shared machine: compare best and median)
#   - total time and the KL (entropy) search time with N2 samples
#   - when built (build/tests/bench_observe), the in-process A/B of the same
#     costs: plain, kernel statistics, subsample capture, observer
# usage: [ONNXQ=path/to/onnxq] [REPS=5] scripts/bench-calib.sh [N1 [N2 [SIZE]]]   (defaults 50 500 640)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N1=${1:-50}
N2=${2:-500}
SIZE=${3:-640}
REPS=${REPS:-5}
ONNXQ=${ONNXQ:-build/src/cli/onnxq}
MODEL=models/cache/ppocr_det.onnx
[ -x "$ONNXQ" ] || { echo "bench-calib: build first (scripts/test.sh or meson compile -C build), or set ONNXQ" >&2; exit 1; }
[ -f "$MODEL" ] || models/fetch.sh >/dev/null
DATA=out/bench/calib_det_${SIZE}
if [ ! -f "$DATA/labels.json" ] || [ "$(ls "$DATA" | grep -c -E '\.(png|jpg)$')" -lt "$N2" ]; then
  mkdir -p "$DATA"
  /usr/bin/python3 scripts/gen_text_images.py "$DATA" --kind det --count "$N2" --seed 11 --size "${SIZE}x${SIZE}" >/dev/null
fi
PRE=(--size "${SIZE}x${SIZE}" --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --threads 2)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # label, extra args...
  local label=$1; shift
  /usr/bin/time -v "$ONNXQ" calibrate "$MODEL" --data "$DATA" "${PRE[@]}" "$@" >"$tmp/$label.out" 2>"$tmp/$label.err" || {
    echo "bench-calib: $label failed:" >&2; tail -5 "$tmp/$label.err" >&2; exit 1; }
  awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/$label.err" >"$tmp/$label.rss"
}
# the summaries (stdout) carry the rates; progress lines go to stderr
rate_plain() { sed -n 's/.*without observers: [0-9.]*s (\([0-9.]*\) samples\/s).*/\1/p' "$tmp/$1.out"; }
rate_obs() { sed -n 's/.*model+observers [0-9.]*s (\([0-9.]*\) samples\/s).*/\1/p' "$tmp/$1.out"; }
# end to end (reading the data included): what a user of each command sees
e2e_plain() { sed -n 's/.*with reading the data [0-9.]*s (\([0-9.]*\) samples\/s).*/\1/p' "$tmp/$1.out"; }
e2e_obs() { sed -n 's/.*throughput: \([0-9.]*\) samples\/s overall.*/\1/p' "$tmp/$1.out"; }
# histogram binning done by the pool's workers while the next sample was read
background() { sed -n "s/.*while the next sample was read: \([0-9.]*\)s.*/\1/p" "$tmp/$1.out"; }
# share of the run spent in the observers, timed inside the run (load blurs it less than two runs)
share() { sed -n 's/.*observers: [0-9.]*s of the model+observers time (\([0-9.]*\)%).*/\1/p' "$tmp/$1.out"; }
cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u + s}' "$tmp/$1.err"; }
stats() { # values... -> "best median"
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s", v[NR], m}'
}

P=(); O=(); X=(); SO=(); SX=(); CP=(); CO=(); CX=(); EP=(); EO=(); EX=(); BG=()
for r in $(seq "$REPS"); do
  run "plain_$r" --calib-count "$N1" --no-observers
  run "obs_$r" --calib-count "$N1" --method minmax -o "$tmp/t1.json"
  run "exact_$r" --calib-count "$N1" --method minmax --hist-sample 0 -o "$tmp/t0.json"
  P+=("$(rate_plain "plain_$r")"); O+=("$(rate_obs "obs_$r")"); X+=("$(rate_obs "exact_$r")")
  SO+=("$(share "obs_$r")"); SX+=("$(share "exact_$r")")
  CP+=("$(cpu "plain_$r")"); CO+=("$(cpu "obs_$r")"); CX+=("$(cpu "exact_$r")")
  EP+=("$(e2e_plain "plain_$r")"); EO+=("$(e2e_obs "obs_$r")"); EX+=("$(e2e_obs "exact_$r")")
  BG+=("$(background "obs_$r")")
done
run minmax_n2 --calib-count "$N2" --method minmax -o "$tmp/t2.json"
run entropy_n2 --calib-count "$N2" --method entropy -o "$tmp/t3.json"

read -r pb pm <<<"$(stats "${P[@]}")"
read -r ob om <<<"$(stats "${O[@]}")"
read -r xb xm <<<"$(stats "${X[@]}")"
r1=$(cat "$tmp/obs_1.rss"); r2=$(cat "$tmp/minmax_n2.rss")
printf '\nCalibration on %s, input 1x3x%sx%s, 2 threads, %s interleaved repetitions\n\n' "$MODEL" "$SIZE" "$SIZE" "$REPS"
printf '%-44s %s\n' "measure" "value"
printf '%-44s %s\n' "peak RSS, $N1 samples (minmax)" "$r1 kB"
printf '%-44s %s\n' "peak RSS, $N2 samples (minmax)" "$r2 kB"
awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%-44s %+.1f %%\n", "RSS difference", (b - a) * 100.0 / a }'
printf '%-44s %s\n' "executor alone, samples/s (each run)" "${P[*]}"
printf '%-44s %s\n' "+ observers (default subsample)" "${O[*]}"
printf '%-44s %s\n' "+ observers (--hist-sample 0, every value)" "${X[*]}"
awk -v pb="$pb" -v pm="$pm" -v ob="$ob" -v om="$om" -v xb="$xb" -v xm="$xm" 'BEGIN {
  printf "%-44s best %.3f, median %.3f\n", "throughput ratio observed/plain (default)", ob / pb, om / pm
  printf "%-44s best %.3f, median %.3f\n", "throughput ratio observed/plain (exact)", xb / pb, xm / pm }'
# each round's observed run against that round's plain run, seconds apart:
# a shared VM's speed drifts between rounds more than within one
pair() { # observed rates... -> per-round ratios, then their median
  local r=() i=0
  for v in "$@"; do r+=("$(awk -v a="$v" -v b="${P[$i]}" 'BEGIN {printf "%.3f", a / b}')"); i=$((i + 1)); done
  printf '%s (median %s)' "${r[*]}" "$(printf '%s\n' "${r[@]}" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f", m}')"
}
printf '%-44s %s\n' "per-round ratio observed/plain (default)" "$(pair "${O[@]}")"
printf '%-44s %s\n' "per-round ratio observed/plain (exact)" "$(pair "${X[@]}")"
read -r sob som <<<"$(stats "${SO[@]}")"
read -r sxb sxm <<<"$(stats "${SX[@]}")"
printf '%-44s %s\n' "observer share of run time, % (default)" "${SO[*]}"
printf '%-44s %s\n' "observer share of run time, % (exact)" "${SX[*]}"
# stats gives the largest first: the smallest share is the best run
sob=$(printf '%s\n' "${SO[@]}" | sort -g | head -1); sxb=$(printf '%s\n' "${SX[@]}" | sort -g | head -1)
awk -v b="$sob" -v m="$som" -v xb="$sxb" -v xm="$sxm" 'BEGIN {
  printf "%-44s best %.3f, median %.3f\n", "in-run ratio 1 - share (default)", 1 - b / 100, 1 - m / 100
  printf "%-44s best %.3f, median %.3f\n", "in-run ratio 1 - share (exact)", 1 - xb / 100, 1 - xm / 100 }'
printf '%-44s %s\n' "end to end (data read included), plain" "${EP[*]}"
printf '%-44s %s\n' "end to end, + observers (default)" "${EO[*]}"
printf '%-44s %s\n' "end to end, + observers (exact)" "${EX[*]}"
read -r epb epm <<<"$(stats "${EP[@]}")"
read -r eob eom <<<"$(stats "${EO[@]}")"
read -r exb exm <<<"$(stats "${EX[@]}")"
awk -v pb="$epb" -v pm="$epm" -v ob="$eob" -v om="$eom" -v xb="$exb" -v xm="$exm" 'BEGIN {
  printf "%-44s best %.3f, median %.3f\n", "end-to-end ratio observed/plain (default)", ob / pb, om / pm
  printf "%-44s best %.3f, median %.3f\n", "end-to-end ratio observed/plain (exact)", xb / pb, xm / pm }'
printf '%-44s %s\n' "binning on the workers while reading, s" "${BG[*]}"
printf '%-44s %s\n' "CPU seconds, plain (user+sys, whole run)" "${CP[*]}"
printf '%-44s %s\n' "CPU seconds, + observers (default)" "${CO[*]}"
printf '%-44s %s\n' "CPU seconds, + observers (exact)" "${CX[*]}"
read -r cpb cpm <<<"$(stats "${CP[@]}")"; cpb=$(printf '%s\n' "${CP[@]}" | sort -g | head -1)
read -r cob com <<<"$(stats "${CO[@]}")"; cob=$(printf '%s\n' "${CO[@]}" | sort -g | head -1)
awk -v a="$cpb" -v b="$cob" -v am="$cpm" -v bm="$com" 'BEGIN {
  printf "%-44s best %.3f, median %.3f\n", "CPU-time ratio plain/observed (default)", a / b, am / bm }'
grep -h "time:" "$tmp/entropy_n2.out" | sed "s/^ */entropy, $N2 samples: /"
# the same costs without data reading between runs, one process (least noisy)
AB=$(dirname "$ONNXQ")/../../tests/bench_observe
if [ -x "$AB" ]; then
  echo
  "$AB" "$MODEL" "$DATA" 30 "$SIZE" || echo "bench-calib: bench_observe failed" >&2
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
