"""AU teacher v3: the 12 FACS action units from MediaPipe Blendshape V2 coefficients (fpnmaa/blendshapes.py), by a
written table, with thresholds chosen by written rules. Pure functions; the table is MODEL_CARD.md's.

ARKit-style coefficient -> FACS AU (left/right pairs are averaged: the AUs here are bilateral, and the blendshapes
come from the crop and its mirror image already):
  AU1  inner brow raiser     browInnerUp
  AU2  outer brow raiser     browOuterUp (L, R)
  AU4  brow lowerer          browDown (L, R)
  AU6  cheek raiser          sqrt(eyeSquint x mouthSmile) (L, R means): cheekSquint stays ~0 even on broad smiles, and
                             the cheek raise shows as the lower lid pushed up (eyeSquint) together with the zygomatic
                             pull it accompanies; the product keeps it off squints without a smile
  AU7  lid tightener         eyeSquint (L, R)
  AU10 upper lip raiser      mouthUpperUp (L, R)
  AU12 lip corner puller     mouthSmile (L, R)
  AU15 lip corner depressor  mouthFrown (L, R)
  AU23 lip tightener         mean of mouthRollUpper, mouthRollLower and mouthPucker: the lips narrowed and their red
                             parts thinned; ARKit has no lip-tightener shape of its own
  AU24 lip pressor           mouthPress (L, R)
  AU25 lips part             max(jawOpen - mouthClose, mouthLowerDown (L, R)): ARKit opens the lips with the jaw
                             unless mouthClose holds them shut, or by pulling the lower lip down
  AU26 jaw drop              jawOpen

Thresholds (fit_thresholds): for each AU, the score that best separates faces whose expression's FACS prototype
contains the AU from neutral faces (Youden's J = TPR - FPR), among scores that keep the AU off at least
1 - NEUTRAL_CAP (0.88) of neutral faces (the target is <= 0.15 on unseen faces). Labelled training faces only. Intensity for soft distillation:
u = sigmoid((s - tau) / w), w = (tau - median over neutral faces) / 3 (at least 0.01): the typical neutral face gets
u ~ 0.05 whatever the AU's scale (a single width made the AUs with small thresholds, such as AU12, half-on at rest).
"""
import numpy as np

from .blendshapes import INDEX
from .teachers import AU_LABELS

PAPER = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
NEUTRAL_CAP = 0.12

# The FACS prototypes per expression: a face meets its class's prototype when, for every group, at least one
# AU of the group is active (e.g. surprise: AU1 or AU2, and AU25 or AU26).
PROTOTYPES = {
    "Happiness": [["AU12"]],
    "Surprise": [["AU1", "AU2"], ["AU25", "AU26"]],
    "Sadness": [["AU1", "AU4", "AU15"]],
    "Anger": [["AU4", "AU7", "AU23", "AU24"]],
    "Disgust": [["AU10", "AU4", "AU7"]],
    "Fear": [["AU1", "AU2", "AU4"], ["AU25", "AU26"]],
}
# Which classes count as showing an AU when its threshold is fitted: the prototypes', plus AU6 with happiness
# (the Duchenne smile; FACS's prototype of happiness is AU6+12).
EVIDENCE = {a: sorted({c for c, groups in PROTOTYPES.items() for g in groups if a in g}) for a in AU_LABELS}
EVIDENCE["AU6"] = ["Happiness"]


def _pair(b, name):
    return 0.5 * (b[:, INDEX[name + "Left"]] + b[:, INDEX[name + "Right"]])


def au_scores(b):
    """b: (n, 52) blendshape scores -> (n, 12) AU scores in [0, 1], AU_LABELS order (the table above)."""
    one = lambda name: b[:, INDEX[name]]  # noqa: E731
    squint, smile = _pair(b, "eyeSquint"), _pair(b, "mouthSmile")
    s = {
        "AU1": one("browInnerUp"),
        "AU2": _pair(b, "browOuterUp"),
        "AU4": _pair(b, "browDown"),
        "AU6": np.sqrt(np.clip(squint * smile, 0, 1)),
        "AU7": squint,
        "AU10": _pair(b, "mouthUpperUp"),
        "AU12": smile,
        "AU15": _pair(b, "mouthFrown"),
        "AU23": (one("mouthRollUpper") + one("mouthRollLower") + one("mouthPucker")) / 3,
        "AU24": _pair(b, "mouthPress"),
        "AU25": np.maximum(one("jawOpen") - one("mouthClose"), _pair(b, "mouthLowerDown")),
        "AU26": one("jawOpen"),
    }
    return np.clip(np.stack([s[a] for a in AU_LABELS], 1), 0, 1).astype(np.float32)


def fit_thresholds(scores, labels, neutral_cap=NEUTRAL_CAP):
    """scores (n, 12), labels (n,) paper class or -1 -> (12,) thresholds (module docstring)."""
    neutral = scores[labels == 0]
    tau = np.zeros(len(AU_LABELS))
    for k, a in enumerate(AU_LABELS):
        pos = scores[np.isin(labels, [PAPER.index(c) for c in EVIDENCE[a]]), k]
        # scores above `floor` (a neutral face's score) keep the AU off on at least 1 - cap of neutral faces
        floor = np.quantile(neutral[:, k], 1 - neutral_cap, method="higher")
        candidates = np.unique(np.quantile(np.concatenate([pos, neutral[:, k]]), np.linspace(0, 1, 401)))
        candidates = candidates[candidates > floor]
        if len(candidates) == 0 or len(pos) == 0:
            tau[k] = np.nextafter(floor, np.inf)
            continue
        j = [(pos >= t).mean() - (neutral[:, k] >= t).mean() for t in candidates]
        tau[k] = candidates[int(np.argmax(j))]
    return tau


def fit_widths(scores, labels, tau):
    return np.maximum((tau - np.median(scores[labels == 0], 0)) / 3, 0.01)


def au_intensity(scores, tau, width):
    return (1.0 / (1.0 + np.exp(-(scores - tau) / width))).astype(np.float32)


def au_active(scores, tau):
    return (scores >= tau).astype(np.float32)


def prototype_agreement(active, labels):
    """Per class with a prototype: the fraction of its faces whose active AUs meet it; and per AU the active rate on
    neutral faces (false alarms)."""
    idx = {a: i for i, a in enumerate(AU_LABELS)}
    agree = {}
    for c, groups in PROTOTYPES.items():
        m = labels == PAPER.index(c)
        if m.any():
            ok = np.ones(m.sum(), bool)
            for g in groups:
                ok &= active[m][:, [idx[a] for a in g]].max(1) > 0.5
            agree[c] = (float(ok.mean()), int(m.sum()))
    neutral = active[labels == 0]
    false_alarm = {a: float(neutral[:, i].mean()) for i, a in enumerate(AU_LABELS)} if len(neutral) else {}
    return agree, false_alarm
