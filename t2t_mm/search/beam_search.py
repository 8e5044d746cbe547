"""Beam search over a model's incremental decoding, with static shapes.

    ids, scores = beam_search(model, features, problem, max_length=50, beam_size=4, alpha=0.6)
    # ids int32 [B, K, max_length] best first; scores float32 [B, K] = log P / lp(len)
    # = beam_loop(model, model.start_decoding(features, problem, 50), problem, 50, 4, 0.6)

Each step extends the K alive hypotheses by every token, keeps the 2K best extensions, and
  * an extension ending in EOS (or PAD, as in greedy search) among the K best becomes a
    finished hypothesis, scored log P / lp(len) with lp(len) = ((5 + len) / 6) ** alpha
    (Wu et al. 2016); the K best finished are kept;
  * the K best extensions that do not end stay alive; every cache (conv windows, self-attention
    K/V) is reordered by the beam each comes from. Encoder-side tensors are not reordered.
A batch item is done when its K-th best finished score beats the best score any alive
hypothesis could still reach (log P only falls, lp is largest at max_length), as in
Tensor2Tensor. With beam_size 1 and alpha 0 this is greedy search. Hypotheses still alive at
max_length fill the K results after the finished ones.
"""

import tensorflow as tf

from t2t_mm.search.greedy import is_end

NEG_INF = -1e9


def length_penalty(length, alpha: float):
  return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _tile(x, k):
  return tf.repeat(x, k, axis=0)  # Row b*k + j is beam j of batch item b.


def _gather_beams(x, beam_index, batch, k):
  """x [B*K, ...] (flat beams) -> rows beam_index [B, K] of each batch item's beams."""
  flat = tf.reshape(beam_index + tf.range(batch)[:, None] * k, [-1])
  return tf.ensure_shape(tf.gather(x, flat), x.shape)  # Loop variables keep static shapes.


def beam_search(model, features, problem, max_length: int, beam_size: int, alpha: float = 0.6):
  """See the module docstring."""
  state = model.start_decoding(features, problem, max_length)
  return beam_loop(model, state, problem, max_length, beam_size, alpha)


def beam_loop(model, state, problem, max_length: int, beam_size: int, alpha: float = 0.6):
  """The search from a start_decoding state: (ids [B, K, max_length], scores [B, K])."""
  k = int(beam_size)
  batch = tf.shape(state["fixed"]["command"])[0]
  state = {"t": state["t"], "fixed": tf.nest.map_structure(lambda x: _tile(x, k),
                                                           state["fixed"]),
           "cache": tf.nest.map_structure(lambda x: _tile(x, k), state["cache"])}
  positions = tf.range(max_length)[None, None, :]
  best_possible_lp = length_penalty(max_length, alpha)

  def cond(alive_seq, alive_logp, fin_seq, fin_score, state):
    del alive_seq, fin_seq
    bound = alive_logp[:, 0] / best_possible_lp
    done = tf.reduce_all(fin_score[:, -1] >= bound)
    return tf.logical_and(state["t"] < max_length, tf.logical_not(done))

  def body(alive_seq, alive_logp, fin_seq, fin_score, state):
    t = state["t"]
    prev = tf.reshape(tf.gather(alive_seq, tf.maximum(t - 1, 0), axis=2), [-1])
    logits, state = model.decode_step(prev, state, problem)
    vocab = tf.shape(logits)[-1]
    logp = tf.nn.log_softmax(logits, axis=-1)
    cand = alive_logp[:, :, None] + tf.reshape(logp, [batch, k, vocab])
    top_logp, top_index = tf.math.top_k(tf.reshape(cand, [batch, k * vocab]), k=2 * k)
    beam, token = top_index // vocab, top_index % vocab
    top_seq = tf.gather(alive_seq, beam, batch_dims=1)  # [B, 2K, L]
    top_seq = tf.where(tf.equal(positions, t), token[:, :, None], top_seq)
    ended = is_end(token)
    # Alive: the K best extensions that do not end.
    alive_logp, pick = tf.math.top_k(tf.where(ended, NEG_INF, top_logp), k=k)
    alive_seq = tf.gather(top_seq, pick, batch_dims=1)
    cache = tf.nest.map_structure(
        lambda x: _gather_beams(x, tf.gather(beam, pick, batch_dims=1), batch, k),
        state["cache"])
    # Finished: ending extensions among the K best, merged with the earlier finished.
    rank_ok = tf.range(2 * k)[None, :] < k
    new_score = tf.where(tf.logical_and(ended, rank_ok), top_logp / length_penalty(t + 1, alpha),
                         NEG_INF)
    fin_score, pick = tf.math.top_k(tf.concat([fin_score, new_score], axis=1), k=k)
    fin_seq = tf.gather(tf.concat([fin_seq, top_seq], axis=1), pick, batch_dims=1)
    return alive_seq, alive_logp, fin_seq, fin_score, dict(state, cache=cache)

  first = tf.concat([tf.zeros([batch, 1]), tf.fill([batch, k - 1], NEG_INF)], axis=1)
  init = (tf.zeros([batch, k, max_length], tf.int32), first,
          tf.zeros([batch, k, max_length], tf.int32), tf.fill([batch, k], NEG_INF), state)
  alive_seq, alive_logp, fin_seq, fin_score, state = tf.while_loop(cond, body, init)
  # Finished first (best score first), then the alive ones (already best first) fill up.
  alive_score = alive_logp / length_penalty(state["t"], alpha)
  num_fin = tf.reduce_sum(tf.cast(fin_score > NEG_INF / 2, tf.int32), axis=1, keepdims=True)
  j = tf.range(k)[None, :]
  pick = tf.where(j < num_fin, j, k + j - num_fin)
  ids = tf.gather(tf.concat([fin_seq, alive_seq], axis=1), pick, batch_dims=1)
  scores = tf.gather(tf.concat([fin_score, alive_score], axis=1), pick, batch_dims=1)
  return ids, scores
