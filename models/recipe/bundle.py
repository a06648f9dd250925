"""Stage 6: export the trained models to models/tiny in the bundle layout, with manifest, costs and eval.json."""
import json
import os
import shutil

import torch

import export
import narf
import tokenizer
from common import BUNDLE, IMAGE, LATENT, LATENT_C, MAX_LEN, NARF_EXPORT, TEXT_DIM, work_path
from flops import forward_flops
from nets import AlignReward, QualityReward, count


def costs(unet, dec, align, quality) -> dict:
    """TFLOPs per candidate: a denoise step is 2 UNet passes (classifier-free guidance); a reward call decodes
    the Tweedie estimate and runs the reward."""
    z = torch.zeros(1, LATENT_C, LATENT, LATENT)
    px = torch.zeros(1, 3, IMAGE, IMAGE)
    ids = tokenizer.encode_batch(["a red circle"])
    u = forward_flops(unet, z, torch.tensor([1]), torch.zeros(1, MAX_LEN, TEXT_DIM))
    d = forward_flops(dec, z)
    return {"unit": "TFLOPs", "denoise": 2 * u / 1e12,
            "verify": {"align": (d + forward_flops(align, px, ids)) / 1e12,
                       "quality": (d + forward_flops(quality, px)) / 1e12}}


def train(log=print, bundle: str = BUNDLE) -> None:
    text, unet, dec, align, quality = narf.models()
    variants = narf.load_variants()
    if os.path.isdir(bundle):
        shutil.rmtree(bundle)
    export.export_core(text, unet, dec, bundle)
    export.export_align(align, f"{bundle}/rewards/align/model.onnx")
    export.export_quality(quality, f"{bundle}/rewards/quality/model.onnx")
    v = len(tokenizer.VOCAB)
    for s in NARF_EXPORT:
        a, q = AlignReward(v), QualityReward()
        a.load_state_dict(variants["align"][s])
        q.load_state_dict(variants["quality"][s])
        export.export_align(a, f"{bundle}/rewards/align/step_{s:02d}.onnx")
        export.export_quality(q, f"{bundle}/rewards/quality/step_{s:02d}.onnx")
    export.write_configs({"align": NARF_EXPORT, "quality": NARF_EXPORT}, bundle,
                         {"cost": costs(unet, dec, align, quality)})
    with open(work_path("eval.json")) as f:
        ev = json.load(f)
    ck = {k: torch.load(work_path(f"{k}.pt")) for k in ("vae", "unet", "rewards", "narf")}
    ev["training"] = {
        "seconds": {k: round(c["seconds"], 1) for k, c in ck.items()},
        "params": {"text_encoder": count(text), "unet": count(unet), "vae_decoder": count(dec),
                   "align": count(align), "quality": count(quality)},
        "latent_scale": ck["vae"]["scale"], "vae_reconstruction_l1": ck["vae"]["rec_l1"],
        "unet_steps": ck["unet"]["steps"], "narf_trajectories": ck["narf"]["n"],
    }
    with open(f"{bundle}/eval.json", "w") as f:
        json.dump(ev, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(bundle) for n in ns)
    log(f"export: {bundle} ({size / 1e6:.2f} MB)")
