"""multimodel_base on this CPU, and its FLOPs per step at the set's batch: python bench/scale.py.

Two child processes (each measures its own peak memory):
  step:  the trainer's compiled step of multimodel_base (1.04 B parameters, 240 experts,
         float32) with each optimizer of --optimizers (one child each: FactoredAdafactor,
         FusedAdam) on in-memory copy batches of --batch examples; ms/step (median of --steps
         after one traced step) and the process's peak resident memory.
  flops: per problem kind of the all8 suite, the FLOPs of one training step (forward and
         backward) at batch_size 32 of multimodel_base and its longest sequences (256 input and
         target tokens or 10 ms frames; 224 x 224 images), counted by TensorFlow's profiler over
         the traced graph (ops with static shapes) plus the MoE experts' matmuls, whose shapes
         are dynamic: 3 x tokens x k x 2 x (2 d h) per MoE layer (bench/model.py's method).
The last line is
  base_ms_per_step=<n> multimodel_base_peak_gib=<adafactor> multimodel_base_adam_peak_gib=<n>
  base_step_tflop_translate=<n>
"""

import argparse
import json
import os
import sys
import time

import child  # bench/child.py

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH, LENGTH, IMAGE, FRAME_SAMPLES = 32, 256, 224, 160


def _peak_gib() -> float:
  import resource
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2 ** 30


def _step(args) -> dict:
  import numpy as np
  import t2t_mm.bin  # noqa: F401  (the tools' runtime defaults)
  import tempfile
  from t2t_mm import registry
  from t2t_mm.testing import fake_problems
  from t2t_mm.training import trainer as trainer_lib

  hp = registry.hparams("multimodel_base").replace(batch_size=args.batch,
                                                  optimizer=args.optimizer)
  problem = fake_problems.FakeCopyProblem(length=args.length - 1)
  start = time.perf_counter()
  trainer = trainer_lib.Trainer([problem], hp, "in_memory", tempfile.mkdtemp(),
                                config=trainer_lib.TrainerConfig(eval_every=0))
  build_s = time.perf_counter() - start
  trainer._start_iterators(0)
  step, it = trainer._steps[problem.name], trainer._iterators[problem.name]
  start = time.perf_counter()
  float(step(next(it))[0])
  first_s = time.perf_counter() - start
  times = []
  for _ in range(args.steps):
    batch = next(it)
    start = time.perf_counter()
    float(step(batch)[0])
    times.append(time.perf_counter() - start)
  return {"params": sum(int(np.prod(v.shape)) for v in trainer.model.trainable_variables),
          "build_s": build_s, "first_step_s": first_s,
          "ms_per_step": 1000 * float(np.median(times)), "peak_gib": _peak_gib()}


def _specs():
  from t2t_mm.data.spec import ProblemSpec
  from t2t_mm.data.spec import TargetSpace
  vocab = 8192  # The all8 suite's shared subword vocabulary (t2t_mm/data/all8_vocab.py).
  return {
      "translate": ProblemSpec("translate", "symbol", "symbol", TargetSpace.TO_GERMAN, "sub",
                               vocab, "sub", vocab),
      "parse": ProblemSpec("parse", "symbol", "symbol", TargetSpace.TO_PARSE_TREE, "sub", vocab,
                           "sub", vocab),
      "image_label": ProblemSpec("image_label", "image", "class_label", TargetSpace.TO_LABEL,
                                 "labels", 1000),
      "caption": ProblemSpec("caption", "image", "symbol", TargetSpace.TO_ENGLISH, "sub", vocab),
      "speech": ProblemSpec("speech", "audio_spectral", "symbol", TargetSpace.TO_ENGLISH, "sub",
                            vocab, sample_rate=16000),
  }


