"""Gradient accumulation against one large batch: the trainer tests run this in and out of
process (MirroredStrategy needs the CPU split before TensorFlow starts).

usage: accumulation_check.py STRATEGY CPU_DEVICES CASE     (CASE: distinct | repeated)
Prints one JSON line: {"max_abs_diff": {"variables", "momentums", "velocities"}, "loss": [a, b]}.

The MultiModel (tiny, MoE in encoder and decoder, routing without noise, dropout 0, label
smoothing 0.1) takes one update from 2 micro-batches of 4 (accumulate_steps=2) and one from
their concatenation, 8 examples, starting from the same weights.
  distinct: two different micro-batches, MoE balancing loss off: the token loss over the
    global target count makes the two updates equal.
  repeated: every micro-batch (and each replica's share of it) repeats one pair of
    examples, MoE balancing loss on: importance and load then scale alike in both, and
    their squared coefficients of variation, so the balancing loss, are equal too.
"""

import json
import sys

import numpy as np


def compare(strategy_name: str = "default", cpu_devices: int = 1, case: str = "distinct"):
  from t2t_mm.training import distribution
  strategy = distribution.make_strategy(strategy_name, cpu_devices=cpu_devices)
  import tensorflow as tf
  from t2t_mm.config.hparams import HParams
  from t2t_mm.runs import checkpoints
  from t2t_mm.testing import fake_problems
  from t2t_mm.training.trainer import Trainer
  from t2t_mm.training.trainer import TrainerConfig

  hp = HParams(hidden_size=16, filter_size=32, num_heads=2, moe_num_experts=4, moe_k=2,
               num_encoder_blocks=1, num_decoder_blocks=1, dropout=0.0,
               attention_dropout=0.0, moe_noisy_gating=False, label_smoothing=0.1,
               clip_grad_norm=0.0, batch_size=8, learning_rate_schedule="constant",
               learning_rate=1e-3, moe_loss_coef=0.0 if case == "distinct" else 0.01)
  problem = fake_problems.FakeCopyProblem()
  config = TrainerConfig(eval_every=0)
  import tempfile
  one = Trainer([problem], hp.replace(accumulate_steps=2, batch_size=4), "in_memory",
                tempfile.mkdtemp(),
                strategy, config)
  big = Trainer([problem], hp, "in_memory", tempfile.mkdtemp(), strategy, config)
  for a, b in zip(one.model.variables, big.model.variables):
    b.assign(a)
  data = next(iter(problem.dataset("train", None, hp, shuffle=False)))
  data = {k: v.numpy() for k, v in data.items()}
  if case == "repeated":
    data = {k: np.concatenate([v[:2]] * 4) for k, v in data.items()}
  micro = [{k: v[:4] for k, v in data.items()}, {k: v[4:] for k, v in data.items()}]
  if case == "repeated":
    micro = [{k: v[:4] for k, v in data.items()}] * 2
  whole = {k: np.concatenate([m[k] for m in micro]) for k in data}
  n = strategy.num_replicas_in_sync

  def distribute(batch):  # Replica r takes the r-th of n equal parts, as a dataset would.
    rows = len(batch["inputs"]) // n
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: {k: tf.constant(v[ctx.replica_id_in_sync_group * rows:
                                      (ctx.replica_id_in_sync_group + 1) * rows])
                     for k, v in batch.items()})

  loss_a, _ = one._steps[problem.name]([distribute(m) for m in micro])
  loss_b, _ = big._steps[problem.name](distribute(whole))
  assert one.step == big.step == 1, (one.step, big.step)

  def max_diff(x, y):
    return max(float(np.max(np.abs(np.asarray(x[k].numpy()) - np.asarray(y[k].numpy()))))
               for k in x)

  opt_a = checkpoints.variables_by_name(one.optimizer.variables)
  opt_b = checkpoints.variables_by_name(big.optimizer.variables)
  moments = {kind: ({k: v for k, v in opt_a.items() if kind in k},
                    {k: v for k, v in opt_b.items() if kind in k})
             for kind in ("momentum", "velocity")}
  assert moments["momentum"][0] and set(opt_a) == set(opt_b)
  grad_scale = max(float(np.max(np.abs(v.numpy()))) for v in moments["momentum"][0].values())
  return {"max_abs_diff": {
      "variables": max_diff(checkpoints.variables_by_name(one.model.variables),
                            checkpoints.variables_by_name(big.model.variables)),
      "momentums": max_diff(*moments["momentum"]),
      "velocities": max_diff(*moments["velocity"])},
      "largest_momentum": grad_scale, "loss": [float(loss_a), float(loss_b)]}


if __name__ == "__main__":
  print(json.dumps(compare(sys.argv[1], int(sys.argv[2]), sys.argv[3])))
