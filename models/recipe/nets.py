"""The tiny networks. Plain Conv/MatMul/Softmax building blocks only, so every graph exports to opset 17 and the
pipeline's FLOP counter (Conv, MatMul, Gemm) sees all the work."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import LATENT_C, MAX_LEN, TEXT_DIM


class Attention(nn.Module):
    """Multi-head attention written with matmuls; ctx=None means self-attention."""

    def __init__(self, dim: int, ctx_dim: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, h, d // h).transpose(1, 2)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d // h)), dim=-1)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, n, d)
        return self.o(out)


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, MLP."""

    def __init__(self, dim: int, ctx_dim: int = 0, heads: int = 4, mult: int = 2):
        super().__init__()
        self.n1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, dim, heads)
        self.cross = None
        if ctx_dim:
            self.n2 = nn.LayerNorm(dim)
            self.cross = Attention(dim, ctx_dim, heads)
        self.n3 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mult), nn.GELU(), nn.Linear(dim * mult, dim))

    def forward(self, x, ctx=None):
        x = x + self.attn(self.n1(x))
        if self.cross is not None:
            x = x + self.cross(self.n2(x), ctx)
        return x + self.mlp(self.n3(x))


class TextEncoder(nn.Module):
    """input_ids [B, L] -> last_hidden_state [B, L, D]; learned positions, L <= MAX_LEN."""

    def __init__(self, vocab_size: int, dim: int = TEXT_DIM, layers: int = 2):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos[: input_ids.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


def gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(8, c)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv twice, with an optional time embedding added in between."""

    def __init__(self, cin: int, cout: int, tdim: int = 0):
        super().__init__()
        self.n1, self.c1 = gn(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.t = nn.Linear(tdim, cout) if tdim else None
        self.n2, self.c2 = gn(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, temb=None):
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None:
            h = h + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class VAEEncoder(nn.Module):
    """image [-1,1] [B,3,32,32] -> (mean, logvar) [B,C,8,8]. Used for training only."""

    def __init__(self, ch: int = 24):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1), ResBlock(2 * ch, 2 * ch),
            nn.Conv2d(2 * ch, 2 * ch, 3, stride=2, padding=1), ResBlock(2 * ch, 2 * ch),
            gn(2 * ch), nn.SiLU(), nn.Conv2d(2 * ch, 2 * LATENT_C, 1))

    def forward(self, x):
        m, lv = self.net(x).chunk(2, dim=1)
        return m, lv.clamp(-20, 5)


class VAEDecoder(nn.Module):
    """latent [B,C,8,8] -> image [B,3,32,32] in [-1,1]."""

    def __init__(self, ch: int = 24):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(LATENT_C, 2 * ch, 3, padding=1), ResBlock(2 * ch, 2 * ch),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * ch, 2 * ch, 3, padding=1),
            ResBlock(2 * ch, ch),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1), ResBlock(ch, ch),
            gn(ch), nn.SiLU(), nn.Conv2d(ch, 3, 3, padding=1), nn.Tanh())

    def forward(self, z):
        return self.net(z)


def timestep_embedding(t, dim: int):
    """Sinusoidal embedding of integer timesteps (diffusers' flip_sin_to_cos=True ordering)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class SpatialTransformer(nn.Module):
    def __init__(self, ch: int, ctx_dim: int):
        super().__init__()
        self.norm = gn(ch)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.block = Block(ch, ctx_dim)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).reshape(b, c, h * w).transpose(1, 2)
        y = self.block(y, ctx).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(y)


class UNet(nn.Module):
    """(sample [B,C,8,8], timestep int64 [B], encoder_hidden_states [B,L,D]) -> epsilon [B,C,8,8]."""

    def __init__(self, c1: int = 32, c2: int = 64, ctx_dim: int = TEXT_DIM):
        super().__init__()
        self.tdim = c1 * 2
        self.temb = nn.Sequential(nn.Linear(c1, self.tdim), nn.SiLU(), nn.Linear(self.tdim, self.tdim))
        self.c1 = c1
        self.conv_in = nn.Conv2d(LATENT_C, c1, 3, padding=1)
        self.d1, self.a1 = ResBlock(c1, c1, self.tdim), SpatialTransformer(c1, ctx_dim)
        self.down = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.d2, self.a2 = ResBlock(c2, c2, self.tdim), SpatialTransformer(c2, ctx_dim)
        self.m1, self.am = ResBlock(c2, c2, self.tdim), SpatialTransformer(c2, ctx_dim)
        self.u2, self.au2 = ResBlock(2 * c2, c2, self.tdim), SpatialTransformer(c2, ctx_dim)
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c2, c1, 3, padding=1))
        self.u1, self.au1 = ResBlock(2 * c1, c1, self.tdim), SpatialTransformer(c1, ctx_dim)
        self.out = nn.Sequential(gn(c1), nn.SiLU(), nn.Conv2d(c1, LATENT_C, 3, padding=1))

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        t = self.temb(timestep_embedding(timestep, self.c1))
        h1 = self.a1(self.d1(self.conv_in(sample), t), ctx)
        h2 = self.a2(self.d2(self.down(h1), t), ctx)
        m = self.am(self.m1(h2, t), ctx)
        u = self.au2(self.u2(torch.cat([m, h2], dim=1), t), ctx)
        u = self.au1(self.u1(torch.cat([self.up(u), h1], dim=1), t), ctx)
        return self.out(u)


