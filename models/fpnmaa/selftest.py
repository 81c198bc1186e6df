"""Python-side checks (run: cd models && .venv/bin/python -m fpnmaa.selftest; test/model/python.test.ts runs it):
metrics vs the hand-computed cases, AU-teacher pose/scale invariance, the blendshape teacher against its committed
fixture reference, the blendshape -> AU table one rule at a time, the AU threshold rule, FER+ vote targets and the
vote loss against hand-computed values, a tiny training run lowers the loss, a deeper model grown from an exported
one starts as exactly that model, a wider model grown from a checkpoint starts within eps of it and its new channels
get gradient, the AU head refit (weights, weighted logistic fit) and its mix with the AU-given-expression table, and, when
the teacher packages and crops are in models/cache, the MobileFaceNet weight transplant against tfjs
(reference written by `npx tsx models/scripts/mobilefacenet-reference.ts`)."""
import json
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from . import au_blendshapes as AB
from . import blendshapes as B
from . import metrics as M
from . import refit_au as R
from . import teachers as T
from .prepare import vote_targets
from .train import init_from_onnx, target_cross_entropy
from .mobilefacenet import MobileFaceNetEmbedding
from .model import FPNMAA

PAPER_INDEX = {c: i for i, c in enumerate(AB.PAPER)}
CACHE = os.path.join(os.path.dirname(__file__), "..", "cache")
MFN_JSON = os.path.join(CACHE, "hm/package/models/mobilefacenet.json")
MFN_REFERENCE = os.path.join(CACHE, "mobilefacenet-reference.json")


def check_metrics():
    c = json.load(open(os.path.join(os.path.dirname(__file__), "metric_cases.json")))
    for k in c["accuracy"]:
        assert abs(M.accuracy(k["true"], k["pred"]) - k["expected"]) < 1e-12
    for k in c["f1_binary"]:
        assert abs(M.f1_binary(k["true"], k["pred"]) - k["expected"]) < 1e-12
    for k in c["macro_f1"]:
        assert abs(M.macro_f1(k["true"], k["pred"], k["n"]) - k["expected"]) < 1e-12
    for k in c["per_class_recall"]:
        assert np.allclose(M.per_class_recall(k["true"], k["pred"], k["n"]), k["expected"])
    for k in c["ccc"]:
        assert abs(M.ccc(k["x"], k["y"]) - k["expected"]) < 1e-12
    for k in c["expr_score"]:
        assert abs(M.expr_score(k["true"], k["pred"], k["n"]) - k["expected"]) < 1e-12
    k = c["expr_combined_published"]
    assert abs(M.expr_combined(k["f1"], k["accuracy"]) - k["expected"]) <= k["tolerance"]
    for k in c["abaw_scores"]:
        got = M.abaw_scores(va=(k["va_pred"], k["va_true"]) if "va_pred" in k else None,
                            expr=(k["expr_pred"], k["expr_true"]),
                            au=(k["au_pred"], k["au_true"]) if "au_pred" in k else None, n_expr=k["n_expr"])
        for name, want in k["expected"].items():
            have = got[name] if name in ("abaw2", "abaw3") else got["parts"][name]
            if isinstance(want, dict):
                assert have.keys() >= want.keys() and all(abs(have[t] - want[t]) < 1e-12 for t in want), (name, have, want)
            else:
                assert abs(have - want) < 1e-12, (name, have, want)
    print("metrics: ok (incl. ABAW2/ABAW3 official scores, published EXPR check)")


def check_au_invariance():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(468, 3)) * 50 + 96
    meshes = ref[None] + rng.normal(size=(40, 468, 3)) * 0.8
    refm = T.fit_reference(meshes)
    f0 = T.feature_matrix(meshes[:3], refm)
    ang = 0.3
    r = np.array([[np.cos(ang), -np.sin(ang), 0], [np.sin(ang), np.cos(ang), 0], [0, 0, 1]])
    moved = np.array([(1.7 * (r @ m.T)).T + np.array([10.0, -5.0, 3.0]) for m in meshes[:3]])
    f1 = T.feature_matrix(moved, refm)
    assert np.allclose(f0, f1, atol=1e-6), np.abs(f0 - f1).max()
    print("AU teacher: invariant to roll, scale and shift: ok")


