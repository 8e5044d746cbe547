"""Benchmark of the data path; the last line printed is the summary:

    vocab_8k_50mb_s=<seconds> tokenize_tokens_per_s=<n> all8_mini_pipeline_examples_per_s=<n>

(a) train an 8k SentencePiece vocab on 50 MB of text (Zipf-distributed pseudo-words mixed with
    sentences of the mini grammar, so the corpus has enough distinct words for 8k pieces);
(b) in-graph tokenization throughput inside tf.data (SubwordVocab.encode_tf: the fast
    tokenizer where it is exact, SentencePiece elsewhere; batched, parallel map);
(c) examples/s of the all8_mini train pipelines (generated first unless --data_dir holds them).

    python bench/data.py [--data_dir=D] [--tmp_dir=T] [--mb=50]
"""

import argparse
import os
import random
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from t2t_mm import registry
from t2t_mm.config.hparams import HParams
from t2t_mm.data import datagen
from t2t_mm.data import vocabularies
from t2t_mm.data.mini import grammar


def make_corpus(megabytes: float, seed: int = 0):
  """Lines totalling `megabytes` MB: pseudo-word text plus grammar sentences."""
  rng = np.random.default_rng(seed)
  syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ["a", "e", "i", "o", "u", "ei",
                                                                "au", "ou"]]
  lexicon = ["".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(60000)]
  lexicon = np.array(lexicon, dtype=object)
  r = random.Random(seed)
  grammar_lines = []
  for i in range(5000):
    g = grammar.render(grammar.sample_clause(r))
    grammar_lines += [g["en"], g["de"], g["fr"]]
  lines, size, target = [], 0, int(megabytes * 1e6)
  while size < target:
    ids = np.minimum(rng.zipf(1.2, size=20000 * 12), len(lexicon)) - 1
    words = lexicon[ids].reshape(-1, 12)
    for k, row in enumerate(words):
      line = " ".join(row) + " ." if k % 4 else grammar_lines[(size + k) % len(grammar_lines)]
      lines.append(line)
      size += len(line.encode()) + 1
      if size >= target:
        break
  return lines


def bench_vocab(lines, workdir):
  start = time.time()
  v = vocabularies.build_subword_vocab(os.path.join(workdir, "bench.8k.model"), lines, 8192)
  seconds = time.time() - start
  megabytes = sum(len(line) + 1 for line in lines) / 1e6
  print(f"(a) 8k vocab ({v.vocab_size} pieces) from {megabytes:.0f} MB: {seconds:.1f} s",
        flush=True)
  return v, seconds


def bench_tokenize(v, lines, batch=1024, rounds=3):
  """Tokens/s of v.encode_tf (fast + exact paths) and of the exact tokenizer alone, timed in
  alternating rounds so that the machine's speed drift hits both alike."""
  texts = tf.constant(lines[: 200_000])

  def dataset(encode):
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(batch)
    ds = ds.map(lambda s: tf.reduce_sum(tf.cast(encode(s).row_lengths(), tf.int64)),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    for _ in ds.take(2):  # Warm up (traces the map).
      pass
    return ds

  runs = {"ours": dataset(v.encode_tf), "exact": dataset(v.tokenizer.tokenize)}
  tokens, seconds = {"ours": 0, "exact": 0}, {"ours": 0.0, "exact": 0.0}
  for _ in range(rounds):
    for name, ds in runs.items():
      start = time.time()
      tokens[name] += sum(int(n) for n in ds)
      seconds[name] += time.time() - start
  ours, exact = (tokens[n] / seconds[n] for n in ("ours", "exact"))
  fast_share = float(tf.reduce_mean(tf.cast(v.on_fast_path(texts), tf.float32)))
  print(f"(b) tokenization in tf.data: {ours / 1e6:.2f}M tokens/s ({fast_share:.1%} of lines "
        f"on the fast path); the exact SentencepieceTokenizer alone {exact / 1e6:.2f}M "
        f"-> {ours / exact:.2f}x", flush=True)
  return ours


def bench_pipeline(data_dir, tmp_dir, batches=30):
  names = registry.expand_problem_names("all8_mini")
  if not all(os.path.exists(os.path.join(data_dir, f"{registry.problem(n).data_name}-dev-"
                                                    "00000-of-00001")) for n in names):
    start = time.time()
    datagen.generate(["all8_mini"], data_dir, tmp_dir, progress=False, out=sys.stdout)
    print(f"    all8_mini datagen: {time.time() - start:.1f} s")
  hp = HParams()  # Default batch_size 32 and lengths.
  total_ex, total_s = 0, 0.0
  for name in names:
    ds = registry.problem(name).dataset("train", data_dir, hp, seed=0)
    it = iter(ds)
    next(it)  # Fill buffers and trace first.
    start, n = time.time(), 0
    for _ in range(batches):
      n += int(next(it)["targets"].shape[0])
    seconds = time.time() - start
    print(f"    {name}: {n / seconds:,.0f} examples/s")
    total_ex, total_s = total_ex + n, total_s + seconds
  rate = total_ex / total_s
  print(f"(c) all8_mini pipelines: {rate:,.0f} examples/s (one problem at a time)", flush=True)
  return rate


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data_dir", default=None)
  parser.add_argument("--tmp_dir", default=None)
  parser.add_argument("--mb", type=float, default=50.0)
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as work:
    lines = make_corpus(args.mb)
    v, vocab_s = bench_vocab(lines, work)
    tok_rate = bench_tokenize(v, lines)
    del lines
    data_dir = args.data_dir or os.path.join(work, "data")
    tmp_dir = args.tmp_dir or os.path.join(work, "raw")
    pipe_rate = bench_pipeline(data_dir, tmp_dir)
  print(f"vocab_8k_50mb_s={vocab_s:.1f} tokenize_tokens_per_s={tok_rate:.0f} "
        f"all8_mini_pipeline_examples_per_s={pipe_rate:.0f}")


if __name__ == "__main__":
  main()
