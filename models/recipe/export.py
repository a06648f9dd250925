"""ONNX export (opset 17, dynamic batch) and the bundle's JSON files: manifest, scheduler, model_index."""
import json
import os

import torch

import tokenizer
from common import (BUNDLE, GUIDANCE, IMAGE, LATENT, LATENT_C, MAX_LEN, OPSET, SCHEDULER, STEPS)

BATCH = {0: "batch"}


def onnx_export(model, args, path, inputs, outputs, extra_axes=None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    axes = {n: dict(BATCH) for n in inputs + outputs}
    for name, ax in (extra_axes or {}).items():
        axes[name].update(ax)
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, opset_version=OPSET, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, do_constant_folding=True)


def export_core(text, unet, decoder, bundle: str = BUNDLE) -> None:
    ids = tokenizer.encode_batch(["a red circle above a blue square", ""])
    onnx_export(text, (ids,), f"{bundle}/text_encoder/model.onnx", ["input_ids"], ["last_hidden_state"],
                {"input_ids": {1: "sequence"}, "last_hidden_state": {1: "sequence"}})
    h = text(ids)
    x = torch.randn(2, LATENT_C, LATENT, LATENT)
    onnx_export(unet, (x, torch.tensor([951, 1]), h), f"{bundle}/unet/model.onnx",
                ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
                {"encoder_hidden_states": {1: "sequence"}})
    onnx_export(decoder, (x,), f"{bundle}/vae_decoder/model.onnx", ["latent_sample"], ["sample"])


def export_align(model, path: str) -> None:
    px = torch.zeros(2, 3, IMAGE, IMAGE)
    onnx_export(model, (px, tokenizer.encode_batch(["a red circle", "a blue square"])), path,
                ["pixel_values", "input_ids"], ["score"])  # input_ids length fixed at MAX_LEN


def export_quality(model, path: str) -> None:
    onnx_export(model, (torch.zeros(2, 3, IMAGE, IMAGE),), path, ["pixel_values"], ["score"])


def _dump(obj, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def write_configs(narf_steps: dict, bundle: str = BUNDLE, extra: dict = None) -> None:
    """narf_steps: reward name -> list of step indices exported as rewards/<name>/step_SS.onnx."""
    tokenizer.write(bundle)
    _dump(SCHEDULER, f"{bundle}/scheduler/scheduler_config.json")
    _dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
           "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["ttsnap", "TinyTextEncoder"],
           "tokenizer": ["tokenizers", "WordLevel"], "unet": ["ttsnap", "TinyUNet"],
           "vae": ["ttsnap", "TinyVAE"]}, f"{bundle}/model_index.json")
    pre = {"resize": IMAGE, "crop": IMAGE, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}

    def variants(name):
        return {str(s): f"rewards/{name}/step_{s:02d}.onnx" for s in sorted(narf_steps.get(name, []))}

    manifest = {
        "format": "ttsnap-bundle/1",
        "name": "tiny-shapes",
        "prediction": "epsilon",
        "image": {"height": IMAGE, "width": IMAGE},
        "latent": {"channels": LATENT_C, "height": LATENT, "width": LATENT, "scaling_factor": 1.0},
        "sampling": {"steps": STEPS, "guidance_scale": GUIDANCE, "negative_prompt": ""},
        "text": {"max_length": MAX_LEN},
        "cost": {"unit": "TFLOPs", "denoise": 0.0, "verify": {"align": 0.0, "quality": 0.0}},
        "rewards": {
            "align": {"kind": "image_text", "file": "rewards/align/model.onnx",
                      "inputs": {"image": "pixel_values", "text": "input_ids"}, "output": "score",
                      "preprocess": pre, "noise_aware": variants("align")},
            "quality": {"kind": "image", "file": "rewards/quality/model.onnx",
                        "inputs": {"image": "pixel_values"}, "output": "score",
                        "preprocess": pre, "noise_aware": variants("quality")},
        },
        "default_rewards": ["align"],
    }
    if extra:
        manifest.update(extra)
    _dump(manifest, f"{bundle}/ttsnap.json")
