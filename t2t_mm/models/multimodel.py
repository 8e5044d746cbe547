"""The MultiModel (Kaiser et al. 2017): modality nets around one shared encoder-mixer-decoder.

    features["inputs"]  -> input modality net (one per spec.input_key)  -> x [B, S, d], mask
    x                   -> Encoder (conv blocks + MoE)                   -> encoded [B, S, d]
    features["targets"] -> target modality net's targets_bottom          -> [B, T, d]
    command token (embedding of features["target_space"]) + targets[:, :-1]  (shift right)
                        -> Mixer (attention block + causal conv blocks)  -> [B, T, d]
                        -> Decoder (causal conv + attention blocks + MoE) -> [B, T, d]
                        -> target modality net's top                    -> float32 logits
                           [B, T, V] for symbols, [B, 1, C] for class labels

Every layer is built in the constructor, so weights exist before the first call (needed to
load .keras files and weight checkpoints). MoE balancing losses land in `model.losses`, once
per call. See docs/DESIGN.md for the contract with the data pipeline and the trainer.
"""

from typing import Dict, List, Sequence

import keras
from keras import ops

from t2t_mm import errors
from t2t_mm import registry
from t2t_mm.config import typed
from t2t_mm.config.hparams import HParams
from t2t_mm.data.spec import ProblemSpec
from t2t_mm.data.spec import TargetSpace
from t2t_mm.layers.decoding_state import make_state
from t2t_mm.models.decoder import Decoder
from t2t_mm.models.encoder import Encoder
from t2t_mm.models import memory
from t2t_mm.models.mixer import Mixer

# What a registered modality net must offer to read a problem's inputs / produce its targets.
_INPUT_METHODS = ("bottom",)
_TARGET_METHODS = ("targets_bottom", "top")


def _net_name(role: str, key) -> str:
  return f"{role}_{key[0]}_{key[1] or 'none'}"


def _check_layers(name: str, layers: Sequence[int], num_blocks: int) -> None:
  bad = [i for i in layers if not 0 <= i <= num_blocks]
  if bad:
    raise errors.ConfigError(f"hparam '{name}' = {list(layers)}: positions {bad} are outside "
                             f"0 .. {num_blocks} (the number of blocks).")


def check_hparams(hp: HParams) -> None:
  """The MultiModel's rules between hparams, checked before any work (runs/resolve.py)."""
  if hp.hidden_size % hp.num_heads:
    raise errors.ConfigError(
        f"hparam 'hidden_size' ({hp.hidden_size}) must be divisible by 'num_heads' "
        f"({hp.num_heads}): each head gets hidden_size / num_heads channels.")
  if hp.moe_k > hp.moe_num_experts:
    raise errors.ConfigError(f"hparam 'moe_k' ({hp.moe_k}) must be <= 'moe_num_experts' "
                             f"({hp.moe_num_experts}).")
  _check_layers("moe_encoder_layers", hp.moe_encoder_layers, hp.num_encoder_blocks)
  _check_layers("moe_decoder_layers", hp.moe_decoder_layers, hp.num_decoder_blocks)


