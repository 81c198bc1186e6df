"""The paper's recipe end to end on Aff-Wild2 (ABAW layout, datasets.load_affwild2), exported to our contract.

  python -m fpnmaa.recipe --data AFFWILD2_DIR --run models/checkpoints/paper-recipe --out models/export/fpn-maa-recipe.onnx \\
      [--arch r50] [--teacher-epochs 20] [--student-epochs 20] [--batch 128] [--device auto|cpu|cuda] \\
      [--init-resnet50 resnet50-imagenet.pth] [--workers 4]

Stages, each resumable (re-run the same command: <run>/<stage>/last.pt holds model, optimiser, schedule, epoch; a
stage with final.pt is done and reused):
  1. teacher-VA, teacher-EXPR, teacher-AU: one single-task FPN model per task, trained on the Train_Set frames that
     carry that task's label (MSE / cross-entropy / BCE-with-logits; SGD lr 3e-4, momentum 0.9, weight decay 1e-4,
     StepLR(50 epochs, 0.1): the reference's single-task settings).
  2. pseudo.npz: each teacher labels every Train_Set frame: EXPR argmax, AU logit > 0.5, VA clipped to +-0.99; where a
     frame has a ground-truth label, the ground truth replaces the teacher's (hard labels, as the reference code).
  3. student: one multi-task model on those complete labels, loss MSE + CE + BCE summed with equal weights, Adam
     lr 1e-3, StepLR(50, 0.1).
  4. scores.json: ABAW2 and ABAW3+ scores of the teachers and the student on Validation_Set (metrics.abaw_scores);
     the student is exported to --out with the contract metadata (crop: convert_paper.AFFWILD2_CROP).
Input: the cropped_aligned frame resized to the arch's input size (r50: 128), ImageNet mean/std, random horizontal
flip p 0.5 in training. CUDA when available (--device auto), else CPU.
Differences from the reference code: the VA head ends in tanh (ours; the reference's is linear and clipped at
prediction); data is Aff-Wild2 only (the reference adds AffectNet and ExpW to the VA and EXPR teachers: convert them to
the ABAW layout to use them); without --init-resnet50 (torchvision's ImageNet ResNet-50 state dict, which the reference
starts from) the backbone starts from random weights.
"""
import argparse
import datetime
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from . import datasets as D
from .convert_paper import AFFWILD2_CROP, IMAGENET_MEAN, IMAGENET_STD, PAPER_AU_THRESHOLD, contract_props, reference_key
from .export import fixture_input, write_contract_onnx
from .model import FPNMAA, INPUT_SIZE
from .score import score

TASKS = ("VA", "EXPR", "AU")


class FrameSet(torch.utils.data.Dataset):
    def __init__(self, paths, size, train):
        self.paths, self.size, self.train = paths, size, train
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        x = torch.from_numpy(D.load_image(self.paths[i], self.size)).permute(2, 0, 1).float() / 255
        if self.train and torch.rand(()) < 0.5:
            x = x.flip(2)
        return (x - self.mean) / self.std, i


