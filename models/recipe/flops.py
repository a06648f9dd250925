"""FLOPs of one forward pass by hooks on Conv2d, Linear and the attention matmuls (2 FLOPs per multiply-add);
the same operators `ttsnap models cost` counts from the ONNX graph."""
import torch
import torch.nn as nn

from nets import Attention


def forward_flops(model: nn.Module, *args) -> float:
    total = [0.0]

    def conv(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2.0 * out.numel() * k

    def linear(m, inp, out):
        total[0] += 2.0 * out.numel() * m.in_features

    def attn(m, inp, out):
        x = inp[0]
        ctx = inp[1] if len(inp) > 1 and inp[1] is not None else x
        b, n, d = x.shape
        total[0] += 2.0 * 2 * b * n * ctx.shape[1] * d  # QK^T and AV

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn))
    with torch.no_grad():
        model(*args)
    for h in hooks:
        h.remove()
    return total[0]
