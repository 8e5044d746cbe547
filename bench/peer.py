"""t2t_mm against a KerasHub seq2seq Transformer of the same size: python bench/peer.py.

The peer: KerasHub's TokenAndPositionEmbedding (one token table, tied to the output, as BART),
2 TransformerEncoder and 3 TransformerDecoder layers, d = 96, 4 heads, its FFN width chosen so
its parameter count matches multimodel_tiny's on wmt_ende_mini; decoding runs KerasHub's
GreedySampler over the decoder's self- and cross-attention caches, as BartSeq2SeqLM does.
Both train with t2t_mm's loss (label-smoothed token cross-entropy), schedule and optimizer
(FusedAdam, global-norm clipping) on the same batches, in alternating rounds, in one process:
  * train, real batches: batches of the trainer's wmt_ende_mini pipeline (bucketed by length);
    t2t_mm runs the Trainer's own compiled step; target tokens (not padding) per second;
  * train, fixed 32 x 23 batches of random tokens;
  * MFU: FLOPs of each step (TensorFlow's profiler on the traced step, plus the MoE formula of
    bench/model.py for the expert matmuls, whose shapes the profiler cannot see) per second over
    the float32 matmul peak measured in the same process;
  * greedy decoding of 100 new tokens (EOS impossible for both), batch 1 and batch 32, with
    the thread count the tools pick for that batch (1 thread at batch 1, every core above,
    docs/STACK.md); a child process per thread count, both models in each. The peer also runs
    its whole generate function under XLA (jit_compile) at batch 1.
Training runs in two children: one with the thread pools mm-trainer picks on this machine
(t2t_mm.training.threads: one thread per op and every core across ops without a GPU), one with
TensorFlow's default pools; each ratio divides t2t_mm's figure at mm-trainer's pools by the
peer's better figure of the two, so the peer keeps whichever pools suit it.
Needs keras-hub: pip install -e '.[bench]'. --train_only runs the training children alone. The
last line is
  train_vs_peer_same_optimizer=<r> train_fixed_vs_peer_same_optimizer=<r>
  decode_b1_vs_peer=<r> decode_b32_vs_peer=<r> decode_b1_vs_peer_xla=<r> mfu=<f> peer_mfu=<f>
(ratios: t2t_mm's tokens/s over the peer's; the training ones say that both train with the same
optimizer, t2t_mm's FusedAdam; issue 28 targets train_vs_peer_same_optimizer >= 1.3, the
others >= 1.0).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import child  # bench/child.py

LENGTH = 100  # New tokens per decode.


def _peer(vocab_size: int, ffn: int, max_len: int):
  """The KerasHub Transformer (PeerTransformer below), with BART's cached-call layout."""
  import keras
  import keras_hub
  from keras import ops

  class PeerTransformer(keras.Model):
    """KerasHub encoder-decoder: logits = model((inputs, decoder_inputs))."""

    def __init__(self):
      super().__init__()
      self.embed = keras_hub.layers.TokenAndPositionEmbedding(vocab_size, max_len, 96,
                                                              tie_weights=True)
      self.encoders = [keras_hub.layers.TransformerEncoder(ffn, 4, dropout=0.1)
                       for _ in range(2)]
      self.decoders = [keras_hub.layers.TransformerDecoder(ffn, 4, dropout=0.1)
                       for _ in range(3)]

    def encode(self, inputs, training=False):
      x = self.embed(inputs)
      for layer in self.encoders:
        x = layer(x, padding_mask=ops.not_equal(inputs, 0), training=training)
      return x

    def call(self, features, training=False):
      inputs, dec_inputs = features
      enc = self.encode(inputs, training)
      x = self.embed(dec_inputs)
      for layer in self.decoders:
        x = layer(x, enc, encoder_padding_mask=ops.not_equal(inputs, 0), training=training)
      return self.embed.token_embedding(x, reverse=True)

    def call_with_cache(self, enc, enc_mask, tokens, self_cache, index, cross_cache,
                        cross_index):
      """One KerasHub cached decoder call (BartSeq2SeqLM.call_decoder_with_cache)."""
      x = self.embed(tokens, start_index=index)
      self_caches, cross_caches = [], []
      for i, layer in enumerate(self.decoders):
        x, s, c = layer(x, enc, encoder_padding_mask=enc_mask,
                        self_attention_cache=self_cache[:, i],
                        self_attention_cache_update_index=index,
                        cross_attention_cache=cross_cache[:, i],
                        cross_attention_cache_update_index=cross_index)
        self_caches.append(s)
        cross_caches.append(c)
      logits = self.embed.token_embedding(x, reverse=True)
      cross = cross_cache if cross_index is None else ops.stack(cross_caches, 1)
      return logits, ops.stack(self_caches, 1), cross

    def generate(self, inputs, length: int):
      """Greedy ids [B, length + 1] (start token first), KerasHub's GreedySampler loop."""
      b, n_in = ops.shape(inputs)[0], ops.shape(inputs)[1]
      enc_mask = ops.not_equal(inputs, 0)
      enc = self.encode(inputs)
      prompt = ops.concatenate([ops.ones((b, 1), "int32"),
                                ops.zeros((b, length), "int32")], 1)
      self_cache = ops.zeros((b, 3, 2, length + 1, 4, 24))
      cross_cache = ops.zeros((b, 3, 2, n_in, 4, 24))
      # Seeds both caches over the whole prompt, as BartSeq2SeqLM._build_cache.
      _, self_cache, cross_cache = self.call_with_cache(enc, enc_mask, prompt, self_cache, 0,
                                                        cross_cache, 0)

      def next_fn(prompt, cache, index):
        self_cache, cross_cache = cache
        logits, self_cache, _ = self.call_with_cache(
            enc, enc_mask, ops.slice(prompt, [0, index - 1], [b, 1]), self_cache, index - 1,
            cross_cache, None)
        return logits[:, 0], None, (self_cache, cross_cache)

      sampler = keras_hub.samplers.GreedySampler()
      mask = ops.concatenate([ops.ones((b, 1), "bool"), ops.zeros((b, length), "bool")], 1)
      return sampler(next_fn, prompt, cache=(self_cache, cross_cache), index=1, mask=mask)

  return PeerTransformer()