def check_blendshape_teacher():
    ref = json.load(open(B.REFERENCE))
    teacher = B.BlendshapeTeacher(B.TASK)
    got = np.stack([teacher.measure(c) for c in B.fixture_crops()])
    err = np.abs(got - np.asarray(ref["faces"])).max()
    assert err < 1e-4, err
    # the astronaut smiles broadly; Grace Hopper's face is at rest
    smile = [B.INDEX["mouthSmileLeft"], B.INDEX["mouthSmileRight"]]
    assert got[0, smile].min() > 0.5 and got[1, smile].max() < 0.2, got[:, smile]
    # the blendshape model sees geometry only, in any pixel frame: scale and shift of the points change nothing
    pts, _ = teacher.landmarks(B.resize(B.fixture_crops()[0], B.MESH_SIZE))
    a, b = teacher.blendshapes_of(pts[:, :2]), teacher.blendshapes_of(pts[:, :2] * 2.5 + 40)
    assert np.abs(a - b).max() < 1e-4, np.abs(a - b).max()
    # mirroring swaps left and right names only
    perm = B.mirror_permutation()
    assert (perm[perm] == np.arange(52)).all() and B.BLENDSHAPE_NAMES[perm[B.INDEX["mouthSmileLeft"]]] == "mouthSmileRight"
    assert B.BLENDSHAPE_NAMES[perm[B.INDEX["jawLeft"]]] == "jawRight" and perm[B.INDEX["jawOpen"]] == B.INDEX["jawOpen"]
    print(f"blendshape teacher: fixture reference max |diff| {err:.1e}, scale/shift invariant, mirror map: ok")


def check_au_table():
    """Each rule of au_blendshapes' table, one at a time: which AUs a single movement drives, and by how much."""
    def aus(**coef):
        b = np.zeros((1, 52), np.float32)
        for name, v in coef.items():
            b[0, B.INDEX[name]] = v
        s = AB.au_scores(b)[0]
        return {a: round(float(s[i]), 4) for i, a in enumerate(AB.AU_LABELS) if s[i] != 0}
    cases = [
        (dict(browInnerUp=0.8), {"AU1": 0.8}),
        (dict(browOuterUpLeft=0.6, browOuterUpRight=0.4), {"AU2": 0.5}),
        (dict(browDownLeft=0.8), {"AU4": 0.4}),
        (dict(eyeSquintLeft=0.64, eyeSquintRight=0.64), {"AU7": 0.64}),
        (dict(eyeSquintLeft=0.64, eyeSquintRight=0.64, mouthSmileLeft=1.0, mouthSmileRight=1.0), {"AU6": 0.8, "AU7": 0.64, "AU12": 1.0}),
        (dict(cheekSquintLeft=0.9, cheekSquintRight=0.9), {}),
        (dict(mouthUpperUpLeft=0.3, mouthUpperUpRight=0.5), {"AU10": 0.4}),
        (dict(mouthSmileLeft=0.7, mouthSmileRight=0.7), {"AU12": 0.7}),
        (dict(mouthFrownLeft=0.2, mouthFrownRight=0.4), {"AU15": 0.3}),
        (dict(mouthRollUpper=0.3, mouthRollLower=0.6, mouthPucker=0.0), {"AU23": 0.3}),
        (dict(mouthPressLeft=0.5, mouthPressRight=0.5), {"AU24": 0.5}),
        (dict(jawOpen=0.6), {"AU25": 0.6, "AU26": 0.6}),
        (dict(jawOpen=0.6, mouthClose=0.6), {"AU26": 0.6}),
        (dict(mouthLowerDownLeft=0.5, mouthLowerDownRight=0.5), {"AU25": 0.5}),
        (dict(noseSneerLeft=0.9, eyeBlinkLeft=0.9, mouthStretchLeft=0.9), {}),
    ]
    for coef, want in cases:
        got = aus(**coef)
        assert got == want, (coef, got, want)
    # the threshold rule: neutral faces of one source spread over 0..0.5 in steps of 0.005, of another over 0..1 in steps
    # of 0.01; with a cap of 0.1 the threshold lies just above the second source's 91st value (0.9), the stricter one
    labels = np.array([0] * 202 + [PAPER_INDEX["Happiness"]] * 20)
    domains = np.array([0] * 101 + [1] * 101 + [0] * 20)
    scores = np.zeros((222, 12), np.float32)
    scores[:101] = np.linspace(0, 0.5, 101)[:, None]
    scores[101:202] = np.linspace(0, 1, 101)[:, None]
    scores[202:] = 0.95
    tau = AB.fit_thresholds(scores, labels, domains, neutral_cap=0.1)
    assert np.allclose(tau, 0.9, atol=1e-6) and (tau > scores[191, 0]).all(), tau
    for d in (0, 1):
        assert ((scores[(labels == 0) & (domains == d)] >= tau).mean(0) <= 0.1).all()
    assert (scores[202:] >= tau).all()
    print(f"AU table: {len(cases)} single-rule cases, threshold rule (per-source neutral cap): ok")


