#!/usr/bin/env bash
# Calibration benchmark on PP-OCRv4 det (issue: calibration subsystem).
# Prints a table; never asserts. Measures:
#   - peak RSS of `onnxq calibrate` with N1 and N2 samples (bounded memory:
#     the two should differ by little)
#   - throughput with observers vs the same run without them
#   - total time and the KL (entropy) search time with N2 samples
# usage: scripts/bench-calib.sh [N1 [N2 [SIZE]]]   (defaults 50 500 640)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N1=${1:-50}
N2=${2:-500}
SIZE=${3:-640}
ONNXQ=build/src/cli/onnxq
MODEL=models/cache/ppocr_det.onnx
[ -x "$ONNXQ" ] || { echo "bench-calib: build first (scripts/test.sh or meson compile -C build)" >&2; exit 1; }
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
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/$label.err")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/$label.err")
  echo "$rss" >"$tmp/$label.rss"
}

run plain_n1 --calib-count "$N1" --no-observers
run minmax_n1 --calib-count "$N1" --method minmax -o "$tmp/t1.json"
run minmax_n2 --calib-count "$N2" --method minmax -o "$tmp/t2.json"
run entropy_n2 --calib-count "$N2" --method entropy -o "$tmp/t3.json"
# the summaries (stdout) carry the rates; progress lines go to stderr
plain_rate=$(sed -n 's/.*(\([0-9.]*\) samples\/s).*/\1/p' "$tmp/plain_n1.out")
obs_rate=$(sed -n 's/.*model+observers [0-9.]*s (\([0-9.]*\) samples\/s).*/\1/p' "$tmp/minmax_n1.out")

r1=$(cat "$tmp/minmax_n1.rss"); r2=$(cat "$tmp/minmax_n2.rss")
printf '\nCalibration on %s, input 1x3x%sx%s, 2 threads\n\n' "$MODEL" "$SIZE" "$SIZE"
printf '%-34s %s\n' "measure" "value"
printf '%-34s %s\n' "peak RSS, $N1 samples (minmax)" "$r1 kB"
printf '%-34s %s\n' "peak RSS, $N2 samples (minmax)" "$r2 kB"
awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%-34s %+.1f %%\n", "RSS difference", (b - a) * 100.0 / a }'
printf '%-34s %s samples/s\n' "executor alone ($N1 samples)" "${plain_rate:-?}"
printf '%-34s %s samples/s\n' "executor + observers ($N1)" "${obs_rate:-?}"
awk -v a="${plain_rate:-0}" -v b="${obs_rate:-0}" 'BEGIN { if (a > 0) printf "%-34s %.3f\n", "throughput ratio (observed/plain)", b / a }'
grep -h "time:" "$tmp/entropy_n2.out" | sed "s/^ */entropy, $N2 samples: /"
