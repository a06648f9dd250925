"""Self-generated training data: anti-aliased shapes on a dark background, with captions, plus corruptions.
Images are float32 [N,3,32,32] in [-1,1]. Everything is a pure function of the torch.Generator passed in."""
import math

import torch
import torch.nn.functional as F

from common import COLOURS, IMAGE, RELATIONS, SHAPES

SS = 4  # supersampling factor for anti-aliased edges
BACKGROUND = (0.08, 0.08, 0.10)
COLOUR_NAMES = list(COLOURS)
OPPOSITE = {"above": "below", "below": "above", "left of": "right of", "right of": "left of"}


def _rand(g, n, lo, hi):
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _randint(g, n, k):
    return torch.randint(0, k, (n,), generator=g)


def sample_scenes(g: torch.Generator, n: int, p_single: float = 0.3) -> list:
    """Scenes: dicts {objs: [(shape, colour)], rel: relation or None}. Pairs never repeat the same object."""
    out = []
    single = torch.rand(n, generator=g) < p_single
    s, c = _randint(g, n, len(SHAPES)), _randint(g, n, len(COLOURS))
    s2, c2 = _randint(g, n, len(SHAPES) - 1), _randint(g, n, len(COLOURS) - 1)
    same_colour = torch.rand(n, generator=g) < 0.2
    rel = _randint(g, n, len(RELATIONS))
    for i in range(n):
        a = (SHAPES[s[i]], COLOUR_NAMES[c[i]])
        if single[i]:
            out.append({"objs": [a], "rel": None})
            continue
        # mostly two colours; a same-colour pair always has two different shapes
        if same_colour[i]:
            b = (SHAPES[(s[i] + 1 + s2[i]) % len(SHAPES)], a[1])
        else:
            b = (SHAPES[int(torch.randint(0, len(SHAPES), (1,), generator=g))],
                 COLOUR_NAMES[(c[i] + 1 + c2[i]) % len(COLOURS)])
        out.append({"objs": [a, b], "rel": RELATIONS[rel[i]]})
    return out


def caption(scene: dict) -> str:
    objs = [f"a {col} {shape}" for shape, col in scene["objs"]]
    return objs[0] if scene["rel"] is None else f"{objs[0]} {scene['rel']} {objs[1]}"


def key(scene: dict) -> str:
    """Canonical meaning: "A below B" is "B above A", so both captions get one key."""
    objs, rel = scene["objs"], scene["rel"]
    if rel in ("below", "right of"):
        objs, rel = objs[::-1], OPPOSITE[rel]
    return "|".join(f"{c} {s}" for s, c in objs) + f"|{rel}"


def paraphrase(scene: dict) -> dict:
    """The same layout said the other way round."""
    if scene["rel"] is None:
        return scene
    return {"objs": scene["objs"][::-1], "rel": OPPOSITE[scene["rel"]]}


def hard_negative(scene: dict, g: torch.Generator) -> dict:
    """A caption that differs in exactly one thing a reader would notice: a colour, a shape or the relation."""
    objs, rel = [list(o) for o in scene["objs"]], scene["rel"]
    kinds = ["colour", "shape"] + (["relation", "swap"] if rel else [])
    kind = kinds[int(_randint(g, 1, len(kinds)))]
    j = int(_randint(g, 1, len(objs)))
    if kind == "colour":
        others = [c for c in COLOUR_NAMES if c != objs[j][1]]
        objs[j][1] = others[int(_randint(g, 1, len(others)))]
    elif kind == "shape":
        others = [s for s in SHAPES if s != objs[j][0]]
        objs[j][0] = others[int(_randint(g, 1, len(others)))]
    elif kind == "relation":
        rel = OPPOSITE[rel]
    else:
        objs = objs[::-1]
    neg = {"objs": [tuple(o) for o in objs], "rel": rel}
    return neg if key(neg) != key(scene) else hard_negative(scene, g)


