"""Stage 3: the two base reward models, on drawn scenes and their VAE reconstructions (what decoded samples
look like).
- align: CLIP-style contrastive image-text training; negatives are the other captions in the batch plus hard
  negatives that change one colour, shape or the relation; captions meaning the same scene are never negatives.
- quality: regression to 1 - severity of a random corruption (clean images score 1)."""
import time

import torch
import torch.nn.functional as F

import data
import tokenizer
import train_vae
from common import SEED, seed_all, work_path
from nets import AlignReward, QualityReward, count

HARD = 2  # hard-negative captions per image


@torch.no_grad()
def reward_images(g, n: int, enc, dec):
    """n scenes; half of the images replaced by their VAE reconstruction."""
    xs, scenes = [], []
    for _ in range(0, n, 512):
        x, sc = data.batch(g, 512)
        rec = dec(enc(x)[0])
        use = (torch.rand(x.shape[0], generator=g) < 0.5).view(-1, 1, 1, 1)
        xs.append(torch.where(use, rec, x))
        scenes += sc
    return torch.cat(xs)[:n], scenes[:n]


def jitter(x, g):
    """Mild damage on a quarter of the images so the score does not hinge on pixel-perfect drawings."""
    n = x.shape[0]
    noisy = x + 0.08 * torch.randn(x.shape, generator=g)
    use = (torch.rand(n, generator=g) < 0.25).view(-1, 1, 1, 1)
    return torch.where(use, noisy.clamp(-1, 1), x)


def align_loss(model, x, scenes, g):
    b = len(scenes)
    pos = [data.paraphrase(s) if torch.rand(1, generator=g).item() < 0.5 else s for s in scenes]
    negs = [data.hard_negative(s, g) for s in scenes for _ in range(HARD)]
    texts = pos + negs
    keys = [data.key(s) for s in texts]
    img = model.embed_image(x)
    txt = model.embed_text(tokenizer.encode_batch([data.caption(s) for s in texts]))
    logits = model.logit_scale.exp() * img @ txt.t()  # [b, b + b*HARD]
    same = torch.tensor([[keys[i] == k for k in keys] for i in range(b)])
    same[torch.arange(b), torch.arange(b)] = False
    logits = logits.masked_fill(same, -1e4)
    target = torch.arange(b)
    t2i = logits[:, :b].t()
    # and each image against only its own hard negatives: in-batch negatives alone teach colours and shapes
    # (a bag of words); this term is what makes relations and word order count
    own = torch.stack([logits[:, :b].diagonal()] + [logits[torch.arange(b), b + torch.arange(b) * HARD + k]
                                                    for k in range(HARD)], dim=1)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(t2i, target)) + \
        F.cross_entropy(own, torch.zeros(b, dtype=torch.int64))


def train(steps: int = 2000, bs: int = 64, n_data: int = 8192, log=print) -> dict:
    g = seed_all(SEED + 3)
    enc, dec, _ = train_vae.load()
    t0 = time.time()
    images, scenes = reward_images(g, n_data, enc, dec)
    log(f"rewards: {n_data} images in {time.time() - t0:.0f}s")
    align, quality = AlignReward(len(tokenizer.VOCAB)), QualityReward()
    log(f"rewards: align {count(align)} params, quality {count(quality)} params, {steps} steps x {bs}")
    opt_a = torch.optim.AdamW(align.parameters(), lr=1e-3, weight_decay=0.01)
    opt_q = torch.optim.AdamW(quality.parameters(), lr=1e-3, weight_decay=0.01)
    lr_a = torch.optim.lr_scheduler.OneCycleLR(opt_a, max_lr=1e-3, total_steps=steps, pct_start=0.05)
    lr_q = torch.optim.lr_scheduler.OneCycleLR(opt_q, max_lr=1e-3, total_steps=steps, pct_start=0.05)
    t0 = time.time()
    for step in range(steps):
        idx = torch.randint(0, n_data, (bs,), generator=g)
        x = images[idx]
        la = align_loss(align, jitter(x, g), [scenes[int(i)] for i in idx], g)
        opt_a.zero_grad()
        la.backward()
        opt_a.step()
        lr_a.step()
        with torch.no_grad():
            align.logit_scale.clamp_(0, 4.6)
        bad, sev = data.corrupt(x, g)
        q = quality(torch.cat([x, bad]))
        lq = F.mse_loss(q, torch.cat([torch.ones(bs), 1 - sev]))
        opt_q.zero_grad()
        lq.backward()
        opt_q.step()
        lr_q.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"rewards step {step} align {la.item():.4f} quality {lq.item():.4f} "
                f"scale {align.logit_scale.exp().item():.1f} {time.time() - t0:.0f}s")
    ck = {"align": align.state_dict(), "quality": quality.state_dict(), "seconds": time.time() - t0}
    torch.save(ck, work_path("rewards.pt"))
    return ck


def load():
    ck = torch.load(work_path("rewards.pt"))
    align, quality = AlignReward(len(tokenizer.VOCAB)), QualityReward()
    align.load_state_dict(ck["align"])
    quality.load_state_dict(ck["quality"])
    return align.eval(), quality.eval()
