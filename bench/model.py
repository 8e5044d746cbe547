"""Benchmarks of the MultiModel's layers on this machine: python bench/model.py.

Prints the float32 matmul peak (2048^3 chained matmuls), the MoE step time (forward + backward)
at 240 vs 16 experts with k = 4 at the same tokens, MoE vs a dense FFN of the same active
compute, multimodel_tiny's training step per modality (batch 32) and its FLOP/s over the peak.
The MoE and dense steps are timed in alternating rounds (the VM's speed drifts between runs).
The last line is
  moe_240_vs_16_experts=<r> moe_240_vs_16_experts_32k=<r> moe_vs_dense_ffn=<r> tiny_step_mfu=<f>
  moe_capacity_vs_exact=<r> moe_capacity_xla_vs_exact=<r>
Targets: <= 1.3, <= 2.0, >= 0.15. These run the trainer's default dispatch on this CPU (exact:
moe_dispatch=auto without XLA). The last two: the static-shape capacity dispatch (c = 2.0) at
8,192 tokens and 240 experts, in the graph executor and compiled by XLA, over the exact one.
moe_240_vs_16_experts_32k: the same at 32,768 tokens per MoE call, the paper's data-parallel
regime (each expert's row count grows with tokens x k / experts; small blocks are what cost at
240 experts). `--scale_tokens 16384,65536` times other token counts too.
It runs under the mm-* tools' runtime defaults (t2t_mm.bin: the BFC allocator), as the trainer.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import t2t_mm.bin  # noqa: E402,F401  The tools' TensorFlow runtime defaults (BFC allocator).

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from t2t_mm import registry  # noqa: E402
from t2t_mm.data.spec import ProblemSpec  # noqa: E402
from t2t_mm.data.spec import TargetSpace  # noqa: E402
from t2t_mm.layers.moe import MixtureOfExperts  # noqa: E402
from t2t_mm.training import optimization  # noqa: E402


def timeit(fn, *args, warmup=2, min_time=1.5, min_iters=3):
  for _ in range(warmup):
    fn(*args)
  n, start = 0, time.perf_counter()
  while n < min_iters or time.perf_counter() - start < min_time:
    out = fn(*args)
    n += 1
  if isinstance(out, (list, tuple)):
    out = out[0]
  np.asarray(out)
  return (time.perf_counter() - start) / n


def matmul_peak(n=2048, chain=8):
  a = tf.random.normal((n, n)) / np.sqrt(n)

  @tf.function
  def run(x):
    for _ in range(chain):
      x = tf.matmul(x, a)
    return x

  sec = timeit(run, a)
  return 2 * n ** 3 * chain / sec


def ffn_vs_moe(tokens=8192, d=256, h=512, k=4, rounds=4, experts=(16, 240), dense=True,
               dispatches=("auto",)):
  """Step times by variant: each E in `experts` (default dispatch), (E, dispatch) for other
  `dispatches` ("capacity", or "xla": the capacity one compiled by XLA), "dense"."""
  x = tf.random.normal((tokens, d))

  def step_of(layer, call, jit=False):
    @tf.function(jit_compile=jit)
    def step(x):
      with tf.GradientTape() as tape:
        y = call(x)
        loss = tf.reduce_sum(y * y) + tf.add_n(layer.losses or [0.0])
      return tape.gradient(loss, layer.trainable_variables)
    return step

  steps = {}
  for e in experts:
    for dispatch in dispatches:
      moe = MixtureOfExperts(d, h, num_experts=e, k=k,
                             dispatch="capacity" if dispatch == "capacity" else "auto")
      moe.build((None, d))
      moe.w_gate.assign(tf.random.normal((d, e)) * 0.1)  # Trained-like, token-dependent.
      key = e if dispatch == "auto" else (e, dispatch)
      steps[key] = step_of(moe, lambda t, m=moe: m(t, training=True), jit=dispatch == "xla")
  if dense:
    ffn = keras.Sequential([keras.layers.Dense(k * h, activation="relu"), keras.layers.Dense(d)])
    ffn.build((None, d))
    steps["dense"] = step_of(ffn, ffn)
  # Alternating rounds, so that the machine's speed drift hits every variant alike.
  times = {name: 0.0 for name in steps}
  for r in range(rounds):
    for name, step in steps.items():
      times[name] += timeit(step, x, warmup=2 if r == 0 else 0, min_time=0.5) / rounds
  return times


def tiny_specs():
  return {
      "translate": ProblemSpec("translate", "symbol", "symbol", TargetSpace.TO_GERMAN, "sub",
                               8000, "sub", 8000),
      "parse": ProblemSpec("parse", "symbol", "symbol", TargetSpace.TO_PARSE_TREE, "sub", 8000,
                           "sub", 8000),
      "image_label": ProblemSpec("image_label", "image", "class_label", TargetSpace.TO_LABEL,
                                 "labels", 10),
      "caption": ProblemSpec("caption", "image", "symbol", TargetSpace.TO_ENGLISH, "sub", 8000),
      "speech_wave": ProblemSpec("speech_wave", "audio_waveform", "symbol",
                                 TargetSpace.TO_CHARACTERS, "chars", 64, sample_rate=16000),
      "speech_spectral": ProblemSpec("speech_spectral", "audio_spectral", "symbol",
                                     TargetSpace.TO_CHARACTERS, "chars", 64, sample_rate=16000),
  }


def tiny_batch(spec, b=32, rng=np.random.default_rng(0)):
  shapes = {"translate": (25, 25), "parse": (20, 40), "image_label": (None, 1),
            "caption": (None, 20), "speech_wave": (24000, 30), "speech_spectral": (24000, 30)}
  n_in, n_out = shapes[spec.name]
  if spec.input_modality == "symbol":
    inputs = rng.integers(2, spec.input_vocab_size, (b, n_in)).astype("int32")
  elif spec.input_modality == "image":
    size = 32 if spec.target_modality == "class_label" else 64
    inputs = rng.random((b, size, size, 3)).astype("float32")
  else:
    inputs = rng.uniform(-0.5, 0.5, (b, n_in)).astype("float32")
  hi = spec.target_vocab_size
  targets = rng.integers(0 if spec.target_modality == "class_label" else 2, hi,
                         (b, n_out)).astype("int32")
  return {"inputs": tf.constant(inputs), "targets": tf.constant(targets),
          "target_space": tf.constant(np.full((b,), int(spec.target_space), "int32"))}


def count_flops(concrete):
  """FLOPs of ops with static shapes in a traced graph (tf profiler), or None."""
  from tensorflow.python.profiler import model_analyzer
  from tensorflow.python.profiler import option_builder
  opts = option_builder.ProfileOptionBuilder.float_operation()
  opts["output"] = "none"
  info = model_analyzer.profile(concrete.graph, options=opts)
  return info.total_float_ops


def moe_flops(hp, batch, n_layers_tokens):
  """MoE expert FLOPs (dynamic shapes, invisible to the profiler): fwd + 2x for backward."""
  return 3 * sum(n * hp.moe_k * 2 * 2 * hp.hidden_size * hp.filter_size
                 for n in n_layers_tokens)


def loss_and_grads(model, feats, name):
  """(mean token cross-entropy + MoE losses, its gradients) of one training batch."""
  with tf.GradientTape() as tape:
    logits = model(feats, problem=name, training=True)
    ce = keras.losses.sparse_categorical_crossentropy(feats["targets"], logits,
                                                      from_logits=True)
    loss = tf.reduce_mean(ce) + tf.add_n(model.losses)
  return loss, tape.gradient(loss, model.trainable_variables)


def tiny_steps():
  hp = registry.hparams("multimodel_tiny")
  specs = tiny_specs()
  model = registry.model("multimodel")(hparams=hp, specs=list(specs.values()))
  # The trainer's optimizer (fused Adam, global-norm clipping). Before 2026-11-21 (session 6)
  # this step used plain Adam without clipping: ~5% faster, so MFU figures read higher then.
  opt = optimization.make_optimizer(hp)
  opt.build(model.trainable_variables)
  results = {}
  for name, spec in specs.items():
    batch = tiny_batch(spec)

    @tf.function
    def step(feats, name=name):
      loss, grads = loss_and_grads(model, feats, name)
      # One problem's step touches only its own modality nets and the body.
      opt.apply_gradients([(g, v) for g, v in zip(grads, model.trainable_variables)
                           if g is not None])
      return loss

    sec = timeit(step, batch, warmup=2, min_time=2.0)
    flops = count_flops(step.get_concrete_function(batch))
    enc_tokens = int(model.encode(batch["inputs"], name)[0].shape[1]) * 32
    dec_tokens = int(batch["targets"].shape[1]) * 32
    flops += moe_flops(hp, 32, [enc_tokens * len(hp.moe_encoder_layers),
                                dec_tokens * len(hp.moe_decoder_layers)])
    results[name] = (sec, flops)
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--scale_tokens", default="",
                      help="Comma-separated token counts at which to also time 240 vs 16 experts.")
  args = parser.parse_args()
  tf.config.optimizer.set_jit(False)
  peak = matmul_peak()
  print(f"float32 matmul peak (2048^3 chained): {peak / 1e9:.1f} GFLOP/s")
  t = ffn_vs_moe()
  print(f"MoE step (fwd+bwd, 8192 tokens, d=256, h=512, k=4): 16 experts {t[16] * 1e3:.1f} ms, "
        f"240 experts {t[240] * 1e3:.1f} ms; dense FFN (h=4*512) {t['dense'] * 1e3:.1f} ms")
  at_scale = {}
  for tokens in [32768] + [int(n) for n in args.scale_tokens.split(",") if n]:
    ts = ffn_vs_moe(tokens=tokens, k=4, rounds=2, experts=(16, 240), dense=False)
    print(f"MoE step at {tokens} tokens: 16 experts {ts[16] * 1e3:.1f} ms, 240 experts "
          f"{ts[240] * 1e3:.1f} ms, ratio {ts[240] / ts[16]:.2f} (k=4: ~{tokens * 4 // 240} rows "
          f"per expert at 240)")
    at_scale[tokens] = ts[240] / ts[16]
  td = ffn_vs_moe(tokens=8192, rounds=2, experts=(240,), dense=False,
                  dispatches=("auto", "capacity", "xla"))
  print(f"MoE step at 8192 tokens, 240 experts: exact {td[240] * 1e3:.1f} ms, capacity "
        f"{td[(240, 'capacity')] * 1e3:.1f} ms, capacity under XLA {td[(240, 'xla')] * 1e3:.1f} ms")
  steps = tiny_steps()
  total_t = total_f = 0.0
  for name, (sec, flops) in steps.items():
    print(f"multimodel_tiny train step, batch 32, {name}: {sec * 1e3:.0f} ms, "
          f"{flops / 1e9:.2f} GFLOP, {flops / sec / 1e9:.1f} GFLOP/s")
    total_t += sec
    total_f += flops
  mfu = total_f / total_t / peak
  print(f"moe_240_vs_16_experts={t[240] / t[16]:.2f} "
        f"moe_240_vs_16_experts_32k={at_scale[32768]:.2f} "
        f"moe_vs_dense_ffn={t[16] / t['dense']:.2f} "
        f"tiny_step_mfu={mfu:.3f} "
        f"moe_capacity_vs_exact={td[(240, 'capacity')] / td[240]:.2f} "
        f"moe_capacity_xla_vs_exact={td[(240, 'xla')] / td[240]:.2f}")


if __name__ == "__main__":
  main()
