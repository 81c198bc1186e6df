"""Tiny affect models for the contract tests (test/vision/affectModel.test.ts), written to test/fixtures/affect/.

affect-tiny.onnx meets the contract (docs/affect-model-contract.md): input [N,3,16,16] -> 3x3 conv -> ReLU ->
global average pool -> three linear heads (va through tanh). The weights are random but fixed, so every face
gives a different answer and a batching mix-up would show. The other files each break one rule:
  affect-nhwc-input.onnx        input [N,16,16,3] instead of [N,3,16,16]
  affect-no-au-output.onnx      no `au` output
  affect-missing-metadata.onnx  no affect.au_thresholds and no affect.mean
affect-tiny.expected.json holds onnxruntime's raw outputs for a fixed batch plus numpy's softmax/sigmoid, an
independent check of the Node decoding.

    python test/vision/reference/make_affect_fixtures.py    (numpy, onnx, onnxruntime)
"""
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "test/fixtures/affect"
SIZE = 16
EXPRESSIONS = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
AUS = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]
THRESHOLDS = [0.5, 0.5, 0.4, 0.5, 0.5, 0.5, 0.6, 0.5, 0.5, 0.5, 0.3, 0.5]
METADATA = {
    "affect.contract_version": "1",
    "affect.name": "tiny-contract-fixture",
    "affect.version": "0.0.1",
    "affect.provenance": "random weights from test/vision/reference/make_affect_fixtures.py; for tests only",
    "affect.input_size": str(SIZE),
    "affect.mean": json.dumps([0.485, 0.456, 0.406]),
    "affect.std": json.dumps([0.229, 0.224, 0.225]),
    "affect.crop": json.dumps({"method": "eyes-mouth-v1", "scale": 3.0, "shift": 0.5}),
    "affect.expression_labels": json.dumps(EXPRESSIONS),
    "affect.au_labels": json.dumps(AUS),
    "affect.au_thresholds": json.dumps(THRESHOLDS),
}


def build(nhwc: bool = False, with_au: bool = True, metadata: dict = METADATA) -> onnx.ModelProto:
    rng = np.random.RandomState(0)
    init = lambda name, *shape: numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), name)
    initializers = [init("conv_w", 4, 3, 3, 3), init("conv_b", 4), init("va_w", 4, 2), init("va_b", 2),
                    init("expr_w", 4, len(EXPRESSIONS)), init("expr_b", len(EXPRESSIONS)),
                    init("au_w", 4, len(AUS)), init("au_b", len(AUS))]
    nodes = []
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]))
    nodes += [
        helper.make_node("Conv", ["nchw" if nhwc else "input", "conv_w", "conv_b"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["feat"]),
        helper.make_node("MatMul", ["feat", "va_w"], ["va_mm"]),
        helper.make_node("Add", ["va_mm", "va_b"], ["va_lin"]),
        helper.make_node("Tanh", ["va_lin"], ["va"]),
        helper.make_node("MatMul", ["feat", "expr_w"], ["expr_mm"]),
        helper.make_node("Add", ["expr_mm", "expr_b"], ["expr"]),
        helper.make_node("MatMul", ["feat", "au_w"], ["au_mm"]),
        helper.make_node("Add", ["au_mm", "au_b"], ["au"]),
    ]
    shape = ["N", SIZE, SIZE, 3] if nhwc else ["N", 3, SIZE, SIZE]
    outputs = [helper.make_tensor_value_info("va", TensorProto.FLOAT, ["N", 2]),
               helper.make_tensor_value_info("expr", TensorProto.FLOAT, ["N", len(EXPRESSIONS)])]
    if with_au:
        outputs.append(helper.make_tensor_value_info("au", TensorProto.FLOAT, ["N", len(AUS)]))
    graph = helper.make_graph(nodes, "affect", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def expected(path: Path) -> dict:
    """Raw outputs and decoded values for a fixed batch of 3 faces (x[n,c,y,x] = sin(...))."""
    n, c, y, x = np.meshgrid(np.arange(3), np.arange(3), np.arange(SIZE), np.arange(SIZE), indexing="ij")
    batch = np.sin(0.37 * x + 0.23 * y + 1.1 * c + 2.0 * n).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    va, expr, au = session.run(["va", "expr", "au"], {"input": batch})
    e = np.exp(expr - expr.max(axis=1, keepdims=True))
    p_au = 1 / (1 + np.exp(-au.astype(np.float64)))
    return {
        "input": "x[n,c,y,x] = sin(0.37x + 0.23y + 1.1c + 2n), n < 3",
        "va": va.tolist(),
        "expressionProbs": (e / e.sum(axis=1, keepdims=True)).tolist(),
        "expressionLabel": [EXPRESSIONS[i] for i in expr.argmax(axis=1)],
        "auProbs": p_au.tolist(),
        "auActive": (p_au >= np.array(THRESHOLDS)).tolist(),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    onnx.save(build(), OUT / "affect-tiny.onnx")
    onnx.save(build(nhwc=True), OUT / "affect-nhwc-input.onnx")
    onnx.save(build(with_au=False), OUT / "affect-no-au-output.onnx")
    partial = {k: v for k, v in METADATA.items() if k not in ("affect.au_thresholds", "affect.mean")}
    onnx.save(build(metadata=partial), OUT / "affect-missing-metadata.onnx")
    (OUT / "affect-tiny.expected.json").write_text(json.dumps(expected(OUT / "affect-tiny.onnx"), indent=1) + "\n")


if __name__ == "__main__":
    main()
