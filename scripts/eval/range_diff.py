#!/usr/bin/python3
"""Compare the ranges of two calibration tables of the same model, e.g. the
default histogram subsample against --hist-sample 0 (every value binned).

For each activation type (uint8, int8) and method, each tensor's difference
is the larger of its two range ends' differences, as a fraction of the
reference table's range width. Prints median, 90th percentile and maximum
over the tensors, and which tensor has the maximum.

usage: range_diff.py SAMPLED.json EXACT.json
"""
import json
import sys


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1]) as f:
        a = json.load(f)["tensors"]
    with open(sys.argv[2]) as f:
        b = json.load(f)["tensors"]
    common = sorted(set(a) & set(b))
    if set(a) != set(b):
        print(f"tensor sets differ: {len(a)} against {len(b)} ({len(common)} in both)")
    same = sum(1 for t in common if a[t]["finite"] == b[t]["finite"] and a[t]["min"] == b[t]["min"]
               and a[t]["max"] == b[t]["max"])
    print(f"{len(common)} tensors; finite count, min and max identical for {same}")
    print(f"{'type':6} {'method':10} {'median %':>9} {'p90 %':>7} {'max %':>7}  tensor at max")
    for qt in ("uint8", "int8"):
        methods = sorted({m for t in common for m in b[t].get("ranges", {}).get(qt, {})})
        for m in methods:
            d = []
            for t in common:
                ra = a[t].get("ranges", {}).get(qt, {}).get(m)
                rb = b[t].get("ranges", {}).get(qt, {}).get(m)
                if not ra or not rb:
                    continue
                width = rb[1] - rb[0]
                if width <= 0:
                    continue
                d.append((max(abs(ra[0] - rb[0]), abs(ra[1] - rb[1])) / width, t))
            if not d:
                continue
            d.sort()
            v = [x for x, _ in d]
            print(f"{qt:6} {m:10} {100 * quantile(v, 0.5):9.2f} {100 * quantile(v, 0.9):7.2f} "
                  f"{100 * v[-1]:7.2f}  {d[-1][1]}")


if __name__ == "__main__":
    main()
