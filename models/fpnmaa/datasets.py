"""Dataset adapters for research use: each reads one dataset's own file layout into the same `Frames` record.

  load("affwild2", ROOT, "Validation_Set")   Aff-Wild2, ABAW layout (below); split Train_Set or Validation_Set
  load("ferplus", ROOT, "valid")             FER+ annotator votes; split train, valid or test
  load("folders", ROOT, "test")              one folder per class, named by class (AffectNet-style exports)
  load("rafdb", ROOT, "test")                RAF-DB basic as class folders 1..7 (RAF-DB's own numbering)
  load("affectnet", ROOT, "val")             AffectNet as class folders 0..7 (AffectNet's own numbering)

A Frames record holds, per row, the image path, its group (video or file) and the labels of each task, with
unlabelled entries marked: va NaN, expr -1, au -1. Annotation rows whose image does not exist are not returned; they
are counted per task in `missing` (with examples), and every caller reports them.

Aff-Wild2, ABAW layout (the challenge's release, e.g. ABAW2 2021):
  ROOT/cropped_aligned/<video>/<frame>.jpg             frame = 1-based row number, 5 digits (00001.jpg)
  ROOT/annotations/<task folder>/<split>/<video>.txt   task folder VA_Set, EXPR_Set, AU_Set (ABAW2) or
                                                       VA_Estimation_Challenge, EXPR_Classification_Challenge,
                                                       AU_Detection_Challenge (later editions)
  Each txt: a header line naming the columns (valence,arousal / the expression classes / the AUs), then one line per
  frame: VA two numbers in [-1, 1], -5 unlabelled; EXPR one class index, -1 unlabelled; AU one 0/1 per AU, -1
  unlabelled. The expression classes come from the header (7 in ABAW2, 8 with Other later). The splits are the
  challenge's, per task, as released (a video may be in one task's training split and another's validation split).
A file that does not follow this fails with AnnotationError naming the file and line.

Folder-per-class sets: ROOT/<split>/<class>/*.jpg|png (or ROOT/<class>/... when there is no split level). Classes
outside the dataset's expression list (e.g. Contempt) are counted in `skipped`, not read.
"""
import csv
import os
from dataclasses import dataclass, field

import numpy as np

from .prepare import FERPLUS_TO_PAPER
from .teachers import PAPER

ABAW_VA_UNLABELLED = -5
ABAW_UNLABELLED = -1
TASK_FOLDERS = {"VA": ("VA_Set", "VA_Estimation_Challenge"), "EXPR": ("EXPR_Set", "EXPR_Classification_Challenge"),
                "AU": ("AU_Set", "AU_Detection_Challenge")}
IMAGE_EXT = (".jpg", ".jpeg", ".png")
# Class folder names: lower-cased name -> paper class; numbered layouts per dataset.
CLASS_NAMES = {"neutral": "Neutral", "anger": "Anger", "angry": "Anger", "disgust": "Disgust", "disgusted": "Disgust",
               "fear": "Fear", "fearful": "Fear", "happiness": "Happiness", "happy": "Happiness", "sadness": "Sadness",
               "sad": "Sadness", "surprise": "Surprise", "surprised": "Surprise"}
NUMBERED = {
    "rafdb": {"1": "Surprise", "2": "Fear", "3": "Disgust", "4": "Happiness", "5": "Sadness", "6": "Anger", "7": "Neutral"},
    "affectnet": {"0": "Neutral", "1": "Happiness", "2": "Sadness", "3": "Surprise", "4": "Fear", "5": "Disgust",
                  "6": "Anger"},
}


class AnnotationError(ValueError):
    """A bad or partial annotation file: the message names the file and the line."""