def _flops(args) -> dict:
  del args
  import tensorflow as tf
  import t2t_mm.bin  # noqa: F401
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  from model import count_flops  # bench/model.py
  from model import loss_and_grads
  from model import moe_flops
  from t2t_mm import registry

  hp = registry.hparams("multimodel_base")
  specs = _specs()
  model = registry.model("multimodel")(hparams=hp, specs=list(specs.values()))
  out = {}
  for name, spec in specs.items():
    if spec.input_modality == "image":
      inputs = tf.TensorSpec([BATCH, IMAGE, IMAGE, 3], tf.float32)
    elif spec.input_modality == "symbol":
      inputs = tf.TensorSpec([BATCH, LENGTH], tf.int32)
    else:
      inputs = tf.TensorSpec([BATCH, LENGTH * FRAME_SAMPLES], tf.float32)
    n_out = 1 if spec.one_token_targets else LENGTH
    features = {"inputs": inputs, "targets": tf.TensorSpec([BATCH, n_out], tf.int32),
                "target_space": tf.TensorSpec([BATCH], tf.int32)}

    step = tf.function(lambda feats, name=name: loss_and_grads(model, feats, name)[1])
    concrete = step.get_concrete_function(features)
    static = count_flops(concrete)
    # Positions that reach the encoder's and the decoder's MoE layers.
    enc_len = int(model.encode(tf.zeros([1, *inputs.shape[1:]], inputs.dtype), name)[0].shape[1])
    moe = moe_flops(hp, BATCH, [BATCH * enc_len * len(hp.moe_encoder_layers),
                                BATCH * n_out * len(hp.moe_decoder_layers)])
    out[name] = {"static": static, "moe": moe, "encoder_positions": enc_len,
                 "target_positions": n_out}
  out["_peak_gib"] = _peak_gib()
  return out


def _child(mode: str, args, optimizer: str = "adam") -> dict:
  return child.run_json(__file__, ["--child", mode, f"--batch={args.batch}",
                                   f"--length={args.length}", f"--steps={args.steps}",
                                   f"--optimizer={optimizer}"], mode)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=2)
  parser.add_argument("--length", type=int, default=16)
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--optimizers", default="adafactor,adam",
                      help="Comma list; one step child each.")
  parser.add_argument("--optimizer", default="adam", help=argparse.SUPPRESS)  # Of a child.
  parser.add_argument("--child", default="")
  args = parser.parse_args()
  if args.child:
    print(json.dumps(_step(args) if args.child == "step" else _flops(args)))
    return
  steps = {}
  for optimizer in args.optimizers.split(","):
    step = steps[optimizer] = _child("step", args, optimizer)
    print(f"multimodel_base ({optimizer}): {step['params'] / 1e9:.2f} B parameters; built in "
          f"{step['build_s']:.0f} s, first (traced) step {step['first_step_s']:.0f} s; "
          f"{step['ms_per_step']:.0f} ms/step at batch {args.batch} x {args.length} tokens; "
          f"peak resident memory {step['peak_gib']:.1f} GiB", flush=True)
  flops = _child("flops", args)
  print(f"\nFLOPs of one training step (forward + backward) at batch {BATCH}, {LENGTH} "
        f"positions, {IMAGE}x{IMAGE} images:")
  print("| problem | encoder positions | target positions | static TFLOP | MoE TFLOP | "
        "total TFLOP |")
  print("|---|---|---|---|---|---|")
  for name, f in flops.items():
    if name.startswith("_"):
      continue
    print(f"| {name} | {f['encoder_positions']} | {f['target_positions']} | "
          f"{f['static'] / 1e12:.2f} | {f['moe'] / 1e12:.2f} | "
          f"{(f['static'] + f['moe']) / 1e12:.2f} |")
  translate = flops["translate"]
  peaks = " ".join(f"multimodel_base_{'' if o == 'adafactor' else o + '_'}peak_gib="
                   f"{steps[o]['peak_gib']:.1f}" for o in steps)
  print(f"base_ms_per_step={step['ms_per_step']:.0f} {peaks} "
        f"base_step_tflop_translate={(translate['static'] + translate['moe']) / 1e12:.2f}")


if __name__ == "__main__":
  main()