@registry.register_model(name="multimodel")
@keras.saving.register_keras_serializable(package="t2t_mm")
class MultiModel(keras.Model):
  """One model for many problems: `model(features, problem=name, training=...)` -> logits.

  Args:
    hparams: HParams (or its dict, as saved in a .keras config).
    specs: ProblemSpecs (or dicts) of every problem the model serves.

  Example:
    >>> hp = registry.hparams("multimodel_tiny")
    >>> spec = ProblemSpec("copy", "symbol", "symbol", TargetSpace.GENERIC, "sub", 50,
    ...                    input_vocab="sub", input_vocab_size=50)
    >>> model = MultiModel(hparams=hp, specs=[spec])
    >>> feats = {"inputs": ids, "targets": ids, "target_space": ones_b}
    >>> logits = model(feats, problem="copy", training=True)     # [B, T, 50]
    >>> state = model.start_decoding(feats, problem="copy", max_length=10)
    >>> logits, state = model.decode_step(prev_ids, state, problem="copy")  # [B, 50]
  """

  # Called by runs/resolve.py on a run's final hparams, before any work.
  check_hparams = staticmethod(check_hparams)
  # Called before the model is built: settings no machine holds stop with one line.
  memory_estimate = staticmethod(memory.estimate)

  def __init__(self, hparams, specs, **kwargs):
    hp = hparams if isinstance(hparams, HParams) else typed.from_dict(HParams, hparams)
    kwargs.setdefault("dtype", hp.dtype_policy)
    super().__init__(**kwargs)
    self.hp = hp
    specs = [s if isinstance(s, ProblemSpec) else ProblemSpec.from_dict(s) for s in specs]
    if not specs:
      raise errors.ConfigError("MultiModel needs at least one ProblemSpec (specs=[]).")
    self.specs: Dict[str, ProblemSpec] = {}
    for s in specs:
      for side, modality, methods in (("input", s.input_modality, _INPUT_METHODS),
                                      ("target", s.target_modality, _TARGET_METHODS)):
        missing = [m for m in methods if not hasattr(registry.modality(modality), m)]
        if missing:
          raise errors.ConfigError(
              f"Problem '{s.name}': {side}_modality '{modality}' has no {', '.join(missing)}, "
              f"so it cannot be an {side} modality.")
      self.specs[s.name] = s
    check_hparams(hp)
    if len(hp.conv_kernel_sizes) != 4 or len(hp.conv_dilations) != 4:
      raise errors.ConfigError("hparams 'conv_kernel_sizes' and 'conv_dilations' need 4 values "
                               f"each, got {hp.conv_kernel_sizes} and {hp.conv_dilations}.")
    self._build_layers()

  def _build_layers(self):
    hp, pol = self.hp, self.dtype_policy
    self.input_nets, self.target_nets = {}, {}
    for s in self.specs.values():
      for role, key, nets in (("input", s.input_key, self.input_nets),
                              ("target", s.target_key, self.target_nets)):
        name = _net_name(role, key)
        if name not in nets:
          cls = registry.modality(key[0])
          net = cls.from_hparams(hp, s, role, name=name, dtype=pol)
          net.build()
          nets[name] = net
    d = hp.hidden_size
    self.command_embedding = keras.layers.Embedding(len(TargetSpace), d,
                                                    name="command_embedding", dtype=pol)
    self.command_embedding.build((None,))
    blocks = dict(kernel_sizes=hp.conv_kernel_sizes, dilations=hp.conv_dilations)
    moe = dict(num_experts=hp.moe_num_experts, k=hp.moe_k, loss_coef=hp.moe_loss_coef,
               capacity_factor=hp.moe_capacity_factor, noisy_gating=hp.moe_noisy_gating,
               moe_dispatch=hp.moe_dispatch)
    self.encoder = Encoder(d, hp.filter_size, hp.num_encoder_blocks,
                           moe_layers=hp.moe_encoder_layers, dropout=hp.dropout, name="encoder",
                           dtype=pol, **blocks, **moe)
    self.mixer = Mixer(d, hp.num_heads, hp.kernel_size, hp.num_mixer_blocks,
                       use_attention=hp.use_attention, dropout=hp.dropout, name="mixer",
                       dtype=pol, **blocks)
    self.decoder = Decoder(d, hp.filter_size, hp.num_heads, hp.kernel_size,
                           hp.num_decoder_blocks, moe_layers=hp.moe_decoder_layers,
                           use_attention=hp.use_attention, dropout=hp.dropout, name="decoder",
                           dtype=pol, **blocks, **moe)
    for layer in (self.encoder, self.mixer, self.decoder):
      layer.build()
    self.built = True

  # --- Pieces (also used by decoding) ---

  def _spec(self, problem) -> ProblemSpec:
    if not isinstance(problem, str) or problem not in self.specs:
      raise errors.UnknownNameError(
          f"MultiModel has no problem {problem!r}.{errors.did_you_mean(str(problem), self.specs)}"
          f" It was built for: {sorted(self.specs)}.")
    return self.specs[problem]

  def input_net(self, problem):
    return self.input_nets[_net_name("input", self._spec(problem).input_key)]

  def target_net(self, problem):
    return self.target_nets[_net_name("target", self._spec(problem).target_key)]

  def encode(self, inputs, problem, training=None):
    """inputs -> (encoded [B, S, d], mask [B, S])."""
    x, mask = self.input_net(problem).bottom(inputs, training=training)
    return self.encoder(x, mask, training=training), mask

  def decoder_inputs(self, targets, target_space, problem):
    """targets -> (command token + targets shifted right [B, T, d], decoder mask [B, T]).

    Position t holds target t-1 (the command token at t = 0) and is real when t = 0 or
    target t-1 is real, so a position whose own target is not known yet still decodes.
    """
    emb, mask = self.target_net(problem).targets_bottom(targets)
    cmd = self.command_embedding(ops.cast(ops.reshape(target_space, (-1,)), "int32"))
    cmd = ops.cast(cmd, emb.dtype)[:, None, :]
    shifted = ops.concatenate([cmd, emb[:, :-1]], axis=1)
    b = ops.shape(mask)[0]
    dec_mask = ops.concatenate([ops.ones((b, 1), mask.dtype), mask[:, :-1]], axis=1)
    return shifted, dec_mask

  def decode(self, encoded, encoded_mask, targets, target_space, problem, training=None,
             return_attention=False):
    """Teacher-forced decoder: encoded inputs + targets -> float32 logits; with
    return_attention, (logits, attention float32 [B, L, T, S]): the source attention of the
    L = len(attention_layers()) attention blocks, each averaged over heads."""
    shifted, mask = self.decoder_inputs(targets, target_space, problem)
    if not return_attention:
      x = self.mixer(shifted, encoded, mask, encoded_mask, training=training)
      x = self.decoder(x, encoded, mask, encoded_mask, training=training)
      return self.target_net(problem).top(x, mask, training=training)
    self._check_attention()
    x, mixed = self.mixer(shifted, encoded, mask, encoded_mask, training=training,
                          return_weights=True)
    x, decoded = self.decoder(x, encoded, mask, encoded_mask, training=training,
                              return_weights=True)
    logits = self.target_net(problem).top(x, mask, training=training)
    return logits, ops.stack([mixed, *decoded], axis=1)

  def attention_layers(self) -> List[str]:
    """Names of the attention blocks over the encoded inputs, in the order of the L axis of
    decode(..., return_attention=True): the mixer's, then each decoder block's."""
    if not self.hp.use_attention:
      return []
    return ["mixer"] + [f"decoder{i}" for i in range(self.hp.num_decoder_blocks)]

  def _check_attention(self):
    if not self.hp.use_attention:
      raise errors.ConfigError("This model has no attention to return (hparam "
                               "use_attention=False).")

  def call(self, features, problem=None, training=None):
    encoded, mask = self.encode(features["inputs"], problem, training)
    return self.decode(encoded, mask, features["targets"], features["target_space"], problem,
                       training)

  # --- Decoding ---

  def start_decoding(self, features, problem, max_length):
    """Runs the input side once; returns the state of incremental decoding.

      state = model.start_decoding(features, problem, max_length)   # encoder, source K/V
      logits, state = model.decode_step(prev_ids, state, problem)   # [B, V] for position t

    state = {"t": int32 scalar,
             "fixed": encoder-side tensors, never reordered (command token, source K/V),
             "cache": per-position caches, reordered by beam search (conv windows, self K/V)}
    Every tensor in "fixed" and "cache" has the batch first. `max_length` (a Python int) sizes
    the self-attention K/V buffers, so every step has static shapes and the same cost.
    """
    spec = self._spec(problem)
    max_length = 1 if spec.one_token_targets else int(max_length)
    if max_length < 1:
      raise errors.ConfigError(f"start_decoding: max_length must be >= 1, got {max_length}.")
    encoded, enc_mask = self.encode(features["inputs"], problem, training=False)
    b = ops.shape(encoded)[0]
    cmd = self.command_embedding(ops.cast(ops.reshape(features["target_space"], (-1,)), "int32"))
    mixer = self.mixer.init_state(b, max_length, (encoded, enc_mask))
    decoder = self.decoder.init_state(b, max_length, (encoded, enc_mask))
    return {"t": ops.convert_to_tensor(0, "int32"),
            "fixed": {"command": ops.cast(cmd, encoded.dtype)[:, None, :],
                      "mixer": mixer["fixed"], "decoder": decoder["fixed"]},
            "cache": {"mixer": mixer["cache"], "decoder": decoder["cache"]}}

  def decode_step(self, prev_ids, state, problem, return_attention=False):
    """Logits of target position t = state["t"]: float32 [B, V] ([B, C] for class labels).

    prev_ids int [B] are the targets at t - 1 (ignored at t = 0, where the command token goes
    in). Costs one position of the mixer and decoder, whatever t is. Returns (logits, state),
    or with return_attention (logits, state, attention float32 [B, L, S]): position t's row of
    decode(..., return_attention=True) (the same numbers, from the caches).
    """
    t, fixed = state["t"], state["fixed"]
    net = self.target_net(problem)
    emb, _ = net.targets_bottom(ops.cast(ops.reshape(prev_ids, (-1, 1)), "int32"))
    x = ops.where(ops.equal(t, 0), fixed["command"], ops.cast(emb, fixed["command"].dtype))
    mixer = make_state(fixed["mixer"], state["cache"]["mixer"])
    decoder = make_state(fixed["decoder"], state["cache"]["decoder"])
    if return_attention:
      self._check_attention()
      x, mixer, mixed = self.mixer.step(x, t, mixer, return_weights=True)
      x, decoder, decoded = self.decoder.step(x, t, decoder, return_weights=True)
    else:
      x, mixer = self.mixer.step(x, t, mixer)
      x, decoder = self.decoder.step(x, t, decoder)
    logits = net.top(x, ops.ones(ops.shape(x)[:2], "float32"), training=False)
    new_state = {"t": t + 1, "fixed": fixed,
                 "cache": {"mixer": mixer["cache"], "decoder": decoder["cache"]}}
    if return_attention:
      return logits[:, 0], new_state, ops.stack([mixed, *decoded], axis=1)[:, :, 0]
    return logits[:, 0], new_state

  @staticmethod
  def source_mask(state):
    """The encoded inputs' mask [B, S] of a start_decoding state (1: a real position)."""
    return state["fixed"]["mixer"]["attention"]["mask"]

  def get_config(self):
    return {"hparams": self.hp.to_dict(), "specs": [s.to_dict() for s in
                                                    self.specs.values()],
            "name": self.name}

  @classmethod
  def from_config(cls, config):
    return cls(**config)
