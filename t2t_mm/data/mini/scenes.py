"""Rendered scenes of coloured shapes, for image classification and captioning.

    rng = np.random.default_rng(0)
    image, label = classification_example(rng, size=32)   # uint8 [32, 32, 3], "red circle"
    image, caption = caption_example(rng, size=32)        # "a small red circle left of a
                                                          #  big blue square"

Backgrounds are random dark gradients with noise; objects vary in size and position, so a
model must find the object before naming it.
"""

import functools
import struct
import zlib
from typing import List, Tuple

import numpy as np

SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 230),
           "yellow": (230, 220, 50), "white": (235, 235, 235)}
CLASS_LABELS: List[str] = [f"{c} {s}" for c in COLOURS for s in SHAPES]


@functools.lru_cache(maxsize=8)
def _grid(size: int):
  return np.mgrid[0:size, 0:size].astype(np.float32)


def encode_png(image: np.ndarray) -> bytes:
  """uint8 [H, W, 3] -> PNG bytes (no filter, zlib level 1): fast for small images."""
  h, w, _ = image.shape
  raw = np.concatenate([np.zeros((h, 1), np.uint8), image.reshape(h, w * 3)], axis=1)

  def chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

  return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
          chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


def _mask(shape: str, size: int, cy: float, cx: float, r: float) -> np.ndarray:
  yy, xx = _grid(size)
  dy, dx = yy - cy, xx - cx
  if shape == "circle":
    return dy * dy + dx * dx <= r * r
  if shape == "square":
    return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
  if shape == "triangle":  # Apex up: width grows linearly from top to bottom.
    return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
  if shape == "cross":
    arm = max(r / 3, 1.0)
    inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
    return inside & ((np.abs(dy) <= arm) | (np.abs(dx) <= arm))
  raise ValueError(shape)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
  base = rng.uniform(0, 90, size=3)
  grad = rng.uniform(-40, 40, size=3)
  t = np.linspace(0, 1, size, dtype=np.float32)
  along = t[:, None] if rng.random() < 0.5 else t[None, :]
  img = base[None, None, :] + along[..., None] * grad[None, None, :]
  return img + rng.normal(0, 12, size=(size, size, 3))


def _draw(img: np.ndarray, rng: np.random.Generator, shape: str, colour: str, cy: float,
          cx: float, r: float) -> None:
  tint = np.array(COLOURS[colour], np.float32) * rng.uniform(0.8, 1.0)
  img[_mask(shape, img.shape[0], cy, cx, r)] = tint


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  img = img + rng.normal(0, 8, size=img.shape)
  return np.clip(img, 0, 255).astype(np.uint8)


def classification_example(rng: np.random.Generator, size: int = 32) -> Tuple[np.ndarray, int]:
  """One shape on a noisy background; the label is CLASS_LABELS' index of 'colour shape'."""
  label = int(rng.integers(len(CLASS_LABELS)))
  colour, shape = CLASS_LABELS[label].split()
  r = rng.uniform(size * 0.14, size * 0.3)
  cy, cx = rng.uniform(r, size - r, size=2)
  img = _background(rng, size)
  _draw(img, rng, shape, colour, cy, cx, r)
  return _finish(img, rng), label


def caption_example(rng: np.random.Generator, size: int = 32) -> Tuple[np.ndarray, str]:
  """Two shapes side by side or one above the other, and the sentence describing them."""
  img = _background(rng, size)
  horizontal = rng.random() < 0.5
  words = []
  objects = []
  for slot in range(2):
    shape, colour = SHAPES[rng.integers(len(SHAPES))], list(COLOURS)[rng.integers(len(COLOURS))]
    big = rng.random() < 0.5
    r = size * (rng.uniform(0.17, 0.22) if big else rng.uniform(0.09, 0.13))
    along = (slot + 0.5) * size / 2 + rng.uniform(-0.08, 0.08) * size
    across = rng.uniform(r + 1, size - r - 1)
    cy, cx = (across, along) if horizontal else (along, across)
    objects.append((shape, colour, cy, cx, r))
    words.append(f"a {'big' if big else 'small'} {colour} {shape}")
  first = int(rng.integers(2))  # Which object the caption names first.
  for shape, colour, cy, cx, r in objects:
    _draw(img, rng, shape, colour, cy, cx, r)
  if horizontal:
    relation = "left of" if first == 0 else "right of"
  else:
    relation = "above" if first == 0 else "below"
  caption = f"{words[first]} {relation} {words[1 - first]}"
  return _finish(img, rng), caption
