"""AU and VA teachers: explicit, documented heuristics (not learned models, not ground truth).

AU teacher: from the 468-point 3-D face mesh (MediaPipe topology, human's facemesh.json), per AU a geometric
feature relative to a neutral reference, normalised for pose and face size:
  1. pose: the mesh is aligned to a reference mesh (mean of neutral-labelled training faces) by a 3-D similarity
     transform (Umeyama/Kabsch with scale) fitted on rigid points (forehead, nose bridge, eye corners, temples);
     this removes head roll/yaw/pitch and size. Units after alignment: inter-ocular distance (IOD) = 1.
  2. per-AU feature f (below), z = (f - median_neutral(f)) / (1.4826 * MAD_neutral(f)), signed so that the
     FACS movement makes z grow.
  3. intensity u = sigmoid(2 * (z - tau)); active when z >= tau (tau per AU in AU_TAU).
VA teacher: expression-probability-weighted circumplex coordinates plus AU cues (see va_teacher).
"""
import numpy as np

# the paper's expression classes, in the order of every expression vector here
PAPER = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise"]
AU_LABELS = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]

# MediaPipe face-mesh indices (subject's right = image left on a non-mirrored photo)
R_EYE_OUT, R_EYE_IN, L_EYE_IN, L_EYE_OUT = 33, 133, 362, 263
R_LID_UP, R_LID_LO, L_LID_UP, L_LID_LO = 159, 145, 386, 374
R_BROW_IN, L_BROW_IN = 107, 336
R_BROW_OUT, L_BROW_OUT = 70, 300
R_CHEEK, L_CHEEK = 50, 280
MOUTH_R, MOUTH_L = 61, 291
LIP_UP_OUT, LIP_UP_IN, LIP_LO_IN, LIP_LO_OUT = 0, 13, 14, 17
NOSE_BOTTOM, NOSE_TIP, CHIN, FOREHEAD, BRIDGE = 2, 1, 152, 10, 168
RIGID = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 127, 356, 234, 454]

# Threshold on z (robust SDs beyond the neutral reference) per AU; documented in MODEL_CARD.md. Brow AUs use 1.5:
# the mesh model moves brow points little (median z of AU1/AU2 on a posed surprise photo is ~1).
AU_TAU = {"AU1": 1.5, "AU2": 1.5, "AU4": 1.5, "AU6": 2.0, "AU7": 2.0, "AU10": 2.0, "AU12": 2.0,
          "AU15": 2.0, "AU23": 2.0, "AU24": 2.0, "AU25": 2.5, "AU26": 2.0}

AU_DEFINITIONS = {
    "AU1": ("inner brow raiser (frontalis, pars medialis)", "height of the inner brow points (107/336) above the inner eye corners (133/362), mean of both sides"),
    "AU2": ("outer brow raiser (frontalis, pars lateralis)", "height of the outer brow points (70/300) above the outer eye corners (33/263)"),
    "AU4": ("brow lowerer (corrugator, depressor supercilii)", "minus the inner-brow height, minus the distance between the inner brows (brows lowered and drawn together), mean of the two z-scores"),
    "AU6": ("cheek raiser (orbicularis oculi, pars orbitalis)", "minus the vertical distance from the cheek points (50/280) to the eye corners (cheeks pushed up)"),
    "AU7": ("lid tightener (orbicularis oculi, pars palpebralis)", "minus the eye aperture (upper lid 159/386 to lower lid 145/374)"),
    "AU10": ("upper lip raiser (levator labii superioris)", "minus the distance from the nose bottom (2) to the upper lip's top (0)"),
    "AU12": ("lip corner puller (zygomaticus major)", "mouth corners (61/291) raised relative to the lip midpoint (13/14) plus mouth width, mean of the two z-scores"),
    "AU15": ("lip corner depressor (depressor anguli oris)", "mouth corners lowered relative to the lip midpoint"),
    "AU23": ("lip tightener (orbicularis oris)", "minus the mouth width, lips closed (inner-lip gap below the AU25 threshold)"),
    "AU24": ("lip pressor (orbicularis oris)", "minus the vermilion thickness (0-13 plus 14-17), lips closed"),
    "AU25": ("lips part (depressor labii, relaxed mentalis, orbicularis oris)", "inner-lip gap (13-14)"),
    "AU26": ("jaw drop (masseter relaxed, pterygoid)", "distance from the nose tip (1) to the chin (152)"),
}


