"""Metrics (ABAW conventions). Pure numpy; checked against hand-computed cases in models/fpnmaa/metric_cases.json
(the same cases are checked by the TypeScript port in test/model/metrics.test.ts)."""
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


def expr_score(y_true, y_pred, n_classes=7):
    return 0.67 * macro_f1(y_true, y_pred, n_classes) + 0.33 * accuracy(y_true, y_pred)


def best_f1_threshold(t, p, grid=None):
    grid = np.linspace(0.05, 0.95, 91) if grid is None else grid
    scores = [f1_binary(t, p >= g) for g in grid]
    i = int(np.argmax(scores))
    return float(grid[i]), float(scores[i])
