"""Stage 1: a small KL autoencoder, 32x32 RGB <-> 4x8x8 latents. Writes .work/vae.pt with the latent scale."""
import time

import torch
import torch.nn.functional as F

import data
from common import SEED, seed_all, work_path
from nets import VAEDecoder, VAEEncoder, count

KL_WEIGHT = 1e-4


def train(steps: int = 700, bs: int = 32, log=print) -> dict:
    g = seed_all(SEED + 1)
    enc, dec = VAEEncoder(), VAEDecoder()
    log(f"vae: encoder {count(enc)} params, decoder {count(dec)} params, {steps} steps x {bs}")
    opt = torch.optim.AdamW(list(enc.parameters()) + list(dec.parameters()), lr=2e-3, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.05)
    t0 = time.time()
    for step in range(steps):
        x, _ = data.batch(g, bs)
        m, lv = enc(x)
        z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=g)
        rec = dec(z)
        kl = 0.5 * (m.pow(2) + lv.exp() - 1 - lv).sum(dim=(1, 2, 3)).mean()
        loss = F.l1_loss(rec, x) + F.mse_loss(rec, x) + KL_WEIGHT * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"vae step {step} loss {loss.item():.4f} kl {kl.item():.1f} {time.time() - t0:.0f}s")
    enc.eval()
    dec.eval()
    with torch.no_grad():
        x, _ = data.batch(g, 1024)
        m, lv = enc(x)
        z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=g)
        scale = float(1.0 / z.std())
        err = (dec(m) - x).abs().mean().item()
    log(f"vae: latent scale {scale:.4f}, reconstruction L1 {err:.4f}")
    ck = {"enc": enc.state_dict(), "dec": dec.state_dict(), "scale": scale, "rec_l1": err,
          "seconds": time.time() - t0}
    torch.save(ck, work_path("vae.pt"))
    return ck


def load():
    ck = torch.load(work_path("vae.pt"))
    enc, dec = VAEEncoder(), VAEDecoder()
    enc.load_state_dict(ck["enc"])
    dec.load_state_dict(ck["dec"])
    return enc.eval(), dec.eval(), ck["scale"]
