#!/usr/bin/env python3
"""Reference model inputs for every preprocessing option (tests/preprocess_reference.rs).

    python3 tools/make_preprocess_fixtures.py

Writes small PNGs and, for each case, the float32 input a model gets, computed here with
numpy and PIL into tests/fixtures/preprocess/ (`cases.json` lists them). Scaling is
float32 `(pixel / 255 - mean) / std` (`pixel` alone for `zero-255`), as torchvision's
ToTensor + Normalize. Resizing: PIL's and the `image` crate's bilinear filters differ, so
every case is built to need no interpolation: `stretch` cases use images already at the
input size, and `crop` cases pick sizes whose cover size equals the image's shorter side
(scale factor 1), so only the centre crop (offsets rounded down, as PIL's
`(w - size) // 2`) is tested. Grayscale from RGB is the `image` crate's float32 luma
(BT.709 weights 0.2126, 0.7152, 0.0722; see `luma`), reproduced here.
Needs numpy and pillow (tools/requirements.txt).
"""

import json
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "preprocess"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def images(rng):
    """name -> (uint8 array [H, W, C], PIL mode)."""
    return {
        "rgb_w12_h10.png": (rng.integers(0, 256, (10, 12, 3), dtype=np.uint8), "RGB"),
        "rgb_w16_h12.png": (rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), "RGB"),
        "rgb_w32_h40.png": (rng.integers(0, 256, (40, 32, 3), dtype=np.uint8), "RGB"),
        "rgba_w8_h8.png": (rng.integers(0, 256, (8, 8, 4), dtype=np.uint8), "RGBA"),
        "gray_w9_h9.png": (rng.integers(0, 256, (9, 9, 1), dtype=np.uint8), "L"),
    }


def luma(rgb):
    """The `image` crate's RGB -> luma: float32 `pixel * (1/255)`, BT.709 weights
    accumulated in order, then `round(luma * 255)` (half away from zero)."""
    e = rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    acc = np.zeros(rgb.shape[:2], dtype=np.float32)
    for i, c in enumerate((0.2126, 0.7152, 0.0722)):
        acc = acc + e[..., i] * np.float32(c)
    v = acc * np.float32(255.0)
    return np.clip(np.floor(v + np.float32(0.5)), 0, 255).astype(np.uint8)[..., None]


def reference(px, layout, channels, h, w, opt):
    """px: decoded uint8 [H, W, C] (C = 1 for L, 3 for RGB, 4 for RGBA)."""
    if px.shape[2] == 4:
        px = px[..., :3]
    color = opt.get("color", "auto")
    if color == "auto":
        color = "gray" if channels == 1 else "rgb"
    if opt.get("resize", "stretch") == "crop":
        ratio = opt["crop_ratio"]
        ch, cw = int(np.floor(h / ratio)), int(np.floor(w / ratio))
        ih, iw = px.shape[:2]
        factor = max(ch / ih, cw / iw)
        assert round(ih * factor) == ih and round(iw * factor) == iw, "case needs interpolation"
        top, left = (ih - h) // 2, (iw - w) // 2
        px = px[top : top + h, left : left + w]
    assert px.shape[:2] == (h, w), "case needs interpolation"
    if color == "gray":
        src = px if px.shape[2] == 1 else luma(px)
        src = np.repeat(src, channels, axis=2)
    else:
        src = px if px.shape[2] == 3 else np.repeat(px, 3, axis=2)
        if color == "bgr":
            src = src[..., ::-1]
    scale = opt.get("scale", "zero-one")
    mean = {"zero-one": [0.0], "minus-one-one": [0.5], "zero-255": [0.0],
            "imagenet": IMAGENET_MEAN, "custom": opt.get("mean")}[scale]
    std = {"zero-one": [1.0], "minus-one-one": [0.5], "zero-255": [1.0],
           "imagenet": IMAGENET_STD, "custom": opt.get("std")}[scale]
    mean = np.array(mean if len(mean) == channels else mean * channels, dtype=np.float32)
    std = np.array(std if len(std) == channels else std * channels, dtype=np.float32)
    if scale == "imagenet" and color == "bgr":
        mean, std = mean[::-1], std[::-1]
    x = src.astype(np.float32)
    if scale != "zero-255":
        x = x / np.float32(255.0)
    x = (x - mean) / std  # [H, W, C], float32 throughout
    if layout == "NCHW":
        x = x.transpose(2, 0, 1)
    return x.reshape(-1).astype(np.float32)


CASES = [
    # image, layout, channels, height, width, options
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"scale": "minus-one-one"}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"scale": "zero-255"}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"scale": "imagenet"}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"scale": "custom", "mean": [0.1, 0.2, 0.3], "std": [0.5, 0.25, 2.0]}),
    ("rgb_w12_h10.png", "NHWC", 3, 10, 12, {"color": "bgr", "scale": "imagenet"}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"color": "bgr", "scale": "custom", "mean": [0.3], "std": [0.2]}),
    ("rgb_w12_h10.png", "flat", 3, 10, 12, {"scale": "minus-one-one"}),
    ("rgb_w12_h10.png", "NHW", 1, 10, 12, {}),
    ("rgb_w12_h10.png", "NCHW", 1, 10, 12, {"scale": "custom", "mean": [0.1307], "std": [0.3081]}),
    ("rgb_w12_h10.png", "NCHW", 3, 10, 12, {"color": "gray", "scale": "imagenet"}),
    ("rgba_w8_h8.png", "NCHW", 3, 8, 8, {"scale": "minus-one-one"}),
    ("gray_w9_h9.png", "NHW", 1, 9, 9, {"scale": "zero-255"}),
    ("gray_w9_h9.png", "NCHW", 3, 9, 9, {"scale": "imagenet"}),
    ("rgb_w16_h12.png", "NCHW", 3, 12, 12, {"resize": "crop", "crop_ratio": 1.0}),
    ("rgb_w32_h40.png", "NCHW", 3, 8, 8, {"resize": "crop", "crop_ratio": 0.25, "scale": "imagenet"}),
    ("rgb_w32_h40.png", "NHWC", 3, 10, 8, {"resize": "crop", "crop_ratio": 0.25, "color": "bgr"}),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    imgs = images(rng)
    for name, (arr, mode) in imgs.items():
        Image.fromarray(arr[..., 0] if mode == "L" else arr, mode).save(OUT / name)
    cases = []
    for i, (img, layout, c, h, w, opt) in enumerate(CASES):
        decoded = np.asarray(Image.open(OUT / img))
        if decoded.ndim == 2:
            decoded = decoded[..., None]
        x = reference(decoded, layout, c, h, w, opt)
        assert x.size == c * h * w
        out = f"case{i:02d}.npy"
        np.save(OUT / out, x)
        cases.append({"image": img, "layout": layout, "channels": c, "height": h, "width": w,
                      "options": opt, "expected": out})
    (OUT / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
