"""Stage 2: text encoder + conditional UNet, trained jointly with the DDPM epsilon loss on VAE latents.
Caption dropout (10%) to the empty prompt teaches the unconditional branch for classifier-free guidance."""
import copy
import time

import torch
import torch.nn.functional as F

import data
import sched
import tokenizer
import train_vae
from common import SEED, seed_all, work_path
from nets import TextEncoder, UNet, count

DROP = 0.10


@torch.no_grad()
def dataset(g, n: int, enc):
    """Pre-rendered scenes: latent posterior (mean, std) and both phrasings' token ids."""
    means, stds, ids_a, ids_b = [], [], [], []
    for _ in range(0, n, 512):
        x, scenes = data.batch(g, 512)
        m, lv = enc(x)
        means.append(m)
        stds.append(torch.exp(0.5 * lv))
        ids_a.append(tokenizer.encode_batch([data.caption(s) for s in scenes]))
        ids_b.append(tokenizer.encode_batch([data.caption(data.paraphrase(s)) for s in scenes]))
    return torch.cat(means)[:n], torch.cat(stds)[:n], torch.cat(ids_a)[:n], torch.cat(ids_b)[:n]


def ema_update(ema, model, decay: float):
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(p, alpha=1 - decay)


def train(steps: int = 2400, bs: int = 48, n_data: int = 20480, log=print) -> dict:
    g = seed_all(SEED + 2)
    enc, _, scale = train_vae.load()
    t0 = time.time()
    mean, std, ids_a, ids_b = dataset(g, n_data, enc)
    log(f"unet: dataset of {n_data} scenes in {time.time() - t0:.0f}s")
    text, unet = TextEncoder(len(tokenizer.VOCAB)), UNet()
    log(f"unet: text encoder {count(text)} params, unet {count(unet)} params, {steps} steps x {bs}")
    ema_t, ema_u = copy.deepcopy(text), copy.deepcopy(unet)
    params = list(text.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=1.5e-3, weight_decay=0.01)
    lr = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.5e-3, total_steps=steps, pct_start=0.05)
    empty = tokenizer.encode_batch([""])
    t0 = time.time()
    avg = None
    for step in range(steps):
        idx = torch.randint(0, n_data, (bs,), generator=g)
        z0 = (mean[idx] + std[idx] * torch.randn(mean[idx].shape, generator=g)) * scale
        flip = torch.rand(bs, generator=g) < 0.5
        ids = torch.where(flip[:, None], ids_b[idx], ids_a[idx])
        drop = torch.rand(bs, generator=g) < DROP
        ids = torch.where(drop[:, None], empty.expand(bs, -1), ids)
        t = torch.randint(0, sched.ACP.shape[0], (bs,), generator=g)
        noise = torch.randn(z0.shape, generator=g)
        loss = F.mse_loss(unet(sched.add_noise(z0, noise, t), t, text(ids)), noise)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        lr.step()
        decay = min(0.998, (1 + step) / (10 + step))
        ema_update(ema_t, text, decay)
        ema_update(ema_u, unet, decay)
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 100 == 0 or step == steps - 1:
            log(f"unet step {step} loss {avg:.4f} {time.time() - t0:.0f}s")
        if step % 500 == 499:  # lets a long run be inspected before it ends
            torch.save({"text": ema_t.state_dict(), "unet": ema_u.state_dict()}, work_path("unet_partial.pt"))
    ck = {"text": ema_t.state_dict(), "unet": ema_u.state_dict(), "seconds": time.time() - t0, "steps": steps}
    torch.save(ck, work_path("unet.pt"))
    return ck


def load(name: str = "unet.pt"):
    ck = torch.load(work_path(name))
    text, unet = TextEncoder(len(tokenizer.VOCAB)), UNet()
    text.load_state_dict(ck["text"])
    unet.load_state_dict(ck["unet"])
    return text.eval(), unet.eval()
