"""Checks of the research tools (run: cd models && .venv/bin/python -m fpnmaa.research_check OUT_DIR [parts...];
test/research/research.test.ts runs it and loads the ONNX files it writes through the server's loader).

Parts: loaders (a synthetic ABAW-format folder made here from the public-domain fixture faces, labelled and unlabelled
rows, a frame without an image, malformed files; FER+ and class-folder sets), converter (a checkpoint with the paper's
reference structure and random weights -> ONNX, outputs vs PyTorch; vs torchvision's own resnet_fpn_backbone when
torchvision is importable), recipe (teachers, pseudo-labels, student, one step each, export), evaluate (the shipped
model on the synthetic folder, dataset crops and server crops)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

from . import datasets as D

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE_CROPS = os.path.join(HERE, "..", "..", "test", "model", "fixtures", "fixture-crops128.u8")
SHIPPED = os.path.join(HERE, "..", "affect", "fpn-maa-realtime.onnx")
AU_HEADER = "AU1,AU2,AU4,AU6,AU7,AU10,AU12,AU15,AU23,AU24,AU25,AU26"
EXPR7 = ",".join(D.PAPER)


def fixture_faces():
    x = np.fromfile(FIXTURE_CROPS, np.uint8).reshape(-1, 128, 128, 3)
    return [x[0], x[1], x[0][:, ::-1], x[1][:, ::-1]]  # astronaut, Grace Hopper, both mirrored


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_synthetic_abaw(root):
    """Four videos of the fixture faces in the ABAW layout. Returns what a loader must read: per split and task,
    {(video, frame file): label} of the labelled rows that have an image, and the count of those without one."""
    from PIL import Image
    faces = fixture_faces()
    frames = {"vid1": (faces[0], 5), "vid2": (faces[1], 4), "vid3_left": (faces[2], 5), "vid4": (faces[3], 4)}
    for v, (face, n) in frames.items():
        os.makedirs(os.path.join(root, "cropped_aligned", v), exist_ok=True)
        for k in range(n):
            img = np.clip(face.astype(np.float32) * (0.9 + 0.05 * k), 0, 255).astype(np.uint8)
            if (v, k) == ("vid2", 3):
                img = np.full_like(face, 128)  # no face in it: the server's detector finds none
            Image.fromarray(img).resize((112, 112), Image.BILINEAR).save(os.path.join(root, "cropped_aligned", v, f"{k + 1:05d}.jpg"), quality=95)
    # rows: one per frame (+ one past the last image in some files: annotated, no image)
    ann = {
        ("VA", "Validation_Set", "vid1"): ["0.5,0.25", "0.4,0.2", "-5,-5", "0.3,-0.1", "0.6,0.3", "0.1,0.1"],
        ("VA", "Validation_Set", "vid2"): ["-0.2,0.1", "-0.3,0.2", "-5,0.3", "-0.1,0.0"],
        ("EXPR", "Validation_Set", "vid1"): ["4", "4", "-1", "4", "6", "4"],
        ("EXPR", "Validation_Set", "vid2"): ["0", "0", "5", "-1"],
        ("AU", "Validation_Set", "vid1"): ["0,0,0,1,1,0,1,0,0,0,1,0", "-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1",
                                           "0,0,0,1,0,0,1,0,0,0,1,1", "0,0,0,1,1,1,1,0,0,0,1,0", "1,1,0,0,0,0,0,0,0,0,1,1"],
        ("VA", "Train_Set", "vid3_left"): ["0.5,0.3", "0.45,0.2", "0.4,0.1", "-5,-5", "0.5,0.2"],
        ("VA", "Train_Set", "vid4"): ["0.0,-0.2", "-0.1,-0.1", "0.0,0.0", "0.1,-0.1"],
        ("EXPR", "Train_Set", "vid3_left"): ["4", "4", "6", "4", "-1"],
        ("EXPR", "Train_Set", "vid4"): ["0", "5", "-1", "0"],
        ("AU", "Train_Set", "vid3_left"): ["0,0,0,1,1,0,1,0,0,0,1,0"] * 5,
        ("AU", "Train_Set", "vid4"): ["0,0,1,0,0,0,0,0,0,0,0,0", "0,0,0,0,0,0,0,0,0,0,0,0", "-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1",
                                      "0,0,1,0,0,0,0,1,0,0,0,0", "0,0,0,0,0,0,0,0,0,0,0,0"],
    }
    headers = {"VA": "valence,arousal", "EXPR": EXPR7, "AU": AU_HEADER}
    folders = {"VA": "VA_Set", "EXPR": "EXPR_Set", "AU": "AU_Set"}
    want = {}
    for (task, split, video), rows in ann.items():
        write(os.path.join(root, "annotations", folders[task], split, f"{video}.txt"), headers[task] + "\n" + "\n".join(rows) + "\n")
        labels, missing = want.setdefault((split, task), ({}, [0]))
        for k, row in enumerate(rows):
            v = [float(c) for c in row.split(",")]
            if (task == "VA" and min(v) == -5) or (task != "VA" and min(v) < 0):
                continue
            if k >= frames[video][1]:
                missing[0] += 1
            else:
                labels[(video, f"{k + 1:05d}.jpg")] = v
    return want


def check_loaders(root):
    want = make_synthetic_abaw(root)
    for split in ("Validation_Set", "Train_Set"):
        f = D.load_affwild2(root, split)
        got = {"VA": {}, "EXPR": {}, "AU": {}}
        for i, p in enumerate(f.paths):
            key = (f.groups[i], os.path.basename(p))
            assert p == os.path.join(root, "cropped_aligned", *key)
            if not np.isnan(f.va[i, 0]):
                got["VA"][key] = f.va[i].tolist()
            if f.expr[i] >= 0:
                got["EXPR"][key] = [float(f.expr[i])]
            if f.au[i, 0] >= 0:
                got["AU"][key] = f.au[i].astype(float).tolist()
        for task in ("VA", "EXPR", "AU"):
            labels, missing = want[(split, task)]
            assert got[task].keys() == labels.keys(), (split, task, sorted(got[task]), sorted(labels))
            assert all(np.allclose(got[task][k], labels[k], atol=1e-7) for k in labels), (split, task)
            assert f.missing.get(task, 0) == missing[0], (split, task, f.missing)
        assert f.expr_labels == D.PAPER and f.au_labels == AU_HEADER.split(",")
        print(f"  {f.report()}")
    # malformed files: each fails naming the file and the line
    cases = [
        ("VA", "valence,arousal\n0.5,0.2\n0.3\n", ":3: expected 2 values, found 1"),
        ("VA", "valence,arousal\n0.5,0.2\n1.5,0.1\n", ":3: valence/arousal must be in [-1, 1] or -5"),
        ("VA", "val,aro\n0.5,0.2\n", ":1: VA header must be 'valence,arousal'"),
        ("VA", "", ":1: no header line"),
        ("VA", "valence,arousal\n", ":2: no annotation lines after the header"),
        ("EXPR", EXPR7 + "\n0\n7\n", ":3: expression must be -1 (unlabelled) or a class index 0..6"),
        ("EXPR", EXPR7 + "\n0\nx\n", ":3: 'x' is not a number"),
        ("EXPR", EXPR7 + "\n0\n\n1\n", ":3: empty line inside the annotations"),
        ("AU", AU_HEADER + "\n" + "0," * 11 + "0\n" + "0," * 11 + "2\n", ":3: AU values must be 0, 1 or -1"),
        ("AU", AU_HEADER + "\n" + "0," * 10 + "0\n", ":2: expected 12 values, found 11"),
    ]
    folders = {"VA": "VA_Set", "EXPR": "EXPR_Set", "AU": "AU_Set"}
    bad_root = root + "-bad"
    for task, text, message in cases:
        shutil.rmtree(bad_root, ignore_errors=True)
        shutil.copytree(os.path.join(root, "cropped_aligned"), os.path.join(bad_root, "cropped_aligned"))
        path = os.path.join(bad_root, "annotations", folders[task], "Validation_Set", "vid1.txt")
        write(path, text)
        try:
            D.load_affwild2(bad_root, "Validation_Set")
        except D.AnnotationError as e:
            assert str(e).startswith(path + message.split(":")[0] + ":") and message in str(e), (str(e), message)
        else:
            raise AssertionError(f"no error for {message}")
    shutil.rmtree(bad_root)
    # FER+ (both layouts) and class folders
    from PIL import Image
    faces = fixture_faces()
    img_root = root + "-images"
    shutil.rmtree(img_root, ignore_errors=True)
    for split, rows in {"Valid": [("fer1.png", [0, 9, 1, 0, 0, 0, 0, 0, 0, 0]), ("fer2.png", [5, 0, 0, 0, 5, 0, 0, 0, 0, 0]),
                                  ("fer3.png", [1, 0, 0, 0, 0, 0, 0, 8, 1, 0]), ("fer4.png", [0, 0, 0, 1, 0, 0, 9, 0, 0, 0])]}.items():
        d = os.path.join(img_root, "ferplus", f"FER2013{split}")
        os.makedirs(d)
        write(os.path.join(d, "label.csv"), "".join(f"{n},\"(0, 0, 48, 48)\",{','.join(map(str, v))}\n" for n, v in rows))
        for i, (n, _) in enumerate(rows[:3]):  # fer4.png has no image
            Image.fromarray(faces[i]).convert("L").resize((48, 48)).save(os.path.join(d, n))
    f = D.load("ferplus", os.path.join(img_root, "ferplus"), "valid")
    # fer1: happiness majority; fer2: tie (skipped); fer3: contempt majority (skipped); fer4: no image (missing)
    assert [os.path.basename(p) for p in f.paths] == ["fer1.png"] and f.expr.tolist() == [D.PAPER.index("Happiness")]
    assert f.missing == {"EXPR": 1} and f.skipped == {"no unique majority among the 7 classes": 2}, (f.missing, f.skipped)
    for cls, face in (("happy", 0), ("Neutral", 1), ("contempt", 2)):
        d = os.path.join(img_root, "folders", "test", cls)
        os.makedirs(d)
        Image.fromarray(faces[face]).save(os.path.join(d, "a.jpg"))
    f = D.load("folders", os.path.join(img_root, "folders"), "test")
    assert f.expr.tolist() == [D.PAPER.index("Neutral"), D.PAPER.index("Happiness")] and f.skipped == {"class folder 'contempt'": 1}
    for cls in ("4", "7"):
        d = os.path.join(img_root, "rafdb", "test", cls)
        os.makedirs(d)
        Image.fromarray(faces[0]).save(os.path.join(d, "x.jpg"))
    f = D.load("rafdb", os.path.join(img_root, "rafdb"), "test")
    assert f.expr.tolist() == [D.PAPER.index("Happiness"), D.PAPER.index("Neutral")]
    shutil.rmtree(img_root)
    print("loaders: ABAW folder read exactly as written (labelled/unlabelled rows, annotated frames without an image "
          f"counted), {len(cases)} malformed files named by file:line, FER+ votes, class folders: ok")


def reference_state(seed=0):
    """A random state dict with the reference MultiPyramidClassifier's keys and shapes, written from torchvision's
    layout (resnet50 body: conv1/bn1, layer1..4 Bottleneck conv1-3/bn1-3/downsample; FPN inner_blocks/layer_blocks,
    torchvision >= 0.13 naming '.0.'; FrozenBatchNorm2d buffers) and Lightning's head names."""
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def conv(name, cout, cin, k, bias=False):
        sd[name + ".weight"] = torch.randn(cout, cin, k, k, generator=g) * (1.0 / (cin * k * k)) ** 0.5
        if bias:
            sd[name + ".bias"] = torch.randn(cout, generator=g) * 0.1

    def bn(name, c):
        sd[name + ".weight"] = 0.5 + torch.rand(c, generator=g) * 0.5
        sd[name + ".bias"] = torch.randn(c, generator=g) * 0.1
        sd[name + ".running_mean"] = torch.randn(c, generator=g) * 0.1
        sd[name + ".running_var"] = 0.5 + torch.rand(c, generator=g)

    conv("backbone.body.conv1", 64, 3, 7)
    bn("backbone.body.bn1", 64)
    cin = 64
    for li, (mid, n) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)], start=1):
        for j in range(n):
            p = f"backbone.body.layer{li}.{j}"
            conv(p + ".conv1", mid, cin, 1)
            bn(p + ".bn1", mid)
            conv(p + ".conv2", mid, mid, 3)
            bn(p + ".bn2", mid)
            conv(p + ".conv3", mid * 4, mid, 1)
            bn(p + ".bn3", mid * 4)
            if j == 0:
                conv(p + ".downsample.0", mid * 4, cin, 1)
                bn(p + ".downsample.1", mid * 4)
            cin = mid * 4
    for i, c in enumerate([256, 512, 1024, 2048]):
        conv(f"backbone.fpn.inner_blocks.{i}.0", 256, c, 1, bias=True)
        conv(f"backbone.fpn.layer_blocks.{i}.0", 256, 256, 3, bias=True)
    for head, n in (("VA_head", 2), ("EXPR_head", 7), ("AU_head", 12)):
        sd[f"{head}.linear.weight"] = torch.randn(n, 1280, generator=g) * 0.1
        sd[f"{head}.linear.bias"] = torch.randn(n, generator=g) * 0.1
    return sd


