#!/usr/bin/env python3
"""Write tests/fixtures/head/: tiny ONNX heads (embeddings [N, D] -> class scores [N, K])
and the metrics scikit-learn gives their predictions.

Recipe (from the repo root, deterministic; versions in tools/requirements.txt):

    python3 tools/make_onnx_head.py

Data: the digits split of tests/fixtures/probe/ (tools/make_probe_fixtures.py: load_digits,
pixels / 16 as float32, 1,437 train / 360 test, D = 64, K = 10). The demo encoder's
embeddings are 64-d with 10 classes too, so the same head also runs on the demo (where its
scores mean nothing: it was fit on pixels, not embeddings; it checks the pipeline).

Files:
    digits_head_proba.onnx   scikit-learn LogisticRegression(C=1, max_iter=1000) exported as
                             Gemm(x, coef^T) + intercept -> Softmax: probabilities
    digits_head_logits.onnx  the same Gemm without the Softmax: logits
    dim32_head.onnx          a random Gemm taking [N, 32] (wrong input dimension)
    k3_head.onnx             a random Gemm giving [N, 3] (wrong class count)
    expected.json            scikit-learn's predict / predict_proba on the test rows and
                             accuracy_score, f1_score(average="macro"), log_loss,
                             roc_auc_score(multi_class="ovr") of them
"""
import json
import os

import numpy as np
import onnx
import sklearn
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "fixtures", "probe")
OUT = os.path.join(ROOT, "tests", "fixtures", "head")


def gemm_head(weights, bias, softmax, name):
    d, k = weights.shape
    x = helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["N", d])
    y = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", k])
    inits = [numpy_helper.from_array(weights.astype(np.float32), "W"),
             numpy_helper.from_array(bias.astype(np.float32), "b")]
    nodes = [helper.make_node("Gemm", ["embeddings", "W", "b"], ["logits" if softmax else "scores"])]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=1))
    graph = helper.make_graph(nodes, name, [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="tools/make_onnx_head.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    os.makedirs(OUT, exist_ok=True)
    X_train = np.load(os.path.join(SRC, "digits_X_train.npy"))
    X_test = np.load(os.path.join(SRC, "digits_X_test.npy"))
    y_train = np.loadtxt(os.path.join(SRC, "digits_y_train.txt"), dtype=int)
    y_test = np.loadtxt(os.path.join(SRC, "digits_y_test.txt"), dtype=int)
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(X_train.astype(np.float64), y_train)
    W, b = clf.coef_.T, clf.intercept_
    heads = {
        "digits_head_proba.onnx": gemm_head(W, b, True, "digits_head_proba"),
        "digits_head_logits.onnx": gemm_head(W, b, False, "digits_head_logits"),
    }
    rng = np.random.RandomState(0)
    heads["dim32_head.onnx"] = gemm_head(rng.normal(size=(32, 10)), np.zeros(10), False, "dim32_head")
    heads["k3_head.onnx"] = gemm_head(rng.normal(size=(64, 3)), np.zeros(3), False, "k3_head")
    for name, model in heads.items():
        onnx.save(model, os.path.join(OUT, name))
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")
    X = X_test.astype(np.float64)
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    expected = {
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "onnx": onnx.__version__},
        "classes": [str(c) for c in clf.classes_],
        "y_pred": pred.tolist(),
        "proba": proba.tolist(),
        "accuracy": float(accuracy_score(y_test, pred)),
        "macro_f1": float(f1_score(y_test, pred, average="macro")),
        "log_loss": float(log_loss(y_test, proba)),
        "roc_auc_ovr_macro": float(roc_auc_score(y_test, proba, multi_class="ovr")),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print("expected.json", os.path.getsize(os.path.join(OUT, "expected.json")), "bytes")


if __name__ == "__main__":
    main()