def check_votes():
    meta = [
        {"source": "ferplus", "split": "train", "votes": [4, 0, 0, 1, 3, 2, 0, 0, 0, 0]},  # neutral 4, sad 1, anger 3, disgust 2
        {"source": "ferplus", "split": "valid", "votes": [0, 0, 0, 0, 0, 0, 0, 6, 2, 2]},  # contempt majority
        {"source": "ferplus", "split": "valid", "votes": [3, 3, 0, 0, 0, 0, 0, 0, 4, 0]},  # unknown majority, 6 class votes
        {"source": "ferplus", "split": "train", "votes": [0, 4, 4, 0, 0, 0, 0, 0, 2, 0]},  # tie happiness/surprise
        {"source": "expressions", "label": "anger"},
    ]
    t, major, val = vote_targets(meta)
    assert np.allclose(t[0], [0.4, 0.3, 0.2, 0, 0, 0.1, 0]) and major[0] == 0
    assert not t[1].any() and major[1] == -1
    assert np.allclose(t[2], [0.5, 0, 0, 0, 0.5, 0, 0]) and major[2] == -1
    assert np.allclose(t[3], [0, 0, 0, 0, 0.5, 0, 0.5]) and major[3] == -1
    assert not t[4].any() and major[4] == -1 and val.tolist() == [False, True, True, False, False]
    # softmax(0, ln 3) = (1/4, 3/4); target (1/2, 1/2); weights (1, 3): (0.5 ln 4 + 1.5 ln 4/3) / 2
    loss = target_cross_entropy(torch.tensor([[0.0, np.log(3.0)]]), torch.tensor([[0.5, 0.5]]), torch.tensor([1.0, 3.0]))
    assert abs(loss.item() - (0.5 * np.log(4) + 1.5 * np.log(4 / 3)) / 2) < 1e-6, loss.item()
    logits, y, w = torch.randn(6, 7, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 3, 3, 6, 1, 0]), torch.rand(7) + 0.5
    assert abs(target_cross_entropy(logits, F.one_hot(y, 7).float(), w).item() - F.cross_entropy(logits, y, weight=w).item()) < 1e-6
    print("FER+ vote targets (contempt/unknown/NF set aside, ties), vote loss vs hand-computed and vs weighted CE: ok")


def check_tiny_training():
    torch.manual_seed(0)
    m = FPNMAA("realtime")
    x = torch.randn(8, 3, 112, 112)
    y = torch.randint(0, 7, (8,))
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    losses = []
    for _ in range(8):
        va, ex, au = m(x)
        loss = F.cross_entropy(ex, y) + F.mse_loss(va, torch.zeros_like(va)) + F.binary_cross_entropy_with_logits(au, torch.zeros_like(au))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    print(f"tiny training: loss {losses[0]:.3f} -> {losses[-1]:.3f}: ok")