def _count(variables) -> int:
  import numpy as np
  return int(sum(np.prod(v.shape) for v in variables))


def _t2t_trainer(args):
  from t2t_mm import registry
  from t2t_mm.training import trainer as trainer_lib
  problem = registry.problem("wmt_ende_mini")
  if not problem.has_data(args.data_dir):
    problem.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  hp = registry.hparams("multimodel_tiny")
  trainer = trainer_lib.Trainer([problem], hp, args.data_dir, tempfile.mkdtemp(), None,
                                trainer_lib.TrainerConfig(eval_every=0))
  trainer._start_iterators(0)
  return trainer, problem, hp


def _matched_peer(model, vocab_size: int, max_len: int):
  """The peer whose FFN width brings its parameter count closest to `model`'s."""
  target = _count(model.trainable_variables)
  best = None
  for ffn in range(32, 8193, 8):
    # Per layer: attention 4 d^2 + 4 d, FFN 2 d f + f + d, norms 2 d (3 d in the decoder,
    # which also has cross-attention 4 d^2 + 4 d).
    d = 96
    enc = 4 * d * d + 4 * d + 2 * d * ffn + ffn + d + 4 * d
    dec = enc + 4 * d * d + 4 * d + 2 * d
    n = vocab_size * d + max_len * d + 2 * enc + 3 * dec
    if best is None or abs(n - target) < abs(best[1] - target):
      best = (ffn, n)
  peer = _peer(vocab_size, best[0], max_len)
  return peer, best[0], target


def _peer_step(peer, hp):
  import tensorflow as tf
  from t2t_mm.training import losses
  from t2t_mm.training import optimization
  opt = optimization.make_optimizer(hp)

  @tf.function(reduce_retracing=True)
  def step(inputs, targets):
    dec_inputs = tf.concat([tf.ones_like(targets[:, :1]), targets[:, :-1]], 1)
    with tf.GradientTape() as tape:
      logits = peer((inputs, dec_inputs), training=True)
      weights = losses.target_weights(targets, False)
      loss_sum, count = losses.smoothed_cross_entropy(logits, targets, weights,
                                                      hp.label_smoothing)
      loss = loss_sum / tf.maximum(count, 1.0)
    grads = tape.gradient(loss, peer.trainable_variables)
    opt.apply_gradients(zip(grads, peer.trainable_variables))
    return loss
  return step


