"""The `logit_rows` input: which rows of a pass get logits.

A context extension only needs the new tokens' keys and values, but a graph whose head runs on every
row computes n x vocab logits for it anyway (ONNX Runtime runs every node, whatever outputs are
asked for): for the 21m (d 384, vocab 8192) the head is about a seventh of a pass's multiply-adds,
and its output 4 MiB per 128 rows. With this input the head runs on the rows listed only (a Gather
in front of it): the engine passes none for an extension and all rows for refinement passes.

    python3 training/logit_rows.py IN.onnx OUT.onnx      # add it to an exported graph

export.py calls add_logit_rows() on every new export. The weights and every other node stay as they
are, so a graph changed this way computes the same numbers on the rows it keeps.
"""
import sys

import onnx
from onnx import TensorProto, helper

INPUT = "logit_rows"


def add_logit_rows(model: onnx.ModelProto, logits: str = "logits") -> onnx.ModelProto:
    g = model.graph
    if any(i.name == INPUT for i in g.input):
        return model
    idx = next((i for i, n in enumerate(g.node) if logits in n.output), None)
    if idx is None:
        raise ValueError(f"no node writes {logits!r}")
    head = g.node[idx]
    x = head.input[0]
    rows = x + "/logit_rows"
    g.input.append(helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["R"]))
    gather = helper.make_node("Gather", [x, INPUT], [rows], name="logit_rows/gather", axis=1)
    g.node.insert(idx, gather)
    head.input[0] = rows
    for o in g.output:
        if o.name == logits:
            dims = o.type.tensor_type.shape.dim
            if len(dims) >= 2:
                dims[1].ClearField("dim_value")
                dims[1].dim_param = "R"
    return model


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    m = onnx.load(argv[1])
    add_logit_rows(m)
    onnx.checker.check_model(m)
    onnx.save(m, argv[2])
    print(f"{argv[2]}: logits for the rows in '{INPUT}' only")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
