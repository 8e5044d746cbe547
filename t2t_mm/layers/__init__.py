"""Keras 3 building blocks of the MultiModel, one public layer per file.

    conv_step.ConvStep        ReLU -> depthwise-separable conv -> LayerNorm (causal variant)
    conv_block.ConvBlock      four ConvSteps, two residual connections
    attention.MultiHeadAttention  masked multi-head dot-product attention
    attention_block.AttentionBlock  the paper's attention block (query from targets, K/V source)
    moe.MixtureOfExperts      sparsely-gated MoE with noisy top-k gating
    conv_res.ConvRes          Xception-style ConvRes block (modality nets)
    dense.Dense               keras Dense as one 2-D matmul (same variables)
    dropout.Dropout           keras Dropout with 16 random bits per element (same seed state)
    layer_norm.LayerNorm      keras LayerNormalization with a closed-form gradient
    decoding_state            the one incremental-decoding protocol (init_state / step)
    ops                       timing signal, masking, padding, dense and layer-norm helpers
                              (no weights)
"""
