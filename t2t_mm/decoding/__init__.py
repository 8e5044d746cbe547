"""Decoding a trained model: cached incremental search, sessions, file mode, export.

    search.greedy_or_sample     greedy search and sampling (temperature, top-k)
    beam_search.beam_search     beam search with length penalty, reorders every cache
    runner.DecodeRunner         compiled decoding of feature batches with DecodeHParams
    loading.load_run            model + hparams + problems + checkpoint from an output_dir
    inputs                      lines (text, image=PATH, audio=PATH, commands) -> features
    session.DecodeSession       the interactive loop of mm-decoder
    file_decode.decode_file     --decode_from_file: sorted batches, original order
"""
