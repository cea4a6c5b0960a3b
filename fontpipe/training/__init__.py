"""Training: the config and run (`train`), tf.data input pipelines (`inputs`), devices and
distribution (`devices`), resumable checkpoints (`checkpoints`) and the channel-table fit
(`table_fit`).
"""