def _train(args) -> dict:
  """Child: target tokens/s of both on the same batches, and each step's MFU."""
  import numpy as np
  import tensorflow as tf
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  from model import count_flops  # bench/model.py
  from model import matmul_peak
  from model import moe_flops

  trainer, problem, hp = _t2t_trainer(args)
  name = problem.name
  t2t_step = trainer._steps[name]
  batches = [next(trainer._iterators[name]) for _ in range(4 * args.steps)]
  max_len = max(max(int(b["inputs"].shape[1]), int(b["targets"].shape[1])) for b in batches)
  vocab = trainer.model.specs[name].target_vocab_size
  peer, ffn, t2t_params = _matched_peer(trainer.model, vocab, max(max_len, 64))
  step = _peer_step(peer, hp)
  first = batches[0]
  step(first["inputs"], first["targets"])  # Builds and traces.
  t2t_step(first)
  rng = np.random.default_rng(0)
  fixed = []
  for _ in range(args.steps):
    ids = rng.integers(2, vocab, (32, 23)).astype("int32")
    ids[:, -1] = 1
    fixed.append({"inputs": tf.constant(ids), "targets": tf.constant(ids[:, ::-1].copy()),
                  "target_space": tf.constant(first["target_space"].numpy()[:1].repeat(32))})
  step(fixed[0]["inputs"], fixed[0]["targets"])
  t2t_step(fixed[0])

  def run_t2t(bs):
    for b in bs:
      float(t2t_step(b)[0])

  def run_peer(bs):
    for b in bs:
      float(step(b["inputs"], b["targets"]))

  def tokens(bs):
    return sum(int(np.sum(b["targets"].numpy() != 0)) for b in bs)

  seconds = {"t2t_real": 0.0, "peer_real": 0.0, "t2t_fixed": 0.0, "peer_fixed": 0.0}
  real_tokens = 0
  for r in range(4):  # Alternating rounds: the machine's speed drifts.
    chunk = batches[r * args.steps:(r + 1) * args.steps]
    real_tokens += tokens(chunk)
    for key, fn, bs in (("t2t_real", run_t2t, chunk), ("peer_real", run_peer, chunk),
                        ("t2t_fixed", run_t2t, fixed[:args.steps // 4]),
                        ("peer_fixed", run_peer, fixed[:args.steps // 4])):
      start = time.perf_counter()
      fn(bs)
      seconds[key] += time.perf_counter() - start
  fixed_tokens = 4 * tokens(fixed[:args.steps // 4])
  # MFU on the fixed batches: FLOPs of one step (profiler + MoE formula) over the peak.
  # Traced again at the fixed batch's static shapes (the steps' own traces have None dims,
  # whose ops the profiler cannot count).
  t2t_flops = count_flops(tf.function(t2t_step.python_function).get_concrete_function(fixed[0]))
  enc_len = int(trainer.model.encode(fixed[0]["inputs"], name)[0].shape[1])
  t2t_flops += moe_flops(hp, 32, [32 * enc_len * len(hp.moe_encoder_layers),
                                  32 * 23 * len(hp.moe_decoder_layers)])
  peer_flops = count_flops(tf.function(step.python_function).get_concrete_function(
      fixed[0]["inputs"], fixed[0]["targets"]))
  peak = matmul_peak()
  per_step = {k: seconds[k] / (args.steps // 4 * 4) for k in ("t2t_fixed", "peer_fixed")}
  return {"params": t2t_params, "peer_params": _count(peer.trainable_variables),
          "peer_ffn": ffn, "vocab": vocab,
          "t2t_real": real_tokens / seconds["t2t_real"],
          "peer_real": real_tokens / seconds["peer_real"],
          "t2t_fixed": fixed_tokens / seconds["t2t_fixed"],
          "peer_fixed": fixed_tokens / seconds["peer_fixed"],
          "t2t_flops": t2t_flops, "peer_flops": peer_flops, "peak": peak,
          "mfu": t2t_flops / per_step["t2t_fixed"] / peak,
          "peer_mfu": peer_flops / per_step["peer_fixed"] / peak}


def _decode(args) -> dict:
  """Child (threads set before TensorFlow starts): greedy tokens/s of both at one batch size."""
  import numpy as np
  import tensorflow as tf
  tf.config.threading.set_intra_op_parallelism_threads(args.threads)
  tf.config.threading.set_inter_op_parallelism_threads(args.threads)
  import keras
  from t2t_mm import registry
  from t2t_mm.config.hparams import DecodeHParams
  from t2t_mm.search.compiled import CompiledSearch

  problem = registry.problem("wmt_ende_mini")
  if not problem.has_data(args.data_dir):
    problem.generate_data(args.data_dir, os.path.join(args.data_dir, "tmp"))
  spec = problem.spec(args.data_dir)
  keras.utils.set_random_seed(0)
  hp = registry.hparams("multimodel_tiny").replace(dropout=0.0, attention_dropout=0.0)
  model = registry.model("multimodel")(hparams=hp, specs=[spec])
  b, n_in = args.batch, 20
  rng = np.random.default_rng(0)
  inputs = rng.integers(2, spec.input_vocab_size, (b, n_in)).astype("int32")
  inputs[:, -1] = 1
  feats = {"inputs": inputs, "targets": np.zeros((b, 1), "int32"),
           "target_space": np.full((b,), int(spec.target_space), "int32")}
  model(feats, problem=spec.name)  # Builds.
  softmax = model.target_net(spec.name).softmax
  bias = softmax.bias.numpy()
  bias[:2] = -1e4  # No EOS, no PAD: exactly LENGTH tokens.
  softmax.bias.assign(bias)
  search = CompiledSearch(model)
  dhp = DecodeHParams(max_decode_length=LENGTH)
  peer, _, _ = _matched_peer(model, spec.target_vocab_size, 128)
  peer((tf.constant(inputs), tf.constant(inputs)))  # Builds.
  graph = tf.function(lambda x: peer.generate(x, LENGTH))
  xla = tf.function(lambda x: peer.generate(x, LENGTH), jit_compile=True)
  fns = {"t2t": lambda: search.decode(feats, spec.name, dhp).ids,
         "peer": lambda: graph(tf.constant(inputs)).numpy()}
  if args.batch == 1:
    fns["peer_xla"] = lambda: xla(tf.constant(inputs)).numpy()
  lengths = {}
  for key, fn in fns.items():
    out = fn()  # Compiles.
    lengths[key] = int(np.sum(out[0] != 0)) - (1 if key != "t2t" else 0)
  best = {k: float("inf") for k in fns}
  for _ in range(5):  # Alternating rounds, best of each.
    for key, fn in fns.items():
      start = time.perf_counter()
      fn()
      best[key] = min(best[key], time.perf_counter() - start)
  return {k: b * LENGTH / best[k] for k in fns} | {"new_tokens": lengths}


def _child(args, mode: str, **extra) -> dict:
  flags = [f"--child={mode}", f"--data_dir={args.data_dir}", f"--steps={args.steps}"]
  return child.run_json(__file__, flags + [f"--{k}={v}" for k, v in extra.items()],
                        f"child {mode} {extra}")


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data_dir", default=os.path.join(tempfile.gettempdir(), "bench_data"))
  parser.add_argument("--steps", type=int, default=40, help="Training steps per round.")
  parser.add_argument("--child", default="")
  parser.add_argument("--threads", type=int, default=1)
  parser.add_argument("--batch", type=int, default=1)
  parser.add_argument("--train_only", action="store_true",
                      help="Only the training comparison (no decoding children).")
  parser.add_argument("--pools", default="trainer", choices=["trainer", "default"],
                      help="A training child's thread pools: mm-trainer's or TensorFlow's.")
  args = parser.parse_args()
  if args.child:
    if args.child == "train" and args.pools == "trainer":
      from t2t_mm.training import threads  # Before TensorFlow starts, as mm-trainer does.
      threads.configure(*threads.train_threads())
    print(json.dumps(_train(args) if args.child == "train" else _decode(args)))
    return
  cores = os.cpu_count() or 1
  train = _child(args, "train", pools="trainer")
  tf_pools = _child(args, "train", pools="default")
  print(f"TensorFlow's default thread pools: target tokens/s real {tf_pools['t2t_real']:,.0f} "
        f"vs {tf_pools['peer_real']:,.0f}, fixed {tf_pools['t2t_fixed']:,.0f} vs "
        f"{tf_pools['peer_fixed']:,.0f}", flush=True)
  for key in ("peer_real", "peer_fixed"):  # The peer keeps its better pools.
    train[key] = max(train[key], tf_pools[key])
  # MFU over the whole machine's peak: the default pools' matmul uses every core, one thread
  # per op measures one core's.
  scale = train["peak"] / tf_pools["peak"]
  train["mfu"] *= scale
  train["peer_mfu"] = max(train["peer_mfu"] * scale, tf_pools["peer_mfu"])
  same = (f"train_vs_peer_same_optimizer={train['t2t_real'] / train['peer_real']:.3f} "
          f"train_fixed_vs_peer_same_optimizer={train['t2t_fixed'] / train['peer_fixed']:.3f}")
  if args.train_only:
    print(f"t2t_mm {train['params']:,} parameters, peer {train['peer_params']:,}; target "
          f"tokens/s real {train['t2t_real']:,.0f} vs {train['peer_real']:,.0f}, fixed "
          f"{train['t2t_fixed']:,.0f} vs {train['peer_fixed']:,.0f} (t2t_mm at mm-trainer's "
          "thread pools, the peer at its better pools)")
    print(f"{same} mfu={train['mfu']:.3f} peer_mfu={train['peer_mfu']:.3f}")
    return
  b1 = _child(args, "decode", threads=1, batch=1)
  b32 = _child(args, "decode", threads=cores, batch=32)
  print(f"wmt_ende_mini: multimodel_tiny {train['params']:,} parameters, KerasHub peer "
        f"{train['peer_params']:,} (FFN {train['peer_ffn']}, vocab {train['vocab']})")
  rows = [("train, real bucketed batches, target tokens/s", train["t2t_real"],
           train["peer_real"]),
          ("train, fixed 32x23 batches, target tokens/s", train["t2t_fixed"],
           train["peer_fixed"]),
          ("FLOP/s over the matmul peak (MFU)", train["mfu"], train["peer_mfu"]),
          (f"greedy decode, batch 1, {LENGTH} new tokens, 1 thread, tokens/s", b1["t2t"],
           b1["peer"]),
          (f"greedy decode, batch 32, {LENGTH} new tokens, {cores} threads, tokens/s",
           b32["t2t"], b32["peer"]),
          ("peer's generate under XLA, batch 1, tokens/s", b1["t2t"], b1["peer_xla"])]
  print("| figure | t2t_mm | peer | ratio |\n|---|---|---|---|")
  for label, ours, theirs in rows:
    fmt = "{:.3f}" if ours < 10 else "{:,.0f}"
    print(f"| {label} | {fmt.format(ours)} | {fmt.format(theirs)} | {ours / theirs:.2f} |")
  print(f"step FLOPs (fixed batch): t2t_mm {train['t2t_flops'] / 1e9:.2f} G, peer "
        f"{train['peer_flops'] / 1e9:.2f} G; matmul peak {train['peak'] / 1e9:.0f} GFLOP/s")
  print(f"new tokens per decode: {b1['new_tokens']} {b32['new_tokens']}")
  print(f"{same} "
        f"decode_b1_vs_peer={b1['t2t'] / b1['peer']:.3f} "
        f"decode_b32_vs_peer={b32['t2t'] / b32['peer']:.3f} "
        f"decode_b1_vs_peer_xla={b1['t2t'] / b1['peer_xla']:.3f} "
        f"mfu={train['mfu']:.3f} peer_mfu={train['peer_mfu']:.3f}")


if __name__ == "__main__":
  main()