def torchvision_reference(sd):
    """The reference forward with torchvision's own modules, or None when torchvision is not importable."""
    try:
        from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    except Exception:
        return None
    backbone = resnet_fpn_backbone(backbone_name="resnet50", weights=None)
    heads = torch.nn.ModuleDict({h: torch.nn.Linear(1280, n) for h, n in (("VA_head", 2), ("EXPR_head", 7), ("AU_head", 12))})
    backbone.load_state_dict({k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}, strict=True)
    heads.load_state_dict({k.replace(".linear", ""): v for k, v in sd.items() if "_head." in k}, strict=True)
    backbone.eval()

    def forward(x):
        with torch.no_grad():
            e = torch.cat([t.mean(dim=(-2, -1)) for t in backbone(x).values()], -1)
            return heads["VA_head"](e).clamp(-0.99, 0.99), heads["EXPR_head"](e), heads["AU_head"](e)
    return forward


def check_converter(out):
    """A Lightning-style checkpoint (state_dict + hyper-parameters pickled as a class the loader cannot import)."""
    import types
    sd = reference_state()
    fake = types.ModuleType("lightning_stand_in")

    class AttributeDict(dict):
        pass
    AttributeDict.__module__, AttributeDict.__qualname__ = fake.__name__, "AttributeDict"
    fake.AttributeDict = AttributeDict
    sys.modules[fake.__name__] = fake
    ck = os.path.join(out, "paper-random.ckpt")
    torch.save({"state_dict": sd, "hyper_parameters": AttributeDict(data_type="Multi", learning_rate=1e-3), "epoch": 3}, ck)
    del sys.modules[fake.__name__]
    onnx_path = os.path.join(out, "paper-random.onnx")
    fixture = os.path.join(out, "paper-random.parity.json")
    subprocess.run([sys.executable, "-m", "fpnmaa.convert_paper", "--ckpt", ck, "--out", onnx_path, "--name", "fpn-maa-paper-random",
                    "--fixture-json", fixture, "--threads", "1", "--source", "random weights (test)"], check=True, cwd=os.path.join(HERE, ".."))
    import onnxruntime as ort
    from .convert_paper import convert_state, load_checkpoint
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 3, 128, 128)).astype(np.float32))
    ours = convert_state(load_checkpoint(ck)[0])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    got = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"]).run(["va", "expr", "au"], {"input": x.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in ours(x)]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got, want))
    assert diff <= 1e-4, diff
    scale = max(float(np.abs(w).max()) for w in want)
    line = f"converter: onnxruntime vs converted PyTorch max |diff| {diff:.1e} (outputs up to {scale:.2f})"
    tv = torchvision_reference(sd)
    if tv is None:
        line += "; torchvision not installed, reference forward skipped"
    else:
        ref = [t.numpy() for t in tv(x)]
        tdiff = max(float(np.abs(a - b).max()) for a, b in zip(got, ref))
        assert tdiff <= 1e-4, tdiff
        line += f"; vs torchvision resnet_fpn_backbone + heads max |diff| {tdiff:.1e}"
    print(line + ": ok")


