"""CIDEr-D (Vedantam et al. 2015) of captions against every reference of their image.

    cider_d([["a red square", "something red"], ["a blue box"]], ["a red square", "a box"])

As the COCO caption evaluation computes it: n-grams n = 1..4, each weighted by tf-idf with the
document frequency counted over the images' reference sets; per n, the cosine of the clipped
hypothesis vector and each reference vector, times a Gaussian penalty on the length difference
(sigma 6); averaged over n and over the references, times 10; the corpus score is the mean over
images. Like that implementation, the "length" in the penalty counts bigrams. Tokens are the
lower-cased words with punctuation split off (the COCO code uses the PTB tokenizer).
"""

import collections
import math
import re
from typing import Dict, List, Sequence, Tuple

N = 4
SIGMA = 6.0
_TOKEN = re.compile(r"\w+|[^\w\s]")

Counts = Dict[Tuple[str, ...], int]


def tokenize(text: str) -> List[str]:
  return _TOKEN.findall(text.lower())


def ngram_counts(text: str) -> Counts:
  words = tokenize(text)
  return collections.Counter(tuple(words[i:i + n]) for n in range(1, N + 1)
                             for i in range(len(words) - n + 1))


def _vector(counts: Counts, df: Dict, log_images: float):
  vec = [dict() for _ in range(N)]
  norm = [0.0] * N
  length = 0
  for gram, tf in counts.items():
    n = len(gram) - 1
    vec[n][gram] = tf * (log_images - math.log(max(1.0, df[gram])))
    norm[n] += vec[n][gram] ** 2
    if n == 1:
      length += tf
  return vec, [math.sqrt(x) for x in norm], length


def _similarity(hyp, ref) -> List[float]:
  (vec_h, norm_h, len_h), (vec_r, norm_r, len_r) = hyp, ref
  penalty = math.exp(-((len_h - len_r) ** 2) / (2 * SIGMA ** 2))
  out = []
  for n in range(N):
    value = sum(min(v, vec_r[n].get(g, 0.0)) * vec_r[n].get(g, 0.0) for g, v in vec_h[n].items())
    if norm_h[n] and norm_r[n]:
      value /= norm_h[n] * norm_r[n]
    out.append(value * penalty)
  return out


def cider_d_per_image(refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> List[float]:
  ref_counts = [[ngram_counts(r) for r in rs] for rs in refs]
  df = collections.Counter(g for counts in ref_counts for g in set().union(*counts))
  log_images = math.log(float(len(refs)))
  scores = []
  for hyp, counts in zip(hyps, ref_counts, strict=True):
    h = _vector(ngram_counts(hyp), df, log_images)
    total = [0.0] * N
    for c in counts:
      total = [a + b for a, b in zip(total, _similarity(h, _vector(c, df, log_images)))]
    scores.append(10.0 * (sum(total) / N) / max(len(counts), 1))
  return scores


def cider_d(refs: Sequence[Sequence[str]], hyps: Sequence[str]) -> float:
  """Corpus CIDEr-D: the mean over images (refs: every reference of each hypothesis' image)."""
  scores = cider_d_per_image(refs, hyps)
  return sum(scores) / len(scores) if scores else 0.0
