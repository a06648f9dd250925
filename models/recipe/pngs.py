"""A tiny PNG writer (zlib + struct) for looking at grids while developing; no PIL needed."""
import struct
import zlib

import numpy as np


def write_png(path: str, rgb: np.ndarray) -> None:
    """rgb: uint8 [H, W, 3]."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def grid(images, cols: int, scale: int = 2) -> np.ndarray:
    """images: torch/numpy [N,3,H,W] in [-1,1] -> uint8 grid [rows*H*scale, cols*W*scale, 3] with 1px gaps."""
    x = np.asarray(images, dtype=np.float32)
    n, _, h, w = x.shape
    rows = (n + cols - 1) // cols
    out = np.full((rows * (h + 1), cols * (w + 1), 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        tile = ((x[i].transpose(1, 2, 0) + 1) * 127.5).clip(0, 255).astype(np.uint8)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return out.repeat(scale, 0).repeat(scale, 1)