def check_au_refit():
    """refit_au: the class-balance weights against hand-computed values; the weighted fit separates what it is given,
    and a rare class weighted up moves the boundary towards the common one."""
    human = np.array([0, 0, 0, 1, -1])
    # n = 4 labelled, 7 classes: class 0 (n_c = 3) -> (4 / 21)^0.5, class 1 (n_c = 1) -> (4 / 7)^0.5, none -> 1
    assert np.allclose(R.class_balance_weights(human), [(4 / 21) ** 0.5] * 3 + [(4 / 7) ** 0.5, 1.0])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 3, generator=g)
    y = ((x[:, :1] + 0.5 * x[:, 1:2]) > 0).float()
    w, b = R.fit_head(x, y, torch.ones(400), torch.zeros(1, 3), torch.zeros(1))
    acc = float((((x @ w.T + b) > 0).float() == y).float().mean())
    assert acc > 0.97, acc
    # overlapping classes: weighting the positives up lowers the decision threshold (more faces called active)
    noisy = ((x[:, :1] + torch.randn(400, 1, generator=g)) > 1).float()
    even = R.fit_head(x, noisy, torch.ones(400), torch.zeros(1, 3), torch.zeros(1))
    up = R.fit_head(x, noisy, 1 + 3 * noisy[:, 0], torch.zeros(1, 3), torch.zeros(1))
    active = lambda wb: int(((x @ wb[0].T + wb[1]) > 0).sum())  # noqa: E731
    assert active(up) > active(even), (active(up), active(even))
    print(f"AU head refit: balance weights, separable fit {acc:.3f}, weighted rare class fires more "
          f"({active(even)} -> {active(up)} of 400): ok")


def check_au_priors():
    """The AU-given-expression mix, one case at a time, and the table carrying every class's FACS prototype."""
    from .au_blendshapes import PROTOTYPES
    from .au_priors import mixed_targets, prior_matrix
    idx = {a: i for i, a in enumerate(T.AU_LABELS)}
    table = prior_matrix()
    for c, groups in PROTOTYPES.items():
        assert all(table[PAPER_INDEX[c], [idx[a] for a in g]].max() == 1.0 for g in groups), c
    assert not table[0].any(), "neutral carries no AU"
    teacher = np.zeros((4, 12))
    teacher[:, idx["AU12"]] = 1.0
    expression = np.zeros((4, 7))
    expression[1, 0] = 1.0  # neutral
    expression[2, 1] = 1.0  # anger
    expression[3, [0, 1]] = 0.5  # half neutral, half anger
    t = mixed_targets(teacher, expression, 0.5)
    assert np.allclose(t[:2], teacher[:2]), "unjudged and neutral faces keep the teacher's targets"
    assert np.isclose(t[2, idx["AU4"]], 0.5) and np.isclose(t[2, idx["AU10"]], 0.13) and np.isclose(t[2, idx["AU12"]], 0.5)
    assert np.isclose(t[3, idx["AU4"]], 0.25) and np.isclose(t[3, idx["AU12"]], 0.75) and t[3, idx["AU1"]] == 0
    assert t.min() >= 0 and t.max() <= 1
    print("AU targets mixed with the AU-given-expression table: prototypes in the table, 4 cases: ok")


def trained_looking_realtime():
    """A seeded realtime model in eval mode whose batch norms are away from their defaults (so that folding them into
    the convolutions, or growing around them, is exercised), and 4 random inputs."""
    torch.manual_seed(0)
    small = FPNMAA("realtime")
    for mod in small.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return small.eval(), torch.randn(4, 3, 112, 112)


def check_grown_init():
    """realtime-deep started from an exported realtime model (train.py --init-onnx) computes what that model does."""
    from .export import write_contract_onnx
    small, x = trained_looking_realtime()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "small.onnx")
        write_contract_onnx(small, path, {}, 112, [x.numpy()])
        deep = FPNMAA("realtime-deep")
        init_from_onnx(deep, path, torch.randn(16, 3, 112, 112))
    deep.eval()
    with torch.no_grad():
        err = max(float((a - b).abs().max()) for a, b in zip(small(x), deep(x)))
    assert err < 1e-4, err
    print(f"realtime-deep grown from an exported realtime model: max |diff| {err:.1e}: ok")


