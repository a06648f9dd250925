"""DDPM training noise and DDIM sampling with the bundle's scheduler config (same formulas as diffusers)."""
import torch

from common import SCHEDULER


def alphas_cumprod() -> torch.Tensor:
    c = SCHEDULER
    betas = torch.linspace(c["beta_start"] ** 0.5, c["beta_end"] ** 0.5, c["num_train_timesteps"],
                           dtype=torch.float64) ** 2  # scaled_linear
    return torch.cumprod(1.0 - betas, dim=0).to(torch.float32)


ACP = alphas_cumprod()


def ddim_timesteps(steps: int) -> list:
    """"leading" spacing with steps_offset: e.g. 20 steps -> [951, 901, ..., 1]."""
    ratio = SCHEDULER["num_train_timesteps"] // steps
    return [i * ratio + SCHEDULER["steps_offset"] for i in reversed(range(steps))]


def add_noise(x0, noise, t):
    a = ACP[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def tweedie(xt, eps, t: int):
    a = ACP[t]
    return (xt - (1 - a).sqrt() * eps) / a.sqrt()


@torch.no_grad()
def ddim_sample(unet, cond, uncond, x, steps: int, guidance: float, on_step=None):
    """DDIM (eta=0) with classifier-free guidance. on_step(i, t, x0_hat) sees each step's Tweedie estimate.
    cond/uncond: encoder_hidden_states [B,L,D]; x: initial noise [B,C,h,w]. Returns the final latent."""
    ts = ddim_timesteps(steps)
    ratio = SCHEDULER["num_train_timesteps"] // steps
    final_acp = ACP[0]  # set_alpha_to_one = False
    ctx = torch.cat([uncond, cond])
    for i, t in enumerate(ts):
        tt = torch.full((2 * x.shape[0],), t, dtype=torch.int64)
        eu, ec = unet(torch.cat([x, x]), tt, ctx).chunk(2)
        eps = eu + guidance * (ec - eu)
        x0 = tweedie(x, eps, t)
        if on_step is not None:
            on_step(i, t, x0)
        prev = t - ratio
        ap = ACP[prev] if prev >= 0 else final_acp
        x = ap.sqrt() * x0 + (1 - ap).sqrt() * eps
    return x
