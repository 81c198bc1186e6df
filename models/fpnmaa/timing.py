"""Per-batch inference time of the FPN-MAA architectures in PyTorch eager mode, for bench/modelSpeed.ts.

Runs as a long-lived child process so start-up is paid once and the Node side can interleave its own runs
with these: one JSON request per stdin line, {"arch": "r50"|"realtime", "batch": B, "iters": K}, one JSON
reply per stdout line, {"ms": [K per-iteration times]}. Weights are random: inference time does not depend
on their values, and the paper's r50 is not trained here.
"""
import argparse
import json
import sys
import time

import torch

from .model import FPNMAA, INPUT_SIZE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    models = {arch: FPNMAA(arch).eval() for arch in ("r50", "realtime")}
    inputs = {}
    print(json.dumps({
        "ready": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": {arch: sum(p.numel() for p in m.parameters()) for arch, m in models.items()},
        "inputSize": INPUT_SIZE,
        "cuda": torch.cuda.is_available(),
    }), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        arch, batch = request["arch"], request["batch"]
        key = (arch, batch)
        if key not in inputs:
            size = INPUT_SIZE[arch]
            inputs[key] = torch.randn(batch, 3, size, size)
        x, model, times = inputs[key], models[arch], []
        with torch.inference_mode():
            if request.get("warmup", 0):
                for _ in range(request["warmup"]):
                    model(x)
            for _ in range(request["iters"]):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"ms": times}), flush=True)


if __name__ == "__main__":
    main()
