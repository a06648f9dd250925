"""Stage `from-bundle`: the checkpoints of the vae, unet and rewards stages read back from a built bundle's ONNX files
(narf_distill.load_from_onnx: the exported weights bit for bit) and its eval.json, so that the later stages can be
redone without retraining the diffusion model: `build.sh from-bundle narf eval export` rebuilds the NARF variants,
eval.json and the bundle from the committed models in minutes. TTSNAP_BUNDLE_IN names the bundle (default models/tiny);
the export stage writes TTSNAP_BUNDLE_OUT as always. The VAE encoder is not in a bundle: nothing after training reads it."""
import json
import os

import torch

import tokenizer
from common import IMAGE, LATENT, LATENT_C, ROOT, work_path
from narf_distill import load_from_onnx
from nets import AlignReward, QualityReward, ScaledDecoder, TextEncoder, UNet, VAEDecoder, VAEEncoder

BUNDLE_IN = os.environ.get("TTSNAP_BUNDLE_IN", os.path.join(ROOT, "models", "tiny"))


def _load(module, rel: str, example: tuple, inputs: list, output: str):
    load_from_onnx(module, os.path.join(BUNDLE_IN, rel), example, inputs, output)
    return module


def train(log=print) -> None:
    with open(os.path.join(BUNDLE_IN, "eval.json")) as f:
        trained = json.load(f)["training"]
    seconds = trained["seconds"]
    ids = tokenizer.encode_batch(["a red circle above a blue square", ""])
    text = _load(TextEncoder(len(tokenizer.VOCAB)), "text_encoder/model.onnx", (ids,), ["input_ids"], "last_hidden_state")
    x = torch.zeros(2, LATENT_C, LATENT, LATENT)
    with torch.no_grad():
        h = text.eval()(ids)
    unet = _load(UNet(), "unet/model.onnx", (x, torch.tensor([951, 1]), h), ["sample", "timestep", "encoder_hidden_states"], "out_sample")
    scale = trained["latent_scale"]
    dec = VAEDecoder()
    _load(ScaledDecoder(dec, scale), "vae_decoder/model.onnx", (x,), ["latent_sample"], "sample")
    px = torch.zeros(2, 3, IMAGE, IMAGE)
    align = _load(AlignReward(len(tokenizer.VOCAB)), "rewards/align/model.onnx", (px, tokenizer.encode_batch(["a red circle", "a blue square"])),
                  ["pixel_values", "input_ids"], "score")
    quality = _load(QualityReward(), "rewards/quality/model.onnx", (px,), ["pixel_values"], "score")
    torch.save({"enc": VAEEncoder().state_dict(), "dec": dec.state_dict(), "scale": scale, "rec_l1": trained["vae_reconstruction_l1"],
                "seconds": seconds["vae"]}, work_path("vae.pt"))
    torch.save({"text": text.state_dict(), "unet": unet.state_dict(), "steps": trained["unet_steps"], "seconds": seconds["unet"]},
               work_path("unet.pt"))
    torch.save({"align": align.state_dict(), "quality": quality.state_dict(), "seconds": seconds["rewards"]}, work_path("rewards.pt"))
    log(f"from-bundle: vae, unet and rewards checkpoints from {BUNDLE_IN}")
