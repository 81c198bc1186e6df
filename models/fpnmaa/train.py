"""Train an FPN-MAA student (resumable).

  python -m fpnmaa.train --crops models/cache/crops --labels models/cache/labels.npz --run models/checkpoints/NAME \
      [--arch realtime|mfn|mfn-bn|r50] [--init-backbone models/cache/hm/package/models/mobilefacenet.json] \
      [--distill soft|hard] [--epochs 24] [--threads 2] [--limit N]

Re-running the same command resumes from NAME/last.pt (model, optimiser, schedule, RNG states, epoch).
Seeds are fixed (--seed). The model of the last epoch (or, with --ema, the moving average at the last step) is kept (no
selection on the validation split).

Targets per face:
  expression: ground truth where labelled (class-weighted CE, weights n_c^-1/2); FER+ faces: cross-entropy against
    the annotators' vote distribution (the FER+ paper's best scheme), with the same class weights; teacher = labels.npz's expression
    teacher (prepare.py --expr-teacher: the mean of the two tfjs expression teachers, or one of them). soft: + T^2 KL(teacher_T || student_T) on every face (T = --temperature;
    weight --kd_weight, or --kd_weight_voted on faces whose target is a FER+ vote distribution);
    hard (the paper): faces without a human target get CE on the teacher's argmax, the others their human target only.
  AU: soft: BCE against the AU teacher's intensity u = sigmoid(2(z - tau)); hard: BCE against active = z >= tau.
  VA: MSE against the VA teacher, per dimension divided by the training targets' variance.
Teacher labels come from the un-augmented crop (the teachers run in tfjs, offline, once).
--init-onnx: start every weight from an exported model of the same arch (e.g. the shipped one): the exporter folded
each batch norm into its convolution, so the conv takes the folded weight and its batch norm is set to reproduce the
folded bias on the calibration crops (train-mode batch statistics then start close to the exported function).
--init-backbone (arch mfn): start the backbone from MobileFaceNet's face-recognition weights (tfjs graph model) instead
of random; --backbone-lr-mult scales the backbone's learning rate (pretrained features need a gentler one).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import metrics as M
from .mobilefacenet import load_tfjs_mobilefacenet
from .model import FPNMAA, INPUT_SIZE, BasicBlock
from .prepare import load_crops

STORE = 128
MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]


def load_data(crops_dir, labels_path):
    meta = [json.loads(line) for line in open(os.path.join(crops_dir, "faces.jsonl"))]
    n = len(meta)
    x = np.fromfile(os.path.join(crops_dir, "crops128.u8"), np.uint8)[: n * STORE * STORE * 3].reshape(n, STORE, STORE, 3)
    lab = dict(np.load(labels_path, allow_pickle=False))
    return meta, torch.from_numpy(x), lab


def class_weights(labels, votes=None):
    """Per-class counts of the labelled faces (plus the vote mass of the vote targets) and the loss weights against
    the skew: n_c^-1/2, scaled so that the weighted count equals the plain count."""
    counts = np.bincount(labels[labels >= 0], minlength=7).astype(np.float64)
    if votes is not None:
        counts = counts + votes.sum(0)
    w = np.maximum(counts, 1) ** -0.5
    return counts, torch.tensor(w / (w * counts).sum() * counts.sum(), dtype=torch.float32)


def target_cross_entropy(logits, target, class_w):
    """Class-weighted cross-entropy against target distributions (rows summing to 1), normalised by the weights the
    way F.cross_entropy(weight=) is: for one-hot targets it is exactly that."""
    wt = target * class_w
    return -(wt * F.log_softmax(logits, 1)).sum() / wt.sum()


def calibration_crops(x_u8, train_idx, size, seed):
    """512 training crops (fixed by the seed), served view: what a transplanted backbone's taps are standardised on."""
    pick = np.random.default_rng(seed).choice(train_idx, min(512, len(train_idx)), replace=False)
    return augment_view(x_u8[np.sort(pick)], size, False, None)


