"""The tiny dense-training config that the flow tests point their flow configs at."""

from pathlib import Path

TRAIN = """
out_dir = "{out}/dense"
[data]
corpus = "{out}/corpus"
cache_dir = "{out}/cache"
eval_splits = ["test"]
[model]
cell = "{cell}"
hidden_size = {hidden}
num_layers = 1
bidirectional = true
[optim]
epochs = 1
batch_size = 8
"""


def write_train_config(out: Path, cell: str, hidden: int) -> Path:
    """``out/train.toml``: a 1-layer bidirectional ``cell`` of ``hidden`` units, one epoch."""
    path = out / "train.toml"
    path.write_text(TRAIN.format(out=out, cell=cell, hidden=hidden))
    return path
