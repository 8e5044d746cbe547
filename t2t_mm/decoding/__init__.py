"""Decoding a trained model: cached incremental search, sessions, file mode, export.

    (the search itself, shared with the trainer's evaluation, is t2t_mm/search/)
    loading.load_for_decoding            model + hparams + problems + checkpoint from an output_dir
    inputs                      lines (text, image=PATH, audio=PATH, commands) -> features
    session.DecodeSession       the interactive loop of mm-decoder
    file_decode.decode_file     --decode_from_file: sorted batches, original order
"""