def _layout(scene: dict, g: torch.Generator) -> list:
    """(shape, rgb, cx, cy, r) in pixels, jittered."""
    objs, rel = scene["objs"], scene["rel"]
    j = _rand(g, 6, -1.0, 1.0)
    if rel is None:
        shape, col = objs[0]
        return [(shape, COLOURS[col], 16 + 3 * j[0], 16 + 3 * j[1], 8 + 1.2 * j[2])]
    near, far = 9.0, 23.0
    ra, rb = 5.8 + 0.6 * j[4], 5.8 + 0.6 * j[5]
    if rel in ("above", "left of"):
        pa, pb = near, far
    else:
        pa, pb = far, near
    across_a, across_b = 16 + 4 * j[0], 16 + 4 * j[1]
    along_a, along_b = pa + 1.5 * j[2], pb + 1.5 * j[3]
    if rel in ("above", "below"):
        ca, cb = (across_a, along_a), (across_b, along_b)
    else:
        ca, cb = (along_a, across_a), (along_b, across_b)
    (sa, ka), (sb, kb) = objs
    return [(sa, COLOURS[ka], ca[0], ca[1], ra), (sb, COLOURS[kb], cb[0], cb[1], rb)]


def _mask(shape: str, cx, cy, r, xs, ys):
    if shape == "circle":
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r
    if shape == "square":
        h = 0.85 * r
        return ((xs - cx).abs() <= h) & ((ys - cy).abs() <= h)
    r = 1.2 * r  # triangle: circumradius scaled so its area is close to the others
    return (ys >= cy - r) & (ys <= cy + 0.5 * r) & ((xs - cx).abs() <= 0.5774 * (ys - cy + r))


def render(scenes: list, g: torch.Generator) -> torch.Tensor:
    n = len(scenes)
    side = IMAGE * SS
    coords = (torch.arange(side, dtype=torch.float32) + 0.5) / SS
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    img = torch.tensor(BACKGROUND).view(1, 3, 1, 1).repeat(n, 1, side, side)
    for i, sc in enumerate(scenes):
        for shape, rgb, cx, cy, r in _layout(sc, g):
            m = _mask(shape, float(cx), float(cy), float(r), xs, ys)
            img[i][:, m] = torch.tensor(rgb).view(3, 1)
    img = F.avg_pool2d(img, SS)
    return img * 2 - 1


def batch(g: torch.Generator, n: int, p_single: float = 0.3):
    """(images [-1,1], scenes)."""
    scenes = sample_scenes(g, n, p_single)
    return render(scenes, g), scenes


def _blur(x, sigma: float):
    k = int(2 * math.ceil(2 * sigma) + 1)
    t = torch.arange(k, dtype=torch.float32) - k // 2
    w = torch.exp(-t * t / (2 * sigma * sigma))
    w = w / w.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (k // 2,) * 4, mode="replicate"), w.view(1, 1, 1, k).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, w.view(1, 1, k, 1).repeat(c, 1, 1, 1), groups=c)


def corrupt(x: torch.Tensor, g: torch.Generator):
    """Damaged copies of clean images and their severity in [0,1] (0 = untouched). One damage kind per image:
    blur, noise, blockiness, washed-out colour, a smeared patch, ghosting (two images mixed)."""
    n = x.shape[0]
    out = x.clone()
    sev = _rand(g, n, 0.15, 1.0)
    kind = _randint(g, n, 6)
    noise = torch.randn(x.shape, generator=g)
    perm = torch.randperm(n, generator=g)
    for i in range(n):
        s, k, im = float(sev[i]), int(kind[i]), x[i : i + 1]
        if k == 0:
            out[i] = _blur(im, 0.4 + 2.2 * s)[0]
        elif k == 1:
            out[i] = (im + 0.6 * s * noise[i]).clamp(-1, 1)[0]
        elif k == 2:
            f = 2 if s < 0.5 else 4
            out[i] = F.interpolate(F.avg_pool2d(im, f), scale_factor=f, mode="nearest")[0]
        elif k == 3:
            grey = im.mean(1, keepdim=True)
            out[i] = ((1 - s) * im + s * (0.5 * grey + 0.5 * im.mean()))[0]
        elif k == 4:
            y0, x0 = [int(v) for v in torch.randint(0, IMAGE - 12, (2,), generator=g)]
            size = int(8 + 16 * s)
            patch = _blur(im, 3.0)[0]
            out[i][:, y0 : y0 + size, x0 : x0 + size] = patch[:, y0 : y0 + size, x0 : x0 + size] + 0.3 * noise[i][:, y0 : y0 + size, x0 : x0 + size]
        else:
            out[i] = ((1 - 0.5 * s) * im + 0.5 * s * x[perm[i] : perm[i] + 1])[0]
    return out.clamp(-1, 1), sev