def loader(paths, size, train, batch, workers, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(FrameSet(paths, size, train), batch_size=batch, shuffle=train, generator=g,
                                       num_workers=workers, drop_last=False)


def task_loss(task, out, target):
    va, ex, au = out
    if task == "VA":
        return F.mse_loss(va, target)
    if task == "EXPR":
        return F.cross_entropy(ex, target)
    return F.binary_cross_entropy_with_logits(au, target)


def init_resnet50(model, path):
    """Backbone from torchvision's ImageNet ResNet-50 state dict (keys conv1.*, bn1.*, layer1..4.*), as the reference."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    state = model.state_dict()
    n = 0
    for k in state:
        if k.startswith("backbone.") and not k.endswith("num_batches_tracked"):
            ref = reference_key(k)[len("backbone.body."):]
            if ref not in sd or sd[ref].shape != state[k].shape:
                raise SystemExit(f"{path}: no {ref} of shape {tuple(state[k].shape)} (torchvision resnet50 state dict?)")
            state[k] = sd[ref]
            n += 1
    model.load_state_dict(state)
    print(f"backbone: {n} tensors from {path}", flush=True)


def train_stage(name, args, device, frames, rows, targets, tasks, n_expr, n_au):
    """Trains one model on frames[rows] with `targets` (task -> tensor over rows) for the tasks given; resumable."""
    d = os.path.join(args.run, name)
    os.makedirs(d, exist_ok=True)
    final = os.path.join(d, "final.pt")
    model = FPNMAA(args.arch, n_expr=n_expr, n_au=n_au)
    if os.path.exists(final):
        model.load_state_dict(torch.load(final, map_location="cpu", weights_only=True))
        print(f"{name}: done ({final})", flush=True)
        return model.to(device).eval()
    if args.init_resnet50:
        init_resnet50(model, args.init_resnet50)
    model.to(device)
    single = len(tasks) == 1
    opt = (torch.optim.SGD(model.parameters(), lr=3e-4, momentum=0.9, weight_decay=1e-4) if single
           else torch.optim.Adam(model.parameters(), lr=1e-3))
    sched = torch.optim.lr_scheduler.StepLR(opt, 50, 0.1)
    epochs = args.teacher_epochs if single else args.student_epochs
    start, steps = 0, 0
    last = os.path.join(d, "last.pt")
    if os.path.exists(last):
        s = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        sched.load_state_dict(s["sched"])
        start, steps = s["epoch"], s["steps"]
        print(f"{name}: resumed at epoch {start}", flush=True)
    paths = [frames.paths[i] for i in rows]
    for epoch in range(start, epochs):
        model.train()
        total = 0.0
        for k, (x, i) in enumerate(loader(paths, INPUT_SIZE[args.arch], True, args.batch, args.workers, seed=args.seed + epoch)):
            out = model(x.to(device))
            loss = sum(task_loss(t, out, targets[t][i].to(device)) for t in tasks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
            if k % 100 == 0:
                print(f"{name} epoch {epoch} step {k} loss {loss.item():.4f}", flush=True)
            if args.max_steps and steps >= args.max_steps:
                break
        sched.step()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch + 1,
                    "steps": steps}, last + ".tmp")
        os.replace(last + ".tmp", last)
        print(f"{name} epoch {epoch + 1}/{epochs}: mean loss {total / max(k + 1, 1):.4f}", flush=True)
        if args.max_steps and steps >= args.max_steps:
            break
    torch.save(model.state_dict(), final)
    return model.eval()


def predict(model, paths, args, device):
    outs = [[], [], []]
    model.eval()
    with torch.no_grad():
        for x, _ in loader(paths, INPUT_SIZE[args.arch], False, args.batch, args.workers):
            for o, r in zip(outs, model(x.to(device))):
                o.append(r.float().cpu())
    return [torch.cat(o) for o in outs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="Aff-Wild2 in the ABAW layout (cropped_aligned/, annotations/)")
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True, help="the student as ONNX (affect model contract)")
    ap.add_argument("--arch", default="r50", choices=sorted(INPUT_SIZE))
    ap.add_argument("--teacher-epochs", type=int, default=20)
    ap.add_argument("--student-epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--init-resnet50", default="", help="torchvision ResNet-50 ImageNet state dict (arch r50)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop each stage after N steps (smoke tests)")
    ap.add_argument("--name", default="fpn-maa-recipe")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.init_resnet50 and args.arch != "r50":
        ap.error("--init-resnet50 needs --arch r50")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    os.makedirs(args.run, exist_ok=True)
    train, val = D.load_affwild2(args.data, "Train_Set"), D.load_affwild2(args.data, "Validation_Set")
    print(f"device {device}\n{train.report()}\n{val.report()}", flush=True)
    if train.expr_labels != val.expr_labels or train.au_labels != val.au_labels:
        raise SystemExit("Train_Set and Validation_Set name different expression classes or AUs")
    n_expr, n_au = len(train.expr_labels), len(train.au_labels)
    labelled = {"VA": ~np.isnan(train.va[:, 0]), "EXPR": train.expr >= 0, "AU": (train.au >= 0).all(1)}
    truth = {"VA": torch.from_numpy(np.nan_to_num(train.va)), "EXPR": torch.from_numpy(train.expr.clip(0)),
             "AU": torch.from_numpy(train.au.clip(0).astype(np.float32))}

    teachers = {}
    for t in TASKS:
        rows = np.flatnonzero(labelled[t])
        if len(rows) == 0:
            raise SystemExit(f"no labelled {t} frames in Train_Set")
        teachers[t] = train_stage(f"teacher-{t}", args, device, train, rows, {t: truth[t][rows]}, (t,), n_expr, n_au)

    pseudo_path = os.path.join(args.run, "pseudo.npz")
    if not os.path.exists(pseudo_path):
        va = predict(teachers["VA"], train.paths, args, device)[0].clamp(-0.99, 0.99)
        ex = predict(teachers["EXPR"], train.paths, args, device)[1].argmax(1)
        au = (predict(teachers["AU"], train.paths, args, device)[2] > 0.5).float()
        full = {"VA": va, "EXPR": ex, "AU": au}
        for t in TASKS:
            m = torch.from_numpy(labelled[t])
            full[t][m] = truth[t][m].to(full[t].dtype)
        np.savez(pseudo_path, **{t: full[t].numpy() for t in TASKS})
        print(f"pseudo-labels: {len(train)} frames, ground truth kept on "
              + ", ".join(f"{t} {int(labelled[t].sum())}" for t in TASKS), flush=True)
    p = np.load(pseudo_path)
    pseudo = {"VA": torch.from_numpy(p["VA"]), "EXPR": torch.from_numpy(p["EXPR"]).long(), "AU": torch.from_numpy(p["AU"])}
    student = train_stage("student", args, device, train, np.arange(len(train)), pseudo, TASKS, n_expr, n_au)

    info = {"expr": train.expr_labels, "au": train.au_labels, "thr": np.full(n_au, PAPER_AU_THRESHOLD)}
    scores = {}
    for name, model in (("student", student), *((f"teacher-{t}", m) for t, m in teachers.items())):
        va, ex, au = (o.numpy() for o in predict(model, val.paths, args, device))
        scores[name] = score(val, va, ex, au, info)
        print(f"{name} on Validation_Set: ABAW2 {scores[name]['abaw2']}, ABAW3+ {scores[name]['abaw3']}", flush=True)
    json.dump({"validation": val.report(), **scores}, open(os.path.join(args.run, "scores.json"), "w"), indent=1)

    student = student.cpu().eval()
    size = INPUT_SIZE[args.arch]
    s = scores["student"]
    provenance = (f"{args.name}: the FPN-MAA paper's recipe (three single-task teachers, hard pseudo-labels with ground "
                  f"truth overriding, multi-task student; models/fpnmaa/recipe.py) on Aff-Wild2 Train_Set "
                  f"({len(train)} frames), arch {args.arch}, {args.teacher_epochs}/{args.student_epochs} epochs"
                  f"{', ImageNet ResNet-50 start' if args.init_resnet50 else ''}, {datetime.date.today()}; "
                  f"Validation_Set ABAW2 {json.dumps(s['abaw2'])}; crop {json.dumps(AFFWILD2_CROP)} approximates the "
                  f"cropped_aligned frames it was trained on.")
    props = contract_props(args.name, args.version, provenance, AFFWILD2_CROP, size, train.expr_labels, train.au_labels)
    worst = write_contract_onnx(student, args.out, props, size, [fixture_input(size)])
    print(f"wrote {args.out} (parity torch vs onnxruntime max |diff| {worst:.1e})", flush=True)


if __name__ == "__main__":
    main()