@dataclass
class Frames:
    name: str
    paths: list
    groups: list
    va: np.ndarray  # (n, 2) float32, NaN where unlabelled
    expr: np.ndarray  # (n,) int64, -1 where unlabelled
    au: np.ndarray  # (n, K) int8, -1 where unlabelled
    expr_labels: list
    au_labels: list
    aligned: bool  # images are the dataset's own aligned face crops
    missing: dict = field(default_factory=dict)  # task -> annotated rows without an image
    missing_examples: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # class folder / reason -> images not read

    def __len__(self):
        return len(self.paths)

    def subset(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        return Frames(self.name, [self.paths[i] for i in rows], [self.groups[i] for i in rows], self.va[rows],
                      self.expr[rows], self.au[rows], self.expr_labels, self.au_labels, self.aligned, self.missing,
                      self.missing_examples, self.skipped)

    def report(self):
        """One line: rows and labels per task, and what was not read."""
        n = len(self)
        parts = [f"{self.name}: {n} images", f"VA {int((~np.isnan(self.va[:, 0])).sum())}",
                 f"EXPR {int((self.expr >= 0).sum())} ({len(self.expr_labels)} classes)",
                 f"AU {int((self.au[:, 0] >= 0).sum()) if self.au.shape[1] else 0}"]
        if self.missing:
            parts.append("annotated frames without an image: " + ", ".join(f"{t} {c}" for t, c in self.missing.items())
                         + (f" (e.g. {self.missing_examples[0]})" if self.missing_examples else ""))
        if self.skipped:
            parts.append("not read: " + ", ".join(f"{k} {v}" for k, v in self.skipped.items()))
        return "; ".join(parts)


def _annotation_dir(root, task, split):
    base = os.path.join(root, "annotations") if os.path.isdir(os.path.join(root, "annotations")) else root
    for name in TASK_FOLDERS[task]:
        d = os.path.join(base, name, split)
        if os.path.isdir(d):
            return d
    return None


def _number(text, path, line):
    try:
        return float(text)
    except ValueError:
        raise AnnotationError(f"{path}:{line}: '{text}' is not a number") from None


def read_abaw_file(path, task):
    """One ABAW annotation file -> (header columns, rows: list of lists of floats)."""
    with open(path, newline="") as f:
        lines = f.read().splitlines()
    if not lines or not lines[0].strip():
        raise AnnotationError(f"{path}:1: no header line")
    header = [h.strip() for h in lines[0].split(",")]
    if task == "VA" and [h.lower() for h in header] != ["valence", "arousal"]:
        raise AnnotationError(f"{path}:1: VA header must be 'valence,arousal', found '{lines[0]}'")
    if task == "AU" and not all(h.upper().startswith("AU") for h in header):
        raise AnnotationError(f"{path}:1: AU header must name the AUs (AU1,AU2,...), found '{lines[0]}'")
    if task == "EXPR" and (len(header) < 2 or any(not h for h in header)):
        raise AnnotationError(f"{path}:1: EXPR header must name the classes, found '{lines[0]}'")
    width = 1 if task == "EXPR" else len(header)
    rows = []
    for i, text in enumerate(lines[1:], start=2):
        if not text.strip():
            if any(t.strip() for t in lines[i:]):
                raise AnnotationError(f"{path}:{i}: empty line inside the annotations")
            break
        cells = [c.strip() for c in text.split(",")]
        if len(cells) != width:
            raise AnnotationError(f"{path}:{i}: expected {width} value{'s' if width > 1 else ''}, found {len(cells)} ('{text}')")
        v = [_number(c, path, i) for c in cells]
        if task == "VA" and not all(x == ABAW_VA_UNLABELLED or -1 <= x <= 1 for x in v):
            raise AnnotationError(f"{path}:{i}: valence/arousal must be in [-1, 1] or -5 (unlabelled), found '{text}'")
        if task == "EXPR" and not (v[0] == int(v[0]) and ABAW_UNLABELLED <= v[0] < len(header)):
            raise AnnotationError(f"{path}:{i}: expression must be -1 (unlabelled) or a class index 0..{len(header) - 1}, found '{text}'")
        if task == "AU" and not all(x in (ABAW_UNLABELLED, 0, 1) for x in v):
            raise AnnotationError(f"{path}:{i}: AU values must be 0, 1 or -1 (unlabelled), found '{text}'")
        rows.append(v)
    if not rows:
        raise AnnotationError(f"{path}:2: no annotation lines after the header")
    return header, rows


def load_affwild2(root, split="Validation_Set", tasks=("VA", "EXPR", "AU")):
    crops = os.path.join(root, "cropped_aligned")
    if not os.path.isdir(crops):
        raise SystemExit(f"{root}: no cropped_aligned/ folder (Aff-Wild2 ABAW layout, see fpnmaa/datasets.py)")
    rows = {}  # (video, frame) -> {task: value}
    expr_labels, au_labels, missing, examples, found = None, None, {}, [], []
    for task in tasks:
        d = _annotation_dir(root, task, split)
        if d is None:
            continue
        found.append(task)
        for fname in sorted(f for f in os.listdir(d) if f.endswith(".txt")):
            path = os.path.join(d, fname)
            header, values = read_abaw_file(path, task)
            if task == "EXPR":
                if expr_labels is not None and header != expr_labels:
                    raise AnnotationError(f"{path}:1: classes {header} differ from the other files' {expr_labels}")
                expr_labels = header
            if task == "AU":
                if au_labels is not None and header != au_labels:
                    raise AnnotationError(f"{path}:1: AUs {header} differ from the other files' {au_labels}")
                au_labels = header
            video = fname[:-4]
            for k, v in enumerate(values):
                labelled = (v[0] >= 0) if task == "EXPR" else (min(v) > ABAW_VA_UNLABELLED if task == "VA" else min(v) >= 0)
                if not labelled:
                    continue
                frame = f"{k + 1:05d}.jpg"
                if not os.path.exists(os.path.join(crops, video, frame)):
                    missing[task] = missing.get(task, 0) + 1
                    if len(examples) < 5:
                        examples.append(os.path.join(video, frame))
                    continue
                rows.setdefault((video, frame), {})[task] = v
    if not found:
        raise SystemExit(f"{root}: no annotation folders for {split} "
                         f"(looked for annotations/{{{','.join(n for t in tasks for n in TASK_FOLDERS[t])}}}/{split})")
    keys = sorted(rows)
    n, k_au = len(keys), len(au_labels or [])
    va = np.full((n, 2), np.nan, np.float32)
    expr = np.full(n, -1, np.int64)
    au = np.full((n, k_au), -1, np.int8)
    for i, key in enumerate(keys):
        r = rows[key]
        if "VA" in r:
            va[i] = r["VA"]
        if "EXPR" in r:
            expr[i] = int(r["EXPR"][0])
        if "AU" in r:
            au[i] = r["AU"]
    return Frames(f"affwild2 {split}", [os.path.join(crops, v, f) for v, f in keys], [v for v, _ in keys], va, expr, au,
                  expr_labels or PAPER, au_labels or [], True, missing, examples)


def load_ferplus(root, split="valid"):
    """FER+ in one of two layouts: the FERPlus repository's (ROOT/FER2013{Train,Valid,Test}/label.csv, no header:
    file, face box, 10 vote counts) or one labels.csv with header file,split,<10 vote columns> (the layout this
    project's training reads). Label: the majority vote when unique and one of the 7 classes (as prepare.vote_targets);
    other images are counted in `skipped`."""
    votes, paths, skipped = [], [], {}
    flat = os.path.join(root, "labels.csv")
    if os.path.exists(flat):
        with open(flat, newline="") as f:
            r = csv.reader(f)
            header = next(r, None)
            if not header or header[:2] != ["file", "split"] or len(header) != 12:
                raise AnnotationError(f"{flat}:1: expected header file,split + 10 vote columns, found {header}")
            for i, row in enumerate(r, start=2):
                if len(row) != 12:
                    raise AnnotationError(f"{flat}:{i}: expected 12 values, found {len(row)}")
                if row[1] == split:
                    paths.append(os.path.join(root, row[0]))
                    votes.append([_number(v, flat, i) for v in row[2:]])
    else:
        d = os.path.join(root, f"FER2013{split.capitalize()}")
        path = os.path.join(d, "label.csv")
        if not os.path.exists(path):
            raise SystemExit(f"{root}: neither labels.csv nor FER2013{split.capitalize()}/label.csv")
        with open(path, newline="") as f:
            for i, row in enumerate(csv.reader(f), start=1):
                if len(row) != 12:
                    raise AnnotationError(f"{path}:{i}: expected file, face box and 10 vote counts, found {len(row)} values")
                paths.append(os.path.join(d, row[0]))
                votes.append([_number(v, path, i) for v in row[2:]])
    labels = []
    for v in votes:
        v = np.asarray(v)
        top = np.flatnonzero(v == v.max())
        labels.append(int(FERPLUS_TO_PAPER[top[0]]) if len(top) == 1 and top[0] < 7 else -1)
    return _image_frames(f"ferplus {split}", paths, labels, PAPER, skipped, "no unique majority among the 7 classes")


def load_folders(root, split=None, numbering=None):
    base = root
    if split and os.path.isdir(os.path.join(root, split)):
        base = os.path.join(root, split)
    elif split and any(os.path.isdir(os.path.join(root, s)) for s in ("train", "test", "val", "valid")):
        raise SystemExit(f"{root}: no split folder '{split}'")
    names = NUMBERED[numbering] if numbering else None
    paths, labels, skipped = [], [], {}
    for cls in sorted(os.listdir(base)):
        d = os.path.join(base, cls)
        if not os.path.isdir(d):
            continue
        label = names.get(cls) if names else CLASS_NAMES.get(cls.lower())
        files = sorted(f for f in os.listdir(d) if f.lower().endswith(IMAGE_EXT))
        if label is None:
            skipped[f"class folder '{cls}'"] = len(files)
            continue
        paths += [os.path.join(d, f) for f in files]
        labels += [PAPER.index(label)] * len(files)
    if not paths:
        raise SystemExit(f"{base}: no images in class folders")
    return _image_frames(f"{numbering or 'folders'} {split or ''}".strip(), paths, labels, PAPER, skipped, None)


def _image_frames(name, paths, labels, classes, skipped, unlabelled_reason):
    labels = np.asarray(labels, np.int64)
    present = np.array([os.path.exists(p) for p in paths], bool)
    missing = {"EXPR": int((~present).sum())} if (~present).any() else {}
    examples = [p for p, ok in zip(paths, present) if not ok][:5]
    if unlabelled_reason and (labels < 0).any():
        skipped[unlabelled_reason] = int(((labels < 0) & present).sum())
    keep = np.flatnonzero(present & (labels >= 0))
    n = len(keep)
    return Frames(name, [paths[i] for i in keep], [os.path.basename(paths[i]) for i in keep],
                  np.full((n, 2), np.nan, np.float32), labels[keep], np.full((n, 0), -1, np.int8), classes, [], False,
                  missing, examples, skipped)


KINDS = ("affwild2", "ferplus", "folders", "rafdb", "affectnet")


def load(kind, root, split=None):
    if kind == "affwild2":
        return load_affwild2(root, split or "Validation_Set")
    if kind == "ferplus":
        return load_ferplus(root, split or "valid")
    if kind == "folders":
        return load_folders(root, split)
    if kind in NUMBERED:
        return load_folders(root, split, numbering=kind)
    raise SystemExit(f"unknown dataset kind '{kind}' (one of {', '.join(KINDS)})")


def load_image(path, size):
    """An image file -> (size, size, 3) uint8 RGB, resized bilinearly (PIL, as torchvision's Resize on an image)."""
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        return np.asarray(im, np.uint8)

