"""NARF for any reward defined in PyTorch: noise-aware reward fine-tuning by self-distillation (the paper's recipe).

Given a reward model (an nn.Module with its trained weights), and data that `ttsnap collect --save-tweedie` wrote
(the decoded Tweedie estimate x0_hat of every candidate at some steps, and the base reward of each finished image),
fine-tunes a copy of the reward so that its score on the step-s estimate matches the base reward's score on the clean
final image (MSE). Curriculum from late (nearly clean) to early (noisy) steps; each level starts from the previous
level's weights with a fresh AdamW and a learning rate that decays linearly to zero over the level. Each shipped level
is exported to ONNX as rewards/<name>/step_SS.onnx and listed in the bundle manifest's noise_aware entries.

Command line (a reward definition is a module with `reward(name, bundle_dir) -> RewardDef`; tiny_rewards.py is the tiny
bundle's):
  python3 narf_distill.py --collect DIR --bundle BUNDLE --reward align [--define tiny_rewards] \
      [--curriculum 17,14,11,8,6,4,2] [--ship 11,6,2] [--epochs 2] [--lr 1e-4] [--batch 32] [--seed 1234]
writes the variants into BUNDLE (copy the bundle first to keep the original)."""
import argparse
import copy
import importlib
import json
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

OPSET = 17


@dataclass
class RewardDef:
    """A reward as PyTorch sees it: the module (trained weights loaded), whether it reads the prompt, how to turn
    prompt texts into its text input, and example inputs for the ONNX export (input and output names as the
    bundle's manifest lists them)."""
    module: torch.nn.Module
    image_input: str
    text_input: Optional[str]
    output: str
    tokenize: Optional[Callable[[list], torch.Tensor]]
    example: tuple


@dataclass
class Collected:
    """Per-level training data: images [n, 3, H, W] per step, targets [n], text inputs [n, L] or None."""
    images: dict
    target: torch.Tensor
    text: Optional[torch.Tensor]


def load_collected(collect_dir: str, reward: str, steps: list, rdef: RewardDef, image_hw: tuple) -> Collected:
    """Reads `ttsnap collect` output: collect.json (prompts, saved steps), tweedie/pNNNNN.npy [I, K, 3*H*W] and
    <reward>_base.npy [P, I, S], whose last column is the finished image's base score (the distillation target)."""
    with open(os.path.join(collect_dir, "collect.json")) as f:
        spec = json.load(f)
    saved = spec["saveTweedie"]
    missing = [s for s in steps if s not in saved]
    if missing:
        raise SystemExit(f"narf: {collect_dir} has no Tweedie images at steps {missing}; rerun collect with --save-tweedie {','.join(map(str, steps))}")
    base = np.load(os.path.join(collect_dir, f"{reward}_base.npy"))
    P, I, S = base.shape
    h, w = image_hw
    per_step = {s: [] for s in steps}
    for p in range(P):
        t = np.load(os.path.join(collect_dir, "tweedie", f"p{p:05d}.npy"))
        for s in steps:
            per_step[s].append(t[:, saved.index(s)].reshape(I, 3, h, w))
    images = {s: torch.from_numpy(np.concatenate(v)) for s, v in per_step.items()}
    target = torch.from_numpy(base[:, :, S - 1].reshape(-1).astype(np.float32))
    text = None
    if rdef.text_input:
        ids = rdef.tokenize(spec["texts"])
        text = ids.repeat_interleave(I, dim=0)
    return Collected(images, target, text)