def init_from_onnx(model, onnx_path, calib):
    """Loads an exported model's weights into `model` (same arch, or a deeper one). Conv+BN pairs come back as folded
    weights (`<conv>.weight`, `<conv>.weight_bias`); each such BN is set, from its input statistics on `calib`, so that
    BN(x) = x + folded bias in eval mode and approximately so in train mode. A residual block the file does not have
    starts as the identity (its last batch norm zeroed: its input is already rectified), so a deeper model starts as
    exactly the exported one. Returns the file's model name and version, for the provenance of what is trained from it."""
    import onnx
    from onnx import numpy_helper

    source = onnx.load(onnx_path)
    props = {p.key: p.value for p in source.metadata_props}
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in source.graph.initializer}
    modules = dict(model.named_modules())
    state = model.state_dict()
    loaded, folded = 0, {}
    for name, t in inits.items():
        if name in state and state[name].shape == t.shape:
            state[name].copy_(t)
            loaded += 1
        elif name.endswith(".weight_bias"):
            conv = name[: -len(".weight_bias")]
            bn = conv[: -1] + str(int(conv[-1]) + 1)  # conv_bn(): Sequential(conv, bn, ...)
            if not isinstance(modules.get(bn), torch.nn.BatchNorm2d):
                raise SystemExit(f"{onnx_path}: {name} has no batch norm after {conv}")
            folded[bn] = t
    model.load_state_dict(state)
    grown = [name for name, mod in modules.items() if isinstance(mod, BasicBlock) and mod.short is None
             and not any(k.startswith(name + ".") for k in inits)]
    for name in grown:
        nn.init.zeros_(modules[name].c2[1].weight)
        nn.init.zeros_(modules[name].c2[1].bias)

    def set_bn(mod, inputs, bias):
        x = inputs[0]
        mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
        mod.running_mean.copy_(mean)
        mod.running_var.copy_(var)
        mod.weight.data.copy_((var + mod.eps).sqrt())
        mod.bias.data.copy_(mean + bias)

    hooks = [modules[bn].register_forward_pre_hook(lambda mod, inp, b=b: set_bn(mod, inp, b)) for bn, b in folded.items()]
    model.eval()
    with torch.no_grad():
        model(calib)
    for h in hooks:
        h.remove()
    missing = [k for k in state if k not in inits and not any(k.startswith(m + ".") for m in [*folded, *grown])]
    print(f"init from {onnx_path}: {loaded} tensors as they are, {len(folded)} batch norms from folded convs, "
          f"{len(grown)} new blocks as identities {grown}; not in the file: {missing}", flush=True)
    return f"{props.get('affect.name', onnx_path)} {props.get('affect.version', '')}".strip()


def grow_from_checkpoint(model, ckpt_path, eps=0.05):
    """Starts a wider model from a trained checkpoint of a narrower one with the same layout (e.g. realtime ->
    realtime-wide): every tensor's trained values go into its leading slice; the new output channels keep their
    fresh random weights, and their weights into the trained channels (a convolution's or linear layer's input slice
    beyond the trained width) are that fresh init times `eps`. So the network starts within ~eps of the trained one,
    and, unlike an exactly zero start (the identity-grown realtime-deep, whose new blocks stayed at ~1% of their
    neighbours' scale), the new channels get gradient from the first step. Returns the checkpoint's description."""
    ck, _, arch = load_student(ckpt_path)
    old = ck["model"]
    state = model.state_dict()
    grown = 0
    for name, t in state.items():
        if name not in old:
            raise SystemExit(f"{ckpt_path}: no {name}: --init-ckpt grows widths, not layers")
        o = old[name]
        if o.dim() != t.dim() or any(a > b for a, b in zip(o.shape, t.shape)):
            raise SystemExit(f"{ckpt_path}: {name} {tuple(o.shape)} does not fit in {tuple(t.shape)}")
        if o.shape == t.shape:
            t.copy_(o)
            continue
        grown += 1
        if t.dim() >= 2 and t.shape[1] > o.shape[1]:
            t[: o.shape[0], o.shape[1]:] *= eps
        t[tuple(slice(0, n) for n in o.shape)] = o
    model.load_state_dict(state)
    print(f"grown from {ckpt_path} ({arch}): {grown} of {len(state)} tensors widened, new inputs x {eps}", flush=True)
    return f"{arch} checkpoint {os.path.basename(os.path.dirname(os.path.abspath(ckpt_path)))}"


def held_out_rows(lab):
    """Faces no training step sees: the in-the-wild validation split and FER+ valid."""
    return lab["is_val"] | lab["fer_val"] if "fer_val" in lab else lab["is_val"]


