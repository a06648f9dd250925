"""What limits NARF on a collection: a learning curve. Splits the prompts of a `ttsnap collect --save-tweedie` folder
into training prompts and held-out ones (one quarter, --held-out-quarter), trains narf_distill's curriculum on growing numbers of the
training prompts (all their seeds), and prints one JSON line per size: the held-out prompts' within-prompt Kendall
tau of the base and the noise-aware score at each --eval step with the final base score (and on the training prompts,
which shows what the variant can fit at all), the variant's training MSE and held-out MSE, and the final score's within-prompt variance (the MSE of the best constant per prompt).

  python3 narf_curve.py --collect DIR --bundle BUNDLE --reward align [--define tiny_rewards]
      [--curriculum 17,11,6,2] [--eval 6,2] [--fractions 0.25,0.5,1] [--epochs 2] [--lr 1e-4]"""
import argparse
import copy
import importlib
import json
import os
import time

import torch
import torch.nn.functional as F

from narf_distill import Collected, distill, load_collected


def kendall(a: torch.Tensor, b: torch.Tensor) -> float:
    """Kendall tau-b of two score vectors."""
    da = torch.sign(a[:, None] - a[None, :])
    db = torch.sign(b[:, None] - b[None, :])
    num = (da * db).sum()
    den = torch.sqrt((da != 0).sum().float() * (db != 0).sum().float()).clamp(min=1)
    return float(num / den)


@torch.no_grad()
def scores(model, imgs: torch.Tensor, text) -> torch.Tensor:
    model.eval()
    out = [model(imgs[i:i + 256]) if text is None else model(imgs[i:i + 256], text[i:i + 256]) for i in range(0, imgs.shape[0], 256)]
    return torch.cat(out)


def within_tau(pred: torch.Tensor, target: torch.Tensor, prompts: int) -> float:
    p, t = pred.view(prompts, -1), target.view(prompts, -1)
    return sum(kendall(p[i], t[i]) for i in range(prompts)) / prompts


def subset(d: Collected, idx: torch.Tensor) -> Collected:
    return Collected({s: v[idx] for s, v in d.images.items()}, d.target[idx], None if d.text is None else d.text[idx])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--collect", required=True)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--reward", required=True)
    ap.add_argument("--define", default="tiny_rewards")
    ap.add_argument("--curriculum", default="17,11,6,2")
    ap.add_argument("--eval", default="6,2")
    ap.add_argument("--fractions", default="0.25,0.5,1")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--held-out-quarter", type=int, default=3, choices=range(4), help="which quarter of the prompts is held out")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TTSNAP_RECIPE_THREADS", "1")))
    curriculum = [int(s) for s in a.curriculum.split(",")]
    steps = [int(s) for s in a.eval.split(",")]
    rdef = importlib.import_module(a.define).reward(a.reward, a.bundle)
    with open(os.path.join(a.bundle, "ttsnap.json")) as f:
        image = json.load(f)["image"]
    data = load_collected(a.collect, a.reward, sorted(set(curriculum) | set(steps)), rdef, (image["height"], image["width"]))
    with open(os.path.join(a.collect, "collect.json")) as f:
        P = len(json.load(f)["texts"])
    I = data.target.shape[0] // P
    held_p = max(1, P // 4)
    train_p = P - held_p
    q0 = a.held_out_quarter * held_p
    held = torch.arange(q0 * I, (q0 + held_p) * I)
    rest = torch.cat([torch.arange(0, q0 * I), torch.arange((q0 + held_p) * I, P * I)])
    test = subset(data, held)
    data = subset(data, rest)
    variance = float(test.target.view(held_p, I).var(dim=1, unbiased=False).mean())
    base = {s: scores(rdef.module, test.images[s], test.text) for s in steps}
    for frac in [float(x) for x in a.fractions.split(",")]:
        n_p = max(1, round(frac * train_p))
        train = subset(data, torch.arange(0, n_p * I))
        t0 = time.time()
        log = []
        levels = distill(rdef.module, train, curriculum, a.epochs, a.lr, a.batch, 1234, log=log.append)
        row = {"held_out": f"prompts {q0}:{q0 + held_p}", "train_prompts": n_p, "trajectories": n_p * I, "held_out_prompts": held_p, "seeds": I,
               "final_within_prompt_variance": round(variance, 3), "seconds": round(time.time() - t0), "steps": {}}
        for s in steps:
            m = copy.deepcopy(rdef.module)
            m.load_state_dict(levels[s])
            narf = scores(m, test.images[s], test.text)
            fit = scores(m, train.images[s], train.text)
            row["steps"][str(s)] = {
                "tau_narf_on_training_prompts": round(within_tau(fit, train.target, n_p), 3),
                "tau_base_on_training_prompts": round(within_tau(scores(rdef.module, train.images[s], train.text), train.target, n_p), 3),
                "tau_base": round(within_tau(base[s], test.target, held_p), 3),
                "tau_narf": round(within_tau(narf, test.target, held_p), 3),
                "mse_held_out": round(float(F.mse_loss(narf, test.target)), 3),
                "mse_held_out_base": round(float(F.mse_loss(base[s], test.target)), 3),
                "train_log": next((l for l in log if l.startswith(f"narf step {s}:")), ""),
            }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