def distill(reward: torch.nn.Module, data: Collected, curriculum: list, epochs: int, lr: float, batch: int,
            seed: int, log=print) -> dict:
    """The curriculum: for each step (late to early), `epochs` passes over the data with a fresh AdamW whose rate
    decays linearly to 0; returns {step: state_dict} of every level."""
    g = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(reward).train()
    n = data.target.shape[0]
    levels = {}
    t0 = time.time()
    for s in curriculum:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        iters = epochs * ((n + batch - 1) // batch)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, 1.0 - k / iters))
        imgs = data.images[s]
        total = 0.0
        for _ in range(epochs):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, batch):
                b = perm[i:i + batch]
                args = (imgs[b],) if data.text is None else (imgs[b], data.text[b])
                loss = F.mse_loss(model(*args), data.target[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(b)
        levels[s] = copy.deepcopy(model.state_dict())
        log(f"narf step {s}: mse {total / (n * epochs):.4f} (mean over the level's {epochs} epochs), {time.time() - t0:.0f}s")
    return levels


def export_variants(rdef: RewardDef, levels: dict, ship: list, bundle: str, name: str) -> list:
    """rewards/<name>/step_SS.onnx for each shipped level, and their noise_aware entries in ttsnap.json."""
    model = copy.deepcopy(rdef.module).eval()
    inputs = [rdef.image_input] + ([rdef.text_input] if rdef.text_input else [])
    files = []
    for s in ship:
        model.load_state_dict(levels[s])
        rel = f"rewards/{name}/step_{s:02d}.onnx"
        path = os.path.join(bundle, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(model, rdef.example, path, opset_version=OPSET, input_names=inputs, output_names=[rdef.output],
                              dynamic_axes={k: {0: "batch"} for k in inputs + [rdef.output]}, do_constant_folding=True)
        files.append(rel)
    manifest_path = os.path.join(bundle, "ttsnap.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    manifest["rewards"][name]["noise_aware"] = {str(s): f"rewards/{name}/step_{s:02d}.onnx" for s in sorted(ship)}
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return files


def load_from_onnx(module: torch.nn.Module, onnx_path: str, example: tuple, inputs: list, output: str) -> None:
    """Loads trained weights from a model's ONNX export into its PyTorch definition. Named initializers map to
    state_dict keys directly; weights the exporter renamed (linear layers folded into MatMul and stored transposed,
    norms' scales reshaped) are found by exporting a probe copy the same way, every tensor of it first set to fresh
    random values so that each initializer matches exactly one state_dict entry by value; the trained initializer of
    the same name is then read back (transposed or reshaped as the probe's was)."""
    import io
    import onnx
    from onnx import numpy_helper

    trained = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
    probe = copy.deepcopy(module).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in probe.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g))
    state = probe.state_dict()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(probe, example, buf, opset_version=OPSET, input_names=inputs, output_names=[output],
                          dynamic_axes={k: {0: "batch"} for k in inputs + [output]}, do_constant_folding=True)
    fresh = {i.name: numpy_helper.to_array(i) for i in onnx.load_from_string(buf.getvalue()).graph.initializer}
    new = {}
    for key, value in state.items():
        v = value.detach().numpy()
        if key in trained:
            new[key] = torch.from_numpy(trained[key].copy()).reshape(value.shape)
            continue
        if not value.is_floating_point():
            new[key] = module.state_dict()[key]
            continue
        same = [n for n, a in fresh.items() if n not in state and a.size == v.size and np.array_equal(a.reshape(v.shape), v)]
        transposed = [n for n, a in fresh.items() if n not in state and v.ndim == 2 and a.shape == v.T.shape and np.array_equal(a, v.T)]
        if len(same) + len(transposed) != 1 or (same + transposed)[0] not in trained:
            raise SystemExit(f"narf: cannot find the weights of {key} in {onnx_path} ({len(same) + len(transposed)} candidates)")
        a = trained[(same + transposed)[0]]
        new[key] = torch.from_numpy((a.reshape(v.shape) if same else a.T).copy())
    module.load_state_dict(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", required=True, help="a `ttsnap collect --save-tweedie` output folder")
    ap.add_argument("--bundle", required=True, help="the bundle to add the variants to (its base reward is the starting point)")
    ap.add_argument("--reward", required=True)
    ap.add_argument("--define", default="tiny_rewards", help="module with reward(name, bundle_dir) -> RewardDef")
    ap.add_argument("--curriculum", default="17,14,11,8,6,4,2", help="steps, late to early")
    ap.add_argument("--ship", default="11,6,2", help="levels exported into the bundle")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TTSNAP_RECIPE_THREADS", "1")))
    curriculum = [int(s) for s in a.curriculum.split(",")]
    ship = [int(s) for s in a.ship.split(",")]
    if any(s not in curriculum for s in ship):
        raise SystemExit(f"narf: --ship {ship} must be levels of --curriculum {curriculum}")
    rdef = importlib.import_module(a.define).reward(a.reward, a.bundle)
    with open(os.path.join(a.bundle, "ttsnap.json")) as f:
        image = json.load(f)["image"]
    t0 = time.time()
    data = load_collected(a.collect, a.reward, curriculum, rdef, (image["height"], image["width"]))
    print(f"narf {a.reward}: {data.target.shape[0]} trajectories from {a.collect}, curriculum {curriculum}", flush=True)
    levels = distill(rdef.module, data, curriculum, a.epochs, a.lr, a.batch, a.seed, log=lambda m: print(m, flush=True))
    files = export_variants(rdef, levels, ship, a.bundle, a.reward)
    print(f"narf {a.reward}: wrote {', '.join(files)} in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