def human_class(lab):
    """Per face, its human expression class: the in-the-wild label, else the FER+ majority vote, else -1."""
    return np.where(lab["labels"] >= 0, lab["labels"], lab["fer_major"]) if "fer_major" in lab else lab["labels"]


def human_distribution(lab):
    """Per face, its human expression distribution (n, 7): the label one-hot where labelled, else the FER+ vote
    distribution, else all zero."""
    labels = torch.from_numpy(lab["labels"]).long()
    votes = torch.from_numpy(lab["votes"]).float() if "votes" in lab else torch.zeros(len(labels), 7)
    return torch.where((labels >= 0)[:, None], F.one_hot(labels.clamp_min(0), 7).float(), votes)


def load_student(path):
    """A checkpoint this script wrote (last.pt's model or final.pt) -> (checkpoint dict, FPNMAA with its weights, arch)."""
    ck = torch.load(path, weights_only=False)
    arch = ck["arch"] if "arch" in ck else ck["args"]["arch"]
    model = FPNMAA(arch)
    model.load_state_dict(ck["model"])
    return ck, model, arch


def augment_view(xb, out, train, gen):
    """xb uint8 (B,128,128,3) -> float (B,3,out,out) normalised. Eval: the exact centre crop (the served crop:
    scale 3*128/112 at 128 px has the same pixel pitch as scale 3 at 112 px). Train: random similarity transform
    (rotation +-12 deg, scale 0.9..1.1, shift +-8 px) by bilinear grid sampling, horizontal flip, brightness/contrast,
    random grayscale (p 0.5) and random low resolution (p 0.25: down to 28..64 px and back up). FER+ faces are all
    gray and blurry (48 px sources upscaled) and their labels lean negative: gray and blur on the sharp colour faces
    keep "gray/blurry" from predicting the class; served webcam crops are colour."""
    x = xb.permute(0, 3, 1, 2).float() / 255.0
    b = x.shape[0]
    if out != STORE and not train:
        o = (STORE - out) // 2
        x = x[:, :, o:o + out, o:o + out]
    if train:
        ang = (torch.rand(b, generator=gen) * 2 - 1) * (12 * np.pi / 180)
        sc = 0.9 + 0.2 * torch.rand(b, generator=gen)
        tx = (torch.rand(b, generator=gen) * 2 - 1) * 8 / STORE * 2
        ty = (torch.rand(b, generator=gen) * 2 - 1) * 8 / STORE * 2
        flip = torch.rand(b, generator=gen) < 0.5
        k = (out / STORE) / sc
        cos, sin = torch.cos(ang) * k, torch.sin(ang) * k
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0] = cos * torch.where(flip, -1.0, 1.0)
        theta[:, 0, 1] = -sin
        theta[:, 1, 0] = sin * torch.where(flip, -1.0, 1.0)
        theta[:, 1, 1] = cos
        theta[:, 0, 2] = tx
        theta[:, 1, 2] = ty
        grid = F.affine_grid(theta, (b, 3, out, out), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        bright = 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * 0.3
        contrast = 1 + (torch.rand(b, 1, 1, 1, generator=gen) * 2 - 1) * 0.3
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - m) * contrast + m) * bright
        low = torch.rand(b, generator=gen) < 0.25
        if low.any():
            side = int(28 + torch.randint(0, 37, (1,), generator=gen))
            small = F.interpolate(x[low], size=(side, side), mode="bilinear", align_corners=False, antialias=True)
            x[low] = F.interpolate(small, size=(out, out), mode="bilinear", align_corners=False)
        gray = torch.rand(b, generator=gen) < 0.5
        g = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1).expand(-1, 3, -1, -1)
        x = torch.where(gray.view(b, 1, 1, 1), g, x).clamp(0, 1)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def predict(model, x_u8, idx, size, bs=256):
    model.eval()
    vas, exs, aus = [], [], []
    with torch.no_grad():
        for i in range(0, len(idx), bs):
            xb = augment_view(x_u8[idx[i:i + bs]], size, False, None)
            va, ex, au = model(xb)
            vas.append(va)
            exs.append(ex)
            aus.append(au)
    return torch.cat(vas).numpy(), torch.cat(exs).numpy(), torch.cat(aus).numpy()


