"""Constants shared by every stage of the tiny-bundle recipe (one place, so the manifest cannot drift)."""
import os
import random

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BUNDLE = os.environ.get("TTSNAP_BUNDLE_OUT", os.path.join(ROOT, "models", "tiny"))
WORK = os.environ.get("TTSNAP_RECIPE_WORK", os.path.join(HERE, ".work"))

IMAGE = 32          # pixels, square RGB
LATENT_C = 4
LATENT = 8          # latent side: the VAE downsamples by 4
MAX_LEN = 16        # tokens incl. [BOS]/[EOS]
TEXT_DIM = 64       # width of the text encoder's last_hidden_state
STEPS = 20          # default sampling steps
GUIDANCE = 4.0
OPSET = 17
SEED = 1234

COLOURS = {
    "red": (0.95, 0.15, 0.12),
    "green": (0.15, 0.80, 0.20),
    "blue": (0.15, 0.35, 0.95),
    "yellow": (0.98, 0.88, 0.15),
}
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("above", "below", "left of", "right of")

# diffusers DDIMScheduler config (Stable Diffusion's betas), read by the TypeScript pipeline.
SCHEDULER = {
    "_class_name": "DDIMScheduler",
    "_diffusers_version": "0.30.0",
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "steps_offset": 1,
    "set_alpha_to_one": False,
    "clip_sample": False,
    "trained_betas": None,
}

# NARF curriculum: 0-based sampling step indices (at STEPS steps), from nearly clean to noisy; each level
# fine-tunes from the previous level's weights. NARF_EXPORT: the levels shipped as rewards/<name>/step_SS.onnx
# (each variant is a full copy of the reward, so the bundle ships only these to stay a few MB).
NARF_STEPS = (17, 14, 11, 8, 6, 4, 2)
NARF_EXPORT = (11, 6, 2)


def seed_all(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; returns a CPU generator for explicit use."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def setup_torch() -> None:
    # One thread by default: on 2 cores shared with other work, OpenMP's spin-waiting made 2 threads ~10x
    # slower than 1 in measurements (0.7 s vs 7 s per UNet step). Float results can differ with the count.
    torch.set_num_threads(int(os.environ.get("TTSNAP_RECIPE_THREADS", "1")))
    torch.use_deterministic_algorithms(True)


def work_path(*parts: str) -> str:
    p = os.path.join(WORK, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p