def umeyama(src, dst):
    """Similarity transform (s, R, t) minimising |s R src + t - dst|^2; src, dst: (n, 3)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sgn = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sgn[-1] = -1
    r = u @ np.diag(sgn) @ vt
    var = (a ** 2).sum() / len(src)
    s = (d * sgn).sum() / var
    t = md - s * r @ ms
    return s, r, t


def normalise_mesh(mesh, reference=None):
    """mesh (468, 3) in crop pixels -> aligned to reference (or just scaled to IOD 1 and centred)."""
    m = mesh.astype(np.float64).copy()
    m[:, 2] *= 1.0  # z is in the same pixel units as x, y in facemesh's output
    iod = np.linalg.norm(m[R_EYE_OUT] - m[L_EYE_OUT])
    m = (m - m[RIGID].mean(0)) / max(iod, 1e-6)
    if reference is not None:
        s, r, t = umeyama(m[RIGID], reference[RIGID])
        m = (s * (r @ m.T)).T + t
    return m


def raw_features(m):
    """Per-AU raw features (signed so that the AU's movement increases them), from an aligned mesh (y down)."""
    def height(upper, lower):  # how far `upper` is above `lower` (y grows downward)
        return m[lower, 1] - m[upper, 1]

    inner_brow = 0.5 * (height(R_BROW_IN, R_EYE_IN) + height(L_BROW_IN, L_EYE_IN))
    outer_brow = 0.5 * (height(R_BROW_OUT, R_EYE_OUT) + height(L_BROW_OUT, L_EYE_OUT))
    brow_gap = np.linalg.norm(m[R_BROW_IN] - m[L_BROW_IN])
    cheek = 0.5 * (height(R_EYE_OUT, R_CHEEK) + height(L_EYE_OUT, L_CHEEK))
    aperture = 0.5 * (np.linalg.norm(m[R_LID_UP] - m[R_LID_LO]) + np.linalg.norm(m[L_LID_UP] - m[L_LID_LO]))
    nose_lip = np.linalg.norm(m[NOSE_BOTTOM] - m[LIP_UP_OUT])
    lip_mid = 0.5 * (m[LIP_UP_IN] + m[LIP_LO_IN])
    corner_up = lip_mid[1] - 0.5 * (m[MOUTH_R, 1] + m[MOUTH_L, 1])
    width = np.linalg.norm(m[MOUTH_R] - m[MOUTH_L])
    gap = np.linalg.norm(m[LIP_UP_IN] - m[LIP_LO_IN])
    thickness = np.linalg.norm(m[LIP_UP_OUT] - m[LIP_UP_IN]) + np.linalg.norm(m[LIP_LO_IN] - m[LIP_LO_OUT])
    jaw = np.linalg.norm(m[NOSE_TIP] - m[CHIN])
    return {
        "inner_brow": inner_brow, "outer_brow": outer_brow, "neg_inner_brow": -inner_brow, "neg_brow_gap": -brow_gap,
        "neg_cheek": -cheek, "neg_aperture": -aperture, "neg_nose_lip": -nose_lip, "corner_up": corner_up,
        "width": width, "corner_down": -corner_up, "neg_width": -width, "neg_thickness": -thickness,
        "gap": gap, "jaw": jaw,
    }


FEATURES = ["inner_brow", "outer_brow", "neg_inner_brow", "neg_brow_gap", "neg_cheek", "neg_aperture", "neg_nose_lip",
            "corner_up", "width", "corner_down", "neg_width", "neg_thickness", "gap", "jaw"]


def feature_matrix(meshes, reference):
    return np.array([[raw_features(normalise_mesh(m, reference))[f] for f in FEATURES] for m in meshes])


def view_features(mesh_views, reference):
    """AU features averaged over several meshes of the same face (e.g. of its crop and of the crop's mirror image:
    every feature is a left/right average, so both estimate the same thing, with partly independent noise)."""
    return np.mean([feature_matrix(m, reference) for m in mesh_views], 0)


def fit_reference(meshes_neutral):
    """Reference shape: iterative mean of neutral meshes (aligned to the running mean, 3 passes)."""
    ref = np.mean([normalise_mesh(m) for m in meshes_neutral], 0)
    for _ in range(3):
        ref = np.mean([normalise_mesh(m, ref) for m in meshes_neutral], 0)
    return ref


def fit_neutral_stats(feats_neutral):
    med = np.median(feats_neutral, 0)
    mad = 1.4826 * np.median(np.abs(feats_neutral - med), 0)
    return med, np.maximum(mad, 1e-6)


def au_z(feats, med, mad):
    z = (feats - med) / mad
    zf = {f: z[:, i] for i, f in enumerate(FEATURES)}
    gap_z = zf["gap"]
    closed = gap_z < AU_TAU["AU25"]
    out = {
        "AU1": zf["inner_brow"],
        "AU2": zf["outer_brow"],
        "AU4": 0.5 * (zf["neg_inner_brow"] + zf["neg_brow_gap"]),
        "AU6": zf["neg_cheek"],
        "AU7": zf["neg_aperture"],
        "AU10": zf["neg_nose_lip"],
        "AU12": 0.5 * (zf["corner_up"] + zf["width"]),
        "AU15": zf["corner_down"],
        "AU23": np.where(closed, zf["neg_width"], np.minimum(zf["neg_width"], 0)),
        "AU24": np.where(closed, zf["neg_thickness"], np.minimum(zf["neg_thickness"], 0)),
        "AU25": gap_z,
        "AU26": zf["jaw"],
    }
    return np.stack([out[a] for a in AU_LABELS], 1)


def au_intensity(z):
    tau = np.array([AU_TAU[a] for a in AU_LABELS])
    return 1.0 / (1.0 + np.exp(-2.0 * (z - tau)))


def au_active(z):
    tau = np.array([AU_TAU[a] for a in AU_LABELS])
    return (z >= tau).astype(np.float32)


# Circumplex coordinates (valence, arousal) per paper class, from Russell & Mehrabian (1977) pleasure/arousal
# ratings of emotion terms as tabulated in Gebhard (2005, ALMA, table 1); Neutral at the origin.
# Order: Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise.
CIRCUMPLEX = np.array([
    [0.00, 0.00],
    [-0.51, 0.59],
    [-0.60, 0.35],
    [-0.64, 0.60],
    [0.40, 0.20],
    [-0.40, -0.20],
    [0.20, 0.45],
])
CIRCUMPLEX_NOTE = ("Anger, Disgust, Fear from Russell & Mehrabian (1977) as tabulated in ALMA (Gebhard 2005); Happiness = "
                   "'joy' (0.40, 0.20), Sadness = 'distress' (-0.40, -0.20), Surprise (0.20, 0.45) chosen between "
                   "ALMA's 'surprise' and the circumplex position; Neutral = origin. Values as recalled offline: check "
                   "against the sources before relying on them.")


def va_teacher(expr_probs, au_u):
    """expr_probs (n, 7) paper order (the expression teacher, prepare.py --expr-teacher); au_u (n, 12) AU intensities.
    valence = sum_k p_k V_k + 0.25 (u_AU12 - u_AU15) ; arousal = sum_k p_k A_k + 0.3 (mean(u_AU1, u_AU2, u_AU25, u_AU26) - 0.25);
    both clipped to [-0.99, 0.99]."""
    idx = {a: i for i, a in enumerate(AU_LABELS)}
    base = expr_probs @ CIRCUMPLEX
    v = base[:, 0] + 0.25 * (au_u[:, idx["AU12"]] - au_u[:, idx["AU15"]])
    arousal_cue = au_u[:, [idx["AU1"], idx["AU2"], idx["AU25"], idx["AU26"]]].mean(1)
    a = base[:, 1] + 0.3 * (arousal_cue - 0.25)
    return np.clip(np.stack([v, a], 1), -0.99, 0.99)
