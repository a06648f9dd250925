"""The tiny bundle's rewards as PyTorch modules (nets.py), with the trained weights read back from the bundle's
ONNX files, for narf_distill.py: `python3 narf_distill.py --define tiny_rewards ...`."""
import json
import os
import re

import torch

import nets
from common import IMAGE, MAX_LEN
from narf_distill import RewardDef, load_from_onnx


def _tokenizer(bundle: str):
    """The bundle's WordLevel tokenizer.json: lowercase, whitespace split, [BOS] words [EOS], [PAD] to MAX_LEN."""
    with open(os.path.join(bundle, "tokenizer", "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]

    def encode(text: str) -> list:
        words = [vocab.get(w, vocab["[UNK]"]) for w in re.findall(r"\w+|[^\w\s]+", text.lower())][: MAX_LEN - 2]
        ids = [vocab["[BOS]"]] + words + [vocab["[EOS]"]]
        return ids + [vocab["[PAD]"]] * (MAX_LEN - len(ids))

    return len(vocab), lambda texts: torch.tensor([encode(t) for t in texts], dtype=torch.int64)


def reward(name: str, bundle: str) -> RewardDef:
    vocab_size, tokenize = _tokenizer(bundle)
    px = torch.zeros(2, 3, IMAGE, IMAGE)
    if name == "align":
        rdef = RewardDef(nets.AlignReward(vocab_size), "pixel_values", "input_ids", "score", tokenize,
                         (px, tokenize(["a red circle", "a blue square"])))
    elif name == "quality":
        rdef = RewardDef(nets.QualityReward(), "pixel_values", None, "score", None, (px,))
    else:
        raise SystemExit(f"tiny_rewards: unknown reward {name!r}; align | quality")
    inputs = [rdef.image_input] + ([rdef.text_input] if rdef.text_input else [])
    load_from_onnx(rdef.module, os.path.join(bundle, "rewards", name, "model.onnx"), rdef.example, inputs, rdef.output)
    return rdef