def check_recipe(root, out):
    """The paper's recipe on the synthetic folder: teachers, pseudo-labels, student, two steps each, export; a second
    run resumes (every stage found done)."""
    cmd = [sys.executable, "-m", "fpnmaa.recipe", "--data", root, "--run", os.path.join(out, "recipe"), "--out",
           os.path.join(out, "recipe.onnx"), "--arch", "realtime", "--max-steps", "2", "--batch", "4", "--workers", "0",
           "--threads", "1", "--device", "cpu"]
    first = subprocess.run(cmd, cwd=os.path.join(HERE, ".."), check=True, capture_output=True, text=True).stdout
    assert "pseudo-labels: 9 frames, ground truth kept on VA 8, EXPR 7, AU 8" in first, first
    scores = json.load(open(os.path.join(out, "recipe", "scores.json")))
    assert set(scores["student"]["abaw3"]) == {"va", "expr", "au", "p_mtl"}, scores["student"]
    again = subprocess.run(cmd, cwd=os.path.join(HERE, ".."), check=True, capture_output=True, text=True).stdout
    assert all(f"{s}: done" in again for s in ("teacher-VA", "teacher-EXPR", "teacher-AU", "student")), again
    print("recipe: three teachers, pseudo-labels (ground truth kept), student, 2 steps each, exported; rerun resumes: ok")


