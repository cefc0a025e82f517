#!/usr/bin/env bash
# The shared library must export only the public API: every dynamic symbol
# it defines starts with onnxq_, and every function declared ONNXQ_API in
# include/onnxq/onnxq.h is exported.
set -euo pipefail
lib="$1"; header="$2"
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
bad=$(printf '%s\n' "$exported" | grep -v '^onnxq_' || true)
fail=0
if [ -n "$bad" ]; then
  echo "symbols exported outside the onnxq_ API:"; printf '  %s\n' $bad; fail=1
fi
declared=$(grep -oE 'ONNXQ_API [^(]*\b(onnxq_[a-z0-9_]+)\(' "$header" | grep -oE 'onnxq_[a-z0-9_]+\($' | tr -d '(' | sort -u)
missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))
if [ -n "$missing" ]; then
  echo "declared in $header but not exported:"; printf '  %s\n' $missing; fail=1
fi
n=$(printf '%s\n' "$exported" | grep -c . || true)
echo "libonnxq exports $n symbols, all onnxq_; $(printf '%s\n' "$declared" | grep -c .) declared"
[ $fail -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