def check_widened_init():
    """realtime-wide grown from a realtime checkpoint (train.py --init-ckpt): exactly the trained network with the
    new channels' weights into it at 0, within a small change at the default eps, and the new channels trainable."""
    from .train import grow_from_checkpoint
    small, x = trained_looking_realtime()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "final.pt")
        torch.save({"model": small.state_dict(), "arch": "realtime"}, path)
        errs = []
        for eps in (0.0, 0.05):
            wide = FPNMAA("realtime-wide")
            grow_from_checkpoint(wide, path, eps)
            wide.eval()
            with torch.no_grad():
                errs.append(max(float((a - b).abs().max()) for a, b in zip(small(x), wide(x))))
    assert errs[0] < 1e-5 and 0 < errs[1] < 0.5, errs
    wide.train()
    sum(o.sum() for o in wide(x)).backward()
    new_filters = wide.backbone.stages[3][0].c1[0].weight.grad[256:]
    assert float(new_filters.abs().sum()) > 0, "the new channels get no gradient"
    print(f"realtime-wide grown from a realtime checkpoint: max |diff| {errs[0]:.1e} (eps 0), {errs[1]:.1e} "
          f"(eps 0.05), new channels trainable: ok")


def served_crops(idx):
    """The served 112 crops (centre of the stored 128 crops), normalised to [-1, 1], NCHW."""
    x = np.memmap(os.path.join(CACHE, "crops/crops128.u8"), np.uint8, mode="r").reshape(-1, 128, 128, 3)
    return torch.from_numpy((x[idx, 8:120, 8:120].astype(np.float32) - 127.5) / 127.5).permute(0, 3, 1, 2).contiguous()


def check_mobilefacenet_transplant():
    if not (os.path.exists(MFN_JSON) and os.path.exists(MFN_REFERENCE)):
        print("MobileFaceNet transplant: skipped (no teacher packages / tfjs reference in models/cache)")
        return
    ref = json.load(open(MFN_REFERENCE))
    net = MobileFaceNetEmbedding(MFN_JSON).eval()
    with torch.no_grad():
        emb = net(served_crops(np.arange(ref["faces"]))).numpy()
    err = np.abs(emb - np.asarray(ref["embeddings"])).max()
    assert err < 1e-4, err
    print(f"MobileFaceNet transplant: torch vs tfjs embeddings max |diff| {err:.1e} on {ref['faces']} crops: ok")
    # What the weights bring to *our* crops (looser than the network's own alignment, mostly grayscale news photos):
    # pairs of the same person should be more similar than pairs of different people. Measured AUC 0.62: above
    # chance (0.5, sd ~0.03 here) but far from what the network does on its own crops, so this only guards against
    # a transplant that lost the recognition features altogether.
    lab = np.load(os.path.join(CACHE, "labels.npz"))
    groups = lab["groups"]
    rng = np.random.default_rng(0)
    names, counts = np.unique(groups, return_counts=True)
    multi = names[counts >= 2]
    picks = [rng.choice(np.where(groups == g)[0], 2, replace=False) for g in rng.choice(multi, 150, replace=False)]
    idx = np.concatenate(picks)
    with torch.no_grad():
        e = net(served_crops(np.sort(idx))).numpy()
    pos = {i: k for k, i in enumerate(np.sort(idx))}
    same = np.array([e[pos[a]] @ e[pos[b]] for a, b in picks])
    diff = np.array([e[pos[picks[i][0]]] @ e[pos[picks[(i + 1) % len(picks)][1]]] for i in range(len(picks))])
    auc = (same[:, None] > diff[None, :]).mean()
    assert auc > 0.55, auc
    print(f"MobileFaceNet on served crops: same-person cosine {np.median(same):.2f} vs different {np.median(diff):.2f} "
          f"(medians, 150 pairs each), AUC {auc:.3f}: ok")


if __name__ == "__main__":
    check_metrics()
    check_au_invariance()
    check_blendshape_teacher()
    check_au_table()
    check_votes()
    check_tiny_training()
    check_au_priors()
    check_grown_init()
    check_widened_init()
    check_au_refit()
    check_mobilefacenet_transplant()
