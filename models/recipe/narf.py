"""Stage 4: noise-aware reward variants (NARF) by self-distillation, with narf_distill.py's recipe (the one a user
runs on their own bundle from `ttsnap collect --save-tweedie`). The data comes from here: the trained diffusion model
samples trajectories (DDIM, STEPS steps, CFG), each step's Tweedie estimate x0_hat is decoded, and the target of each
reward is its own score on the final clean image. narf_distill.distill then fine-tunes a copy of each reward with MSE
along the curriculum NARF_STEPS, from nearly clean to noisy, each level starting from the previous level's weights
with a fresh AdamW whose rate decays linearly to zero over the level's EPOCHS epochs."""
import os
import time

import torch

import data
import narf_distill
import sched
import tokenizer
import train_rewards
import train_unet
import train_vae
from common import GUIDANCE, LATENT, LATENT_C, NARF_STEPS, SEED, STEPS, seed_all, work_path
from nets import ScaledDecoder

N_TRAIN = 2048
SAMPLE_BS = 128
BS = 32
EPOCHS = 2
# align scores span about +-20 (the learned logit scale), quality about [0, 1]: one step size for both either
# wrecked align near the clean end or left quality unchanged at the noisy end
LR = {"align": 1e-4, "quality": 3e-4}


@torch.no_grad()
def trajectories(g, scenes, text, unet):
    """Latent Tweedie estimates [n, STEPS, C, h, w] and final latents [n, C, h, w] for the scenes' captions."""
    n = len(scenes)
    ids = tokenizer.encode_batch([data.caption(s) for s in scenes])
    x0s = torch.empty(n, STEPS, LATENT_C, LATENT, LATENT)
    final = torch.empty(n, LATENT_C, LATENT, LATENT)
    uncond = text(tokenizer.encode_batch([""]))
    for i in range(0, n, SAMPLE_BS):
        j = min(n, i + SAMPLE_BS)
        noise = torch.randn((j - i, LATENT_C, LATENT, LATENT), generator=g)

        def keep(k, _t, x0, i=i, j=j):
            x0s[i:j, k] = x0

        final[i:j] = sched.ddim_sample(unet, text(ids[i:j]), uncond.expand(j - i, -1, -1), noise, STEPS,
                                       GUIDANCE, keep)
    return ids, x0s, final


@torch.no_grad()
def decode(dec, z, bs: int = 256):
    return torch.cat([dec(z[i : i + bs]) for i in range(0, z.shape[0], bs)])


@torch.no_grad()
def score(model, images, ids=None, bs: int = 256):
    out = []
    for i in range(0, images.shape[0], bs):
        args = (images[i : i + bs],) if ids is None else (images[i : i + bs], ids[i : i + bs])
        out.append(model(*args))
    return torch.cat(out)


def models():
    """Everything the later stages need, loaded from the checkpoints."""
    _, dec, scale = train_vae.load()
    text, unet = train_unet.load()
    align, quality = train_rewards.load()
    return text, unet, ScaledDecoder(dec, scale).eval(), align, quality


def samples(log=print) -> dict:
    """The training trajectories, cached in .work/narf_samples.pt: they need only the diffusion model, so they
    can be drawn while the rewards train (`python3 -c 'import narf; narf.samples()'`)."""
    path = work_path("narf_samples.pt")
    if os.path.exists(path):
        return torch.load(path)
    g = seed_all(SEED + 4)
    text, unet = train_unet.load()
    t0 = time.time()
    scenes = data.sample_scenes(g, N_TRAIN)
    ids, x0s, final = trajectories(g, scenes, text, unet)
    out = {"ids": ids, "x0s": x0s, "final": final, "g": g.get_state(), "seconds": time.time() - t0}
    torch.save(out, path)
    log(f"narf: {N_TRAIN} trajectories in {time.time() - t0:.0f}s")
    return out


def train(log=print) -> dict:
    t0 = time.time()
    sm = samples(log)
    ids, x0s, final = sm["ids"], sm["x0s"], sm["final"]
    text, unet, dec, align, quality = models()
    clean = decode(dec, final)
    images = {s: decode(dec, x0s[:, s]) for s in NARF_STEPS}
    variants = {}
    for k, (name, model, text_ids) in enumerate((("align", align, ids), ("quality", quality, None))):
        target = score(model, clean, text_ids)
        log(f"narf {name}: base score of the final images, mean {target.mean():.3f}")
        collected = narf_distill.Collected(images, target, text_ids)
        variants[name] = narf_distill.distill(model, collected, list(NARF_STEPS), EPOCHS, LR[name], BS, SEED + 5 + k,
                                              log=lambda m, name=name: log(f"{name}: {m}"))
    ck = {"variants": variants, "seconds": time.time() - t0 + sm["seconds"], "n": N_TRAIN}
    torch.save(ck, work_path("narf.pt"))
    return ck


def load_variants() -> dict:
    return torch.load(work_path("narf.pt"))["variants"]
