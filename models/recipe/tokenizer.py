"""Word-level tokenizer: the vocabulary of the caption grammar, written as Hugging Face tokenizers JSON."""
import json
import os
import re

import torch

from common import COLOURS, MAX_LEN, RELATIONS, SHAPES

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD, UNK, BOS, EOS = 0, 1, 2, 3


def vocab() -> dict:
    words = ["a", "an", "the", "and", "of", "on", "with", "image", "picture"]
    words += list(COLOURS) + list(SHAPES)
    for rel in RELATIONS:
        words += rel.split()
    words += ["next", "to", "big", "small"]
    out = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in words:
        if w not in out:
            out[w] = len(out)
    return out


VOCAB = vocab()
# Same split as the HF Whitespace pre-tokenizer: \w+|[^\w\s]+
_WORDS = re.compile(r"\w+|[^\w\s]+")


def encode(text: str) -> list:
    """ids = [BOS] words [EOS], truncated and right-padded with [PAD] to MAX_LEN."""
    words = _WORDS.findall(text.lower())
    ids = [BOS] + [VOCAB.get(w, UNK) for w in words][: MAX_LEN - 2] + [EOS]
    return ids + [PAD] * (MAX_LEN - len(ids))


def encode_batch(texts) -> torch.Tensor:
    return torch.tensor([encode(t) for t in texts], dtype=torch.int64)


def _special(tok: str) -> dict:
    return {"id": VOCAB[tok], "content": tok, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True}


def tokenizer_json() -> dict:
    def st(tok):
        return {"SpecialToken": {"id": tok, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": MAX_LEN, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": MAX_LEN}, "direction": "Right", "pad_to_multiple_of": None,
                    "pad_id": PAD, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [_special(t) for t in SPECIALS],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [st("[BOS]"), {"Sequence": {"id": "A", "type_id": 0}}, st("[EOS]")],
            "pair": [st("[BOS]"), {"Sequence": {"id": "A", "type_id": 0}}, st("[EOS]"),
                     {"Sequence": {"id": "B", "type_id": 1}}, st("[EOS]")],
            "special_tokens": {t: {"id": t, "ids": [VOCAB[t]], "tokens": [t]} for t in ("[BOS]", "[EOS]")},
        },
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "[UNK]"},
    }


def write(bundle: str) -> None:
    d = os.path.join(bundle, "tokenizer")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=1)
        f.write("\n")
    cfg = {"model_max_length": MAX_LEN, "pad_token": "[PAD]", "bos_token": "[BOS]", "eos_token": "[EOS]",
           "unk_token": "[UNK]", "tokenizer_class": "PreTrainedTokenizerFast"}
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