class ImageEncoder(nn.Module):
    """pixel_values [B,3,32,32] -> feature [B,out]; flattened 4x4 map keeps where things are (above/left)."""

    def __init__(self, out: int = 64, ch: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, ch, 3, padding=1), nn.SiLU(),
            nn.Conv2d(ch, 2 * ch, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * ch, 2 * ch, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(2 * ch, 2 * ch, 3, stride=2, padding=1), nn.SiLU())
        self.fc = nn.Linear(2 * ch * 16, out)

    def forward(self, x):
        return self.fc(self.net(x).flatten(1))


class AlignReward(nn.Module):
    """CLIP-style: (pixel_values, input_ids [B, MAX_LEN]) -> score [B] = exp(logit_scale) * cosine(image, text)."""

    def __init__(self, vocab_size: int, dim: int = 64):
        super().__init__()
        self.image = ImageEncoder(dim, ch=24)
        self.text = TextEncoder(vocab_size, dim, layers=1)
        # all MAX_LEN token states, flattened: word order ("A above B" vs "B above A") survives the pooling,
        # which a mean over tokens lost (relation and swap negatives stayed at chance in training)
        self.text_proj = nn.Linear(dim * MAX_LEN, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))

    def embed_image(self, pixel_values):
        return F.normalize(self.image(pixel_values), dim=-1)

    def embed_text(self, input_ids):
        return F.normalize(self.text_proj(self.text(input_ids).flatten(1)), dim=-1)

    def forward(self, pixel_values, input_ids):
        s = (self.embed_image(pixel_values) * self.embed_text(input_ids)).sum(-1)
        return s * self.logit_scale.exp()


class QualityReward(nn.Module):
    """pixel_values [B,3,32,32] -> score [B]; higher means a cleaner, crisper drawing."""

    def __init__(self):
        super().__init__()
        self.image = ImageEncoder(64, ch=16)
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(64, 1))

    def forward(self, pixel_values):
        return self.head(self.image(pixel_values))[:, 0]


class ScaledDecoder(nn.Module):
    """Exported decoder: divides by the latent scaling factor itself, so the manifest's scaling_factor is 1.0."""

    def __init__(self, dec: VAEDecoder, scale: float):
        super().__init__()
        self.dec = dec
        self.register_buffer("inv_scale", torch.tensor(1.0 / scale))

    def forward(self, latent_sample):
        return self.dec(latent_sample * self.inv_scale)


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
