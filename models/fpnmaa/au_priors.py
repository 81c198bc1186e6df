"""How often each of our 12 AUs occurs in each basic expression, as published, and AU targets that mix it in.

The AU teacher (MediaPipe blendshapes) sees little on 48 px faces: on FER+ anger faces browDown is barely above
neutral, so it meets the anger prototype on 0.24 of them (0.23 even where 7 of 10 annotators agree on anger).
Human expression judgements are the strongest signal there is for those faces, and the FACS literature says which
AUs an expression carries. Mixing that knowledge into the AU targets is the label-relation idea of Cui et al.
(AAAI 2020, AU labels generated from expression labels through published AU-expression relations).

AU_GIVEN_EXPRESSION: Du, Tao & Martinez, "Compound facial expressions of emotion", PNAS 2014, Table 1 (posed basic
expressions of 230 people, FACS-coded): the consistently active AUs (used by more than 70% of the subjects; the table
gives no share for them, entered as 1.0) and the variants with their share, restricted to our 12 AUs (AU5, AU9, AU11,
AU17, AU20 are not among them). The AU lists and shares were written from memory offline (only the table's layout could
be confirmed here), like the circumplex values of the VA teacher: check them against the paper before relying on them.
"""
import numpy as np

from .teachers import AU_LABELS, PAPER

# Neutral carries no AU
AU_GIVEN_EXPRESSION = {
    "Anger": {"AU4": 1.0, "AU7": 1.0, "AU24": 1.0, "AU10": 0.26, "AU23": 0.29},
    "Disgust": {"AU10": 1.0, "AU4": 0.31, "AU24": 0.26},
    "Fear": {"AU1": 1.0, "AU4": 1.0, "AU25": 1.0, "AU2": 0.57, "AU26": 0.33},
    "Happiness": {"AU12": 1.0, "AU25": 1.0, "AU6": 0.51},
    "Sadness": {"AU4": 1.0, "AU15": 1.0, "AU1": 0.60, "AU6": 0.50},
    "Surprise": {"AU1": 1.0, "AU2": 1.0, "AU25": 1.0, "AU26": 1.0},
}


def prior_matrix():
    """(7, 12): P(AU active | paper class)."""
    m = np.zeros((len(PAPER), len(AU_LABELS)))
    for c, aus in AU_GIVEN_EXPRESSION.items():
        for a, p in aus.items():
            m[PAPER.index(c), AU_LABELS.index(a)] = p
    return m


def mixed_targets(teacher, expression, weight):
    """AU targets (n, 12) in [0, 1]: per face, the expressive share s of its human expression distribution
    `expression` (n, 7; rows summing to 1, or all zero where no human judged it) moves `weight * s` of the target from
    the AU teacher's `teacher` (n, 12) to the AUs that expression carries. A neutral or unjudged face keeps its teacher
    targets; an unambiguous anger face gets (1 - weight) * teacher + weight * P(AU | anger)."""
    expressive = expression[:, 1:].sum(1, keepdims=True)
    prior = expression @ prior_matrix()
    return (1 - weight * expressive) * teacher + weight * prior
