"""Inference time of the FPN-MAA architectures in PyTorch eager mode, answered line by line to bench/model.ts.

  python -m fpnmaa.bench_torch [--checkpoint checkpoints/realtime-soft/final.pt]

A long-lived child process, so interpreter and model start-up are paid once and the Node side can interleave its
onnxruntime runs with these. The first stdout line describes the process (torch version, parameter counts, weights,
CUDA device or null). Then each stdin line is one request,
  {"arch": "r50" | "realtime", "device": "cpu" | "cuda", "threads": T, "batch": B, "warmup": W, "iters": K}
answered by one stdout line {"ms": [K per-batch times]}. Times are taken here, around the forward pass alone, so the
pipe between the processes is not in them.

Weights: the paper's r50 is not trained in this repository and runs with random initialisation (inference time does
not depend on weight values); the realtime architecture loads --checkpoint when given, so it is the same network as
the shipped ONNX file.
"""
import argparse
import copy
import json
import sys
import time

import torch

from .model import FPNMAA, INPUT_SIZE

ARCHS = ("r50", "realtime")


def load_models(checkpoint):
    torch.manual_seed(0)
    models = {arch: FPNMAA(arch) for arch in ARCHS}
    weights = {arch: "random" for arch in ARCHS}
    if checkpoint:
        models["realtime"].load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
        weights["realtime"] = checkpoint
    return {arch: m.eval() for arch, m in models.items()}, weights


def time_forward(model, x, warmup, iters):
    # CUDA kernels run asynchronously: without a sync the clock would stop at launch, not at the result.
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        sync()
        for _ in range(iters):
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append((time.perf_counter() - t0) * 1000)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=None, help="realtime weights (a train.py checkpoint); random when absent")
    args = ap.parse_args()
    default_threads = torch.get_num_threads()
    cpu_models, weights = load_models(args.checkpoint)
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    print(json.dumps({
        "torch": torch.__version__,
        "defaultThreads": default_threads,
        "params": {arch: sum(p.numel() for p in m.parameters()) for arch, m in cpu_models.items()},
        "inputSize": INPUT_SIZE,
        "weights": weights,
        "cuda": cuda,
    }), flush=True)

    models = {("cpu", arch): m for arch, m in cpu_models.items()}
    inputs = {}
    generator = torch.Generator().manual_seed(0)
    for line in sys.stdin:
        r = json.loads(line)
        device, arch, batch = r["device"], r["arch"], r["batch"]
        torch.set_num_threads(r["threads"])
        if (device, arch) not in models:
            models[device, arch] = copy.deepcopy(cpu_models[arch]).to(device)
        if (device, arch, batch) not in inputs:
            size = INPUT_SIZE[arch]
            inputs[device, arch, batch] = torch.randn(batch, 3, size, size, generator=generator).to(device)
        ms = time_forward(models[device, arch], inputs[device, arch, batch], r["warmup"], r["iters"])
        print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()