def evaluate(model, x_u8, lab, size, au_thr=None):
    val = np.where(lab["is_val"])[0]
    va, ex, au = predict(model, x_u8, val, size)
    y = lab["labels"][val]
    m = y >= 0
    pred = ex.argmax(1)
    p_au = 1 / (1 + np.exp(-au))
    act = lab["au_act"][val]
    thr = np.full(12, 0.5) if au_thr is None else np.asarray(au_thr)
    au_f1 = [M.f1_binary(act[:, k], p_au[:, k] >= thr[k]) for k in range(12)]
    fer = {}
    if "fer_val" in lab and lab["fer_val"].any():
        fv = np.where(lab["fer_val"] & (lab["fer_major"] >= 0))[0]
        _, fex, _ = predict(model, x_u8, fv, size)
        fy, fp = lab["fer_major"][fv], fex.argmax(1)
        fer = {"fer_acc": M.accuracy(fy, fp), "fer_macro_f1": M.macro_f1(fy, fp, 7), "fer_recall": M.per_class_recall(fy, fp, 7)}
    return {
        **fer,
        "expr_acc": M.accuracy(y[m], pred[m]),
        "expr_macro_f1": M.macro_f1(y[m], pred[m], 7),
        "expr_recall": M.per_class_recall(y[m], pred[m], 7),
        "au_f1": au_f1,
        "au_mean_f1": float(np.mean(au_f1)),
        "ccc_v": M.ccc(va[:, 0], lab["va"][val, 0]),
        "ccc_a": M.ccc(va[:, 1], lab["va"][val, 1]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crops", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--arch", default="realtime")
    ap.add_argument("--init-onnx", default="", help="exported model (same arch) to start all weights from")
    ap.add_argument("--init-ckpt", default="", help="checkpoint of a narrower model of the same layout to grow from "
                    "(realtime -> realtime-wide)")
    ap.add_argument("--init-backbone", default="", help="tfjs mobilefacenet.json to start the mfn backbone from")
    ap.add_argument("--backbone-lr-mult", type=float, default=1.0)
    ap.add_argument("--distill", default="soft", choices=["soft", "hard"])
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--kd_weight", type=float, default=0.5)
    ap.add_argument("--kd_weight_voted", type=float, default=None,
                    help="distillation weight on faces with FER+ votes (default: --kd_weight); ten annotators' votes "
                         "are a stronger target there than a teacher that scores below the student on them")
    ap.add_argument("--va_weight", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training faces (smoke tests)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an exponential moving average of the weights (and batch-norm statistics) with this decay, "
                         "e.g. 0.999; it is what gets evaluated and saved as final.pt")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    meta, x_u8, lab = load_data(args.crops, args.labels)
    size = INPUT_SIZE[args.arch]
    held_out = held_out_rows(lab)
    train_idx = np.where(~held_out)[0]
    if args.limit:
        train_idx = train_idx[: args.limit]
    labels = torch.from_numpy(lab["labels"]).long()
    teacher = torch.from_numpy(lab["expr_teacher"]).float().clamp_min(1e-6)
    teacher = teacher / teacher.sum(1, keepdim=True)
    au_t = torch.from_numpy(lab["au_u"] if args.distill == "soft" else lab["au_act"]).float()
    va_t = torch.from_numpy(lab["va"]).float()
    # VA loss on standardised targets (MSE / per-dimension variance of the training targets): the VA teacher's
    # arousal varies little (sd ~0.16), and plain MSE all but ignores it.
    va_var = va_t[torch.from_numpy(train_idx)].var(0).clamp_min(1e-4)
    votes = torch.from_numpy(lab["votes"]).float() if "votes" in lab else torch.zeros(len(labels), 7)
    target = human_distribution(lab)
    has_target = target.sum(1) > 0
    voted = (labels < 0) & has_target
    kd_w = torch.where(voted, args.kd_weight if args.kd_weight_voted is None else args.kd_weight_voted, args.kd_weight)
    counts, class_w = class_weights(lab["labels"][train_idx], votes[train_idx].numpy())
    print("train faces", len(train_idx), "class counts", counts.astype(int).tolist(), "class weights",
          [round(float(v), 3) for v in class_w], flush=True)

    model = FPNMAA(args.arch)
    if args.init_backbone:
        if args.arch != "mfn":
            raise SystemExit("--init-backbone needs --arch mfn")
        load_tfjs_mobilefacenet(model.backbone, args.init_backbone)
        model.backbone.calibrate(calibration_crops(x_u8, train_idx, size, args.seed))
    args.init_model = None
    if args.init_onnx:
        args.init_model = init_from_onnx(model, args.init_onnx, calibration_crops(x_u8, train_idx, size, args.seed))
    if args.init_ckpt:
        args.init_model = grow_from_checkpoint(model, args.init_ckpt)
    backbone = set(id(p) for p in model.backbone.parameters())
    groups = [{"params": [p for p in model.parameters() if id(p) in backbone], "lr": args.lr * args.backbone_lr_mult},
              {"params": [p for p in model.parameters() if id(p) not in backbone], "lr": args.lr}]
    opt = torch.optim.AdamW(groups, weight_decay=5e-4)
    steps_per_epoch = len(train_idx) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=total, pct_start=0.1)
    # Averaged weights generalise better than the last step's on noisy crowd labels, and cost one copy of the model.
    ema = (torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema),
                                               use_buffers=True) if args.ema else None)
    start_epoch = 0
    ck = os.path.join(args.run, "last.pt")
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    if os.path.exists(ck):
        s = torch.load(ck, weights_only=False)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        sched.load_state_dict(s["sched"])
        gen.set_state(s["gen"])
        torch.set_rng_state(s["torch_rng"])
        if ema is not None:
            ema.load_state_dict(s["ema"])
        start_epoch = s["epoch"]
        # what the first run started from, whatever the --init-onnx path holds by now
        args.init_model = s["args"].get("init_model", args.init_model)
        history = s.get("history", [])
        print(f"resumed from {ck} at epoch {start_epoch}", flush=True)
    json.dump(vars(args), open(os.path.join(args.run, "args.json"), "w"), indent=1)

    T = args.temperature
    for epoch in range(start_epoch, args.epochs):
        model.train()
        perm = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        t0 = time.time()
        sums = np.zeros(4)
        for step in range(steps_per_epoch):
            bi = perm[step * args.batch:(step + 1) * args.batch]
            xb = augment_view(x_u8[bi], size, True, gen)
            tb = teacher[bi]
            va, ex, au = model(xb)
            l_ex = torch.zeros(())
            ht = has_target[bi]
            if ht.any():
                l_ex = target_cross_entropy(ex[ht], target[bi][ht], class_w)
            if args.distill == "soft":
                logt = torch.log(tb) / T
                pt = torch.softmax(logt, 1)
                kd = F.kl_div(F.log_softmax(ex / T, 1), pt, reduction="none").sum(1) * T * T
                l_ex = l_ex + (kd_w[bi] * kd).mean()
            elif (~ht).any():
                l_ex = l_ex + F.cross_entropy(ex[~ht], tb[~ht].argmax(1))
            l_au = F.binary_cross_entropy_with_logits(au, au_t[bi])
            l_va = args.va_weight * ((va - va_t[bi]) ** 2 / va_var).mean()
            loss = l_ex + l_au + l_va
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            sums += [loss.item(), l_ex.item(), l_au.item(), l_va.item()]
            if step % 50 == 0:
                print(f"epoch {epoch} step {step}/{steps_per_epoch} loss {loss.item():.4f} (expr {l_ex.item():.4f} au {l_au.item():.4f} va {l_va.item():.4f}) {time.time() - t0:.0f}s", flush=True)
        kept = model if ema is None else ema.module
        ev = evaluate(kept, x_u8, lab, size)
        rec = {"epoch": epoch + 1, "loss": (sums / steps_per_epoch).round(4).tolist(), "time_s": round(time.time() - t0, 1),
               **{k: (round(v, 4) if isinstance(v, float) else [round(a, 3) for a in v]) for k, v in ev.items()}}
        history.append(rec)
        print(json.dumps(rec), flush=True)
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "gen": gen.get_state(),
                 "torch_rng": torch.get_rng_state(), "epoch": epoch + 1, "history": history, "args": vars(args),
                 **({"ema": ema.state_dict()} if ema is not None else {})}
        torch.save(state, ck + ".tmp")
        os.replace(ck + ".tmp", ck)
    kept = model if ema is None else ema.module
    torch.save({"model": kept.state_dict(), "arch": args.arch, "args": vars(args), "history": history}, os.path.join(args.run, "final.pt"))
    print("done", flush=True)


if __name__ == "__main__":
    main()
