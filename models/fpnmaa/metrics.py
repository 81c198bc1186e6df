"""Metrics (ABAW conventions), the one module training, evaluation and the tests score with. Pure numpy; checked
against hand-computed cases in models/fpnmaa/metric_cases.json (the basic ones also by the TypeScript port in
test/model/metrics.test.ts).

Official scores (abaw_scores):
  ABAW2 (2021, the paper's edition): VA = mean of CCC(valence), CCC(arousal) with predictions clipped to +-0.99;
    EXPR = 0.67 macro-F1 (7 classes) + 0.33 accuracy; AU = 0.5 mean per-AU F1 + 0.5 accuracy over all AU decisions.
  ABAW3 and later: EXPR 8 classes (Other added), EXPR = macro-F1 and AU = mean per-AU F1 only; the multi-task
    challenge's P_MTL = CCC_V + CCC_A + F1_EXPR + F1_AU.
F1 of a class or AU that neither truth nor prediction contains counts 0 (sklearn's default), as in macro_f1."""
import numpy as np


def accuracy(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean()) if len(y_true) else float("nan")


def f1_binary(t, p):
    """F1 of the positive class; 0 when there are no positives in either (undefined: reported as 0, sklearn's default)."""
    t, p = np.asarray(t).astype(bool), np.asarray(p).astype(bool)
    tp = np.sum(t & p)
    fp = np.sum(~t & p)
    fn = np.sum(t & ~p)
    d = 2 * tp + fp + fn
    return float(2 * tp / d) if d else 0.0


def per_class_recall(y_true, y_pred, n_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    out = []
    for c in range(n_classes):
        m = y_true == c
        out.append(float((y_pred[m] == c).mean()) if m.any() else float("nan"))
    return out


def macro_f1(y_true, y_pred, n_classes):
    """Mean over classes of one-vs-rest F1 (all n_classes count, as in ABAW)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([f1_binary(y_true == c, y_pred == c) for c in range(n_classes)]))


def ccc(x, y):
    """Concordance correlation coefficient (population moments)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(), y.var()
    cov = ((x - mx) * (y - my)).mean()
    d = vx + vy + (mx - my) ** 2
    return float(2 * cov / d) if d > 0 else float("nan")


def expr_combined(f1, acc):
    """ABAW2 EXPR score from its two parts."""
    return 0.67 * f1 + 0.33 * acc


def expr_score(y_true, y_pred, n_classes=7):
    return expr_combined(macro_f1(y_true, y_pred, n_classes), accuracy(y_true, y_pred))


VA_CLIP = 0.99


def abaw_scores(va=None, expr=None, au=None, n_expr=7):
    """Official ABAW scores of one model on one set, every task optional. va: (pred (n,2), true (n,2)); expr:
    (pred (n,) class index, true (n,)); au: (pred (n,K) 0/1 decisions, true (n,K) 0/1). Rows must hold labels only
    (the dataset loaders mark unlabelled rows; select before calling). -> {"abaw2": {...}, "abaw3": {...}, parts}."""
    parts, a2, a3 = {}, {}, {}
    if va is not None:
        pred, true = np.clip(np.asarray(va[0], np.float64), -VA_CLIP, VA_CLIP), np.asarray(va[1], np.float64)
        parts["ccc_valence"], parts["ccc_arousal"] = ccc(pred[:, 0], true[:, 0]), ccc(pred[:, 1], true[:, 1])
        parts["va_n"] = int(len(true))
        a2["va"] = a3["va"] = (parts["ccc_valence"] + parts["ccc_arousal"]) / 2
    if expr is not None:
        pred, true = np.asarray(expr[0]), np.asarray(expr[1])
        parts["expr_macro_f1"], parts["expr_accuracy"] = macro_f1(true, pred, n_expr), accuracy(true, pred)
        parts["expr_n"] = int(len(true))
        a2["expr"] = expr_combined(parts["expr_macro_f1"], parts["expr_accuracy"])
        a3["expr"] = parts["expr_macro_f1"]
    if au is not None:
        pred, true = np.asarray(au[0]).astype(bool), np.asarray(au[1]).astype(bool)
        parts["au_mean_f1"] = float(np.mean([f1_binary(true[:, k], pred[:, k]) for k in range(true.shape[1])]))
        parts["au_accuracy"] = accuracy(true.reshape(-1), pred.reshape(-1))
        parts["au_n"] = int(len(true))
        a2["au"] = 0.5 * parts["au_mean_f1"] + 0.5 * parts["au_accuracy"]
        a3["au"] = parts["au_mean_f1"]
    if va is not None and expr is not None and au is not None:
        a3["p_mtl"] = p_mtl(parts["ccc_valence"], parts["ccc_arousal"], parts["expr_macro_f1"], parts["au_mean_f1"])
    return {"abaw2": a2, "abaw3": a3, "parts": parts}


def p_mtl(ccc_v, ccc_a, f1_expr, f1_au):
    """ABAW3+ multi-task challenge score."""
    return ccc_v + ccc_a + f1_expr + f1_au


def best_f1_threshold(t, p, grid=None):
    grid = np.linspace(0.05, 0.95, 91) if grid is None else grid
    scores = [f1_binary(t, p >= g) for g in grid]
    i = int(np.argmax(scores))
    return float(grid[i]), float(scores[i])
