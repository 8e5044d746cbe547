"""The data path: problems, encoders, TFRecord shards and tf.data pipelines."""
