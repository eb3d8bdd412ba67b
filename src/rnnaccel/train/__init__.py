"""Phone recognition training: config, model, CTC/CE loop, decoding, PER, checkpoints."""

from rnnaccel.train.config import Config, DataConfig, ModelConfig, OptimConfig, load_config
from rnnaccel.train.decode import beam_decode, edit_distance, greedy_decode, phone_error_rate
from rnnaccel.train.loop import Dataset, EpochRecord, TrainResult, evaluate, load_data, train
from rnnaccel.train.model import PhoneRecognizer, build_model

__all__ = [
    "Config",
    "DataConfig",
    "Dataset",
    "EpochRecord",
    "ModelConfig",
    "OptimConfig",
    "PhoneRecognizer",
    "TrainResult",
    "beam_decode",
    "build_model",
    "edit_distance",
    "evaluate",
    "greedy_decode",
    "load_config",
    "load_data",
    "phone_error_rate",
    "train",
]
