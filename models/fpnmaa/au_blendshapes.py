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

Thresholds (fit_thresholds): for each AU, the lowest score that keeps it off on at least 1 - NEUTRAL_CAP (0.90) of
the neutral-labelled training faces of each source (the target is <= 0.15 on unseen neutral faces): as sensitive as
the false-alarm budget allows. Measured against the alternative of choosing, above that floor, the score that best
separates the faces of the expressions whose EMFACS prototype carries the AU from neutral faces (Youden's J): the
floor matched the labelled expressions' prototypes more often (FER+ valid mean 0.46 vs 0.43, anger 0.29 vs 0.15) at
the same false alarms, so the prototypes serve as the check (prototype_agreement), not the fit. Intensity for soft distillation:
u = sigmoid((s - tau) / w), w = (tau - median over neutral faces) / 3 (at least 0.01): the typical neutral face gets
u ~ 0.05 whatever the AU's scale (a single width made the AUs with small thresholds, such as AU12, half-on at rest).
"""
import numpy as np

from .blendshapes import INDEX
from .teachers import AU_LABELS, PAPER

NEUTRAL_CAP = 0.10

# The FACS prototypes each expression is checked against: a face meets its class's prototype when, for every group, at least one
# AU of the group is active (e.g. surprise: AU1 or AU2, and AU25 or AU26).
PROTOTYPES = {
    "Happiness": [["AU12"]],
    "Surprise": [["AU1", "AU2"], ["AU25", "AU26"]],
    "Sadness": [["AU1", "AU4", "AU15"]],
    "Anger": [["AU4", "AU7", "AU23", "AU24"]],
    "Disgust": [["AU10", "AU4", "AU7"]],
    "Fear": [["AU1", "AU2", "AU4"], ["AU25", "AU26"]],
}
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


def fit_thresholds(scores, labels, domains=None, neutral_cap=NEUTRAL_CAP):
    """scores (n, 12), labels (n,) paper class or -1, domains (n,) the source of each face (or None) -> (12,)
    thresholds: per AU, just above the score that (1 - cap) of neutral faces stay below, in every domain on its own
    (FER+'s upscaled 48 px faces and the in-the-wild photos give the mesh different resting shapes: one cap over the
    pooled faces, mostly FER+, left AU7 on 24% of in-the-wild neutral faces)."""
    domains = np.zeros(len(labels), int) if domains is None else np.asarray(domains)
    tau = np.zeros(len(AU_LABELS))
    for k in range(len(AU_LABELS)):
        # the (1 - cap) quantile taken as a data value: scores strictly above it are at most a fraction cap
        floor = max(np.quantile(scores[(labels == 0) & (domains == d), k], 1 - neutral_cap, method="higher")
                    for d in np.unique(domains[labels == 0]))
        tau[k] = np.nextafter(floor, np.inf)
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
