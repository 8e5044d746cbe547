"""Search over a model's incremental decoding, used by training (evaluation) and decoding alike.

    greedy.greedy_or_sample     greedy search and sampling (temperature, top-k)
    beam_search.beam_search     beam search with length penalty, reorders every cache
    compiled.CompiledSearch     compiled decoding of feature batches with DecodeHParams
"""
