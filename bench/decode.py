"""Decoding speed of multimodel_tiny on one CPU thread: python bench/decode.py.

Greedy decoding of 100 tokens (one sentence of 20 input tokens, 8k target vocab), with caches
(t2t_mm.search: the encoder once, one position per step, the loop compiled by XLA as the tools
run it) and without (t2t_mm.testing.reference_decode: the whole decoder over the
100-position buffer at every step), the cached loop in TensorFlow's graph executor
(jit_compile=False), a batch of 32, and beam search with 4 beams. EOS and PAD are made
impossible (their output bias set to -1e4) so every run decodes exactly 100 tokens, and greedy
with its attention weights returned (mm-serve's attention=true). Random weights: speed does
not depend on them.
The last line is
  cached_vs_uncached_100tok=<r> xla_vs_graph=<r> beam4_vs_greedy=<r> greedy_tokens_per_s=<n>
  greedy_b32_tokens_per_s=<n> attention_vs_greedy=<r>
Targets: cached_vs_uncached_100tok >= 5; beam4_vs_greedy reported (<= 4 expected).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)  # One CPU, before the runtime starts.
tf.config.threading.set_inter_op_parallelism_threads(1)

from t2t_mm import registry  # noqa: E402
from t2t_mm.config.hparams import DecodeHParams  # noqa: E402
from t2t_mm.data.spec import ProblemSpec  # noqa: E402
from t2t_mm.data.spec import TargetSpace  # noqa: E402
from t2t_mm.search.compiled import CompiledSearch  # noqa: E402
from t2t_mm.testing import reference_decode  # noqa: E402

LENGTH, VOCAB, INPUT_LENGTH = 100, 8192, 20


def best_time(fn, repeats=5):
  """Fastest of `repeats` runs after one compiling run (the machine may be shared)."""
  fn()  # Compile.
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return min(times)


def main():
  hp = registry.hparams("multimodel_tiny").replace(dropout=0.0, attention_dropout=0.0)
  spec = ProblemSpec("text", "symbol", "symbol", TargetSpace.TO_GERMAN, "sub", VOCAB, "sub",
                     VOCAB)
  tf.keras.utils.set_random_seed(0)
  model = registry.model("multimodel")(hparams=hp, specs=[spec])
  softmax = model.target_net("text").softmax
  bias = softmax.bias.numpy()
  bias[:2] = -1e4  # No EOS, no PAD: exactly LENGTH tokens.
  softmax.bias.assign(bias)
  rng = np.random.default_rng(0)
  inputs = np.concatenate([rng.integers(2, VOCAB, (1, INPUT_LENGTH - 1)), [[1]]], 1)
  features = {"inputs": inputs.astype("int32"), "targets": np.zeros((1, 1), "int32"),
              "target_space": np.full((1,), int(spec.target_space), "int32")}
  search = CompiledSearch(model)
  greedy = DecodeHParams(max_decode_length=LENGTH)
  beam4 = greedy.replace(beam_size=4)

  out = {}
  def cached():
    out["cached"] = search.decode(features, "text", greedy).ids[0, 0]

  def uncached():
    out["uncached"] = reference_decode.greedy_uncached(model, features, "text",
                                                       LENGTH).numpy()[0]

  def graph_executor():
    out["graph"] = search.decode(features, "text", greedy.replace(jit_compile=False)).ids[0, 0]

  batch32 = {k: np.repeat(v, 32, axis=0) for k, v in features.items()}
  t_cached = best_time(cached)
  t_uncached = best_time(uncached)
  t_graph = best_time(graph_executor)
  t_beam = best_time(lambda: search.decode(features, "text", beam4))
  t_32 = best_time(lambda: search.decode(batch32, "text", greedy))
  t_att = best_time(lambda: search.decode(features, "text", greedy, attention=True))
  same = (np.array_equal(out["cached"], out["uncached"])
          and np.array_equal(out["cached"], out["graph"]))
  print(f"multimodel_tiny, 1 thread, batch 1, {INPUT_LENGTH} input tokens, vocab {VOCAB}:")
  print(f"  greedy {LENGTH} tokens with caches:    {t_cached * 1000:8.1f} ms "
        f"({t_cached / LENGTH * 1000:.2f} ms/token)")
  print(f"  greedy {LENGTH} tokens without caches: {t_uncached * 1000:8.1f} ms "
        f"({t_uncached / LENGTH * 1000:.2f} ms/token)")
  print(f"  greedy with caches, graph executor: {t_graph * 1000:8.1f} ms")
  print(f"  beam search, 4 beams, with caches:  {t_beam * 1000:8.1f} ms")
  print(f"  greedy with caches, batch 32:       {t_32 * 1000:8.1f} ms")
  print(f"  greedy with caches, with attention: {t_att * 1000:8.1f} ms")
  print(f"  cached (XLA, graph) and uncached tokens equal: {same}")
  print(f"cached_vs_uncached_100tok={t_uncached / t_cached:.2f} xla_vs_graph="
        f"{t_graph / t_cached:.2f} beam4_vs_greedy={t_beam / t_cached:.2f} "
        f"greedy_tokens_per_s={LENGTH / t_cached:.0f} "
        f"greedy_b32_tokens_per_s={32 * LENGTH / t_32:.0f} "
        f"attention_vs_greedy={t_att / t_cached:.2f}")


if __name__ == "__main__":
  main()
