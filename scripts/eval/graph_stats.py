#!/usr/bin/python3
"""Op counts of quantized ONNX models and of the graphs onnxruntime optimizes them into.

usage: graph_stats.py placement MODEL.onnx
       graph_stats.py fused OPTIMIZED.onnx
       graph_stats.py check MODEL.onnx

placement: how many compute nodes (Conv, MatMul, Gemm) the placement chose to
           compute in INT8: those whose data input (input 0) is the output
           of a DequantizeLinear that reads a QuantizeLinear output, and
           whose second input (weight, or the other activation of a MatMul)
           is a DequantizeLinear output too. onnxq stores the weights of ops
           it keeps float as int8 -> Cast -> Mul (folded by ORT), so a float
           op that merely reads a quantized tensor (its producer is INT8) is
           not counted as placed; those are listed as "float_reading_dq".
           Prints JSON {"anchors": total Conv/MatMul/Gemm, "quantized": n,
           "float_reading_dq": n, "by_op": {...}}
fused:     in a graph saved by onnxruntime (session option
           optimizedModelFilePath): how many of them ORT turned into integer
           kernels (QLinearConv, QLinearMatMul, MatMulIntegerToFloat, QGemm;
           also ConvInteger, MatMulInteger, DynamicQuantizeMatMul if any;
           weight-only kernels such as MatMulNBits are listed apart),
           how many float compute nodes remain (Conv, FusedConv, NchwcConv,
           MatMul, FusedMatMul, Gemm, FusedGemm), the leftover
           QuantizeLinear / DequantizeLinear nodes, "roundtrips": Q -> DQ or
           DQ -> Q node pairs left directly connected (a conversion back and
           forth that no kernel absorbed), and "unfolded_weights": float
           compute nodes whose weight (input 1) ORT still computes at run
           time from constants only (e.g. a DequantizeLinear of an int8
           initializer, which ORT never constant-folds). Prints JSON.
check:     onnx.checker.check_model(MODEL); prints "ok" or the error, exit 1.

Both counts include the nodes of subgraphs (If/Loop/Scan bodies).
Needs /usr/bin/python3 with onnx (Debian python3-onnx).
"""
import collections
import json
import sys

import onnx

ANCHORS = ("Conv", "MatMul", "Gemm")
INT_KERNELS = ("QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm", "ConvInteger", "MatMulInteger",
               "DynamicQuantizeMatMul")
WEIGHT_ONLY = ("MatMulNBits",)  # float activations, integer weights
FLOAT_COMPUTE = ("Conv", "FusedConv", "NchwcConv", "MatMul", "FusedMatMul", "Gemm", "FusedGemm")


def walk(graph, outer=None):
    """Yields (node, producers) for every node of graph and its subgraphs;
    producers maps a tensor name to the node writing it (outer scopes
    included)."""
    prod = dict(outer or {})
    for n in graph.node:
        for o in n.output:
            if o:
                prod[o] = n
    for n in graph.node:
        yield n, prod
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from walk(a.g, prod)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from walk(g, prod)


def constants(graph, outer=()):
    """Names in graph (and its subgraphs) whose value depends on constants
    only: initializers, Constant outputs, and outputs of nodes all of whose
    inputs are such names."""
    const = set(outer) | {i.name for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" or (n.input and all(not i or i in const for i in n.input)):
            const.update(o for o in n.output if o)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                const.update(constants(a.g, const))
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    const.update(constants(g, const))
    return const


def placement(path):
    m = onnx.load(path)
    by_op = collections.defaultdict(lambda: [0, 0])
    float_reading_dq = 0
    for n, prod in walk(m.graph):
        if n.op_type not in ANCHORS or n.domain not in ("", "ai.onnx"):
            continue
        by_op[n.op_type][1] += 1
        dq = prod.get(n.input[0]) if n.input else None
        q = prod.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        if q is None or q.op_type != "QuantizeLinear":
            continue
        w = prod.get(n.input[1]) if len(n.input) > 1 else None
        if w is not None and w.op_type == "DequantizeLinear":
            by_op[n.op_type][0] += 1
        else:
            float_reading_dq += 1
    return {
        "anchors": sum(v[1] for v in by_op.values()),
        "quantized": sum(v[0] for v in by_op.values()),
        "float_reading_dq": float_reading_dq,
        "by_op": {k: {"quantized": v[0], "total": v[1]} for k, v in sorted(by_op.items())},
    }


def fused(path):
    m = onnx.load(path)
    ops = collections.Counter(n.op_type for n, _ in walk(m.graph))
    ints = {k: ops[k] for k in INT_KERNELS if ops[k]}
    roundtrips = unfolded = 0
    const = set(constants(m.graph))
    for n, prod in walk(m.graph):
        src = prod.get(n.input[0]) if n.input else None
        if src is not None and {n.op_type, src.op_type} == {"QuantizeLinear", "DequantizeLinear"}:
            roundtrips += 1
        if n.op_type in FLOAT_COMPUTE and len(n.input) > 1 and n.input[1] in prod and n.input[1] in const:
            unfolded += 1
    return {
        "int_kernels": sum(ints.values()),
        "by_op": ints,
        "weight_only": {k: ops[k] for k in WEIGHT_ONLY if ops[k]},
        "float_compute": sum(ops[k] for k in FLOAT_COMPUTE),
        "quantize_linear": ops["QuantizeLinear"],
        "dequantize_linear": ops["DequantizeLinear"],
        "roundtrips": roundtrips,
        "unfolded_weights": unfolded,
        "nodes": sum(ops.values()),
    }


def check(path):
    try:
        onnx.checker.check_model(path)
    except Exception as e:  # noqa: BLE001 - report any checker failure
        print(str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
        sys.exit(1)
    print("ok")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("placement", "fused", "check"):
        sys.exit(__doc__.split("\n\n")[1])
    cmd, path = sys.argv[1:]
    if cmd == "check":
        check(path)
    else:
        print(json.dumps((placement if cmd == "placement" else fused)(path), sort_keys=True))


if __name__ == "__main__":
    main()
