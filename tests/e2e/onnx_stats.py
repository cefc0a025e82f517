#!/usr/bin/python3
"""Independent model statistics for cross-checking `onnxq inspect --json`.

Usage:
  /usr/bin/python3 onnx_stats.py MODEL                   print the stats as JSON
  /usr/bin/python3 onnx_stats.py MODEL --compare JSON    compare with onnxq's JSON
                                                         (a file, or - for stdin)

Uses Debian's python3-onnx (and numpy) only; shares no code with onnxq.
Statistics (same meaning as onnxq's inspect JSON):
  ir_version, producer_name, opsets   from the ModelProto, in file order
  inputs      main graph inputs that are not main graph initializers
  outputs     main graph outputs; each {name, dtype, shape}: dtype is the
              lower-cased TensorProto.DataType name, shape a list of ints /
              dim_param strings / null (dim with neither), or null when the
              tensor type has no shape
  nodes       node count of the main graph
  nodes_total node count over every graph, subgraphs at any depth included
  op_types    {op_type or "domain:op_type" (domain not "" / "ai.onnx"): count}
              over every graph
  subgraphs   number of GRAPH attribute values plus GRAPHS list entries,
              at any depth
  initializers, initializer_bytes
              count and numpy nbytes of every graph's initializers
Exit status with --compare: 0 equal, 1 some field differs, 2 usage/load error.
"""

import json
import sys

import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

COMPARED = ("ir_version", "producer_name", "opsets", "inputs", "outputs",
            "nodes", "nodes_total", "op_types", "subgraphs",
            "initializers", "initializer_bytes")


def dtype_name(elem_type):
    try:
        return TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return "invalid"


def value_info(vi):
    out = {"name": vi.name}
    if not vi.HasField("type"):
        out["dtype"] = "unknown"
        return out
    kind = vi.type.WhichOneof("value")
    if kind != "tensor_type":
        out["dtype"] = "non-tensor" if kind is not None else "unknown"
        return out
    tt = vi.type.tensor_type
    out["dtype"] = dtype_name(tt.elem_type) if tt.HasField("elem_type") else "unknown"
    if tt.HasField("shape"):
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        out["shape"] = dims
    else:
        out["shape"] = None
    return out


def walk(graph, st):
    for t in graph.initializer:
        st["initializers"] += 1
        st["initializer_bytes"] += int(numpy_helper.to_array(t).nbytes)
    for node in graph.node:
        st["nodes_total"] += 1
        dom = node.domain
        key = node.op_type if dom in ("", "ai.onnx") else "%s:%s" % (dom, node.op_type)
        st["op_types"][key] = st["op_types"].get(key, 0) + 1
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                subs = [attr.g]
            elif attr.type == AttributeProto.GRAPHS:
                subs = list(attr.graphs)
            else:
                subs = []
            for sub in subs:
                st["subgraphs"] += 1
                walk(sub, st)


def stats(path):
    m = onnx.load(path)  # loads external data relative to the model's folder
    g = m.graph
    init_names = {t.name for t in g.initializer}
    st = {
        "ir_version": int(m.ir_version),
        "producer_name": m.producer_name,
        "opsets": [{"domain": o.domain, "version": int(o.version)} for o in m.opset_import],
        "inputs": [value_info(v) for v in g.input if v.name not in init_names],
        "outputs": [value_info(v) for v in g.output],
        "nodes": len(g.node),
        "nodes_total": 0,
        "op_types": {},
        "subgraphs": 0,
        "initializers": 0,
        "initializer_bytes": 0,
    }
    walk(g, st)
    return st


def short(v):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 400 else s[:400] + "..."


def compare(py, oq):
    """Returns a list of human-readable differences."""
    diffs = []
    for key in COMPARED:
        if key not in oq:
            diffs.append("%s: missing in onnxq JSON" % key)
            continue
        a, b = oq[key], py[key]
        if key == "op_types":
            if a != b:
                for op in sorted(set(a) | set(b)):
                    if a.get(op) != b.get(op):
                        diffs.append("op_types[%s]: onnxq=%s python=%s" % (op, a.get(op), b.get(op)))
        elif key in ("inputs", "outputs"):
            if len(a) != len(b):
                diffs.append("%s: onnxq has %d, python %d: onnxq=%s python=%s"
                             % (key, len(a), len(b), short(a), short(b)))
                continue
            for i, (x, y) in enumerate(zip(a, b)):
                for f in sorted(set(x) | set(y)):
                    if x.get(f, "<absent>") != y.get(f, "<absent>"):
                        diffs.append("%s[%d] (%s) %s: onnxq=%s python=%s"
                                     % (key, i, y.get("name"), f, short(x.get(f, "<absent>")),
                                        short(y.get(f, "<absent>"))))
        elif a != b or type(a) is not type(b):
            diffs.append("%s: onnxq=%s python=%s" % (key, short(a), short(b)))
    return diffs


def main(argv):
    if len(argv) == 2:
        print(json.dumps(stats(argv[1]), indent=1))
        return 0
    if len(argv) == 4 and argv[2] == "--compare":
        py = stats(argv[1])
        with (sys.stdin if argv[3] == "-" else open(argv[3])) as f:
            oq = json.load(f)
        diffs = compare(py, oq)
        for d in diffs:
            print("  " + d)
        if diffs:
            return 1
        print("  ok: nodes %d, nodes_total %d, %d op types, subgraphs %d, initializers %d (%d bytes), "
              "%d inputs, %d outputs"
              % (py["nodes"], py["nodes_total"], len(py["op_types"]), py["subgraphs"],
                 py["initializers"], py["initializer_bytes"], len(py["inputs"]), len(py["outputs"])))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # load/parse errors: report, exit 2
        sys.stderr.write("onnx_stats: %s\n" % e)
        sys.exit(2)