def check_evaluate(root, out):
    """The shipped model on the synthetic folder, through the evaluate CLI, both crop modes."""
    reports = {}
    for mode, flags in (("server", []), ("aligned", ["--aligned"])):
        path = os.path.join(out, f"eval-{mode}.json")
        r = subprocess.run([sys.executable, "-m", "fpnmaa.evaluate", "--onnx", SHIPPED, "--dataset", f"affwild2:{root}",
                            "--out", path, "--threads", "1", *flags], cwd=os.path.join(HERE, ".."), check=True,
                           capture_output=True, text=True)
        assert "ABAW2 (2021) VA " in r.stdout and "ABAW3+" in r.stdout and "Happiness" in r.stdout, r.stdout
        reports[mode] = json.load(open(path))
    s, a = reports["server"], reports["aligned"]
    assert (s["images"], s["no_face"], s["scored"]) == (9, 1, 8), s
    assert (a["images"], a["no_face"], a["scored"]) == (9, 0, 9), a
    for r in (s, a):
        assert r["annotated_without_image"] == {"VA": 1, "EXPR": 1}
        assert set(r["abaw2"]) == {"va", "expr", "au"} and set(r["abaw3"]) == {"va", "expr", "au", "p_mtl"}
        assert all(np.isfinite(v) for v in list(r["abaw2"].values()) + list(r["abaw3"].values())), r
    print(f"evaluate: shipped model, server crops ABAW2 VA/EXPR/AU {s['abaw2']['va']:.3f}/{s['abaw2']['expr']:.3f}/"
          f"{s['abaw2']['au']:.3f} on {s['scored']} of 9 frames (1 without a face), dataset crops "
          f"{a['abaw2']['va']:.3f}/{a['abaw2']['expr']:.3f}/{a['abaw2']['au']:.3f}: ok")


if __name__ == "__main__":
    torch.set_num_threads(1)
    out = os.path.abspath(sys.argv[1])
    parts = sys.argv[2:] or ["loaders", "evaluate", "recipe", "converter"]
    os.makedirs(out, exist_ok=True)
    abaw = os.path.join(out, "abaw")
    if "loaders" in parts:
        shutil.rmtree(abaw, ignore_errors=True)
        check_loaders(abaw)
    if "evaluate" in parts:
        check_evaluate(abaw, out)
    if "recipe" in parts:
        check_recipe(abaw, out)
    if "converter" in parts:
        check_converter(out)
