"""Optuna studies for rnnaccel's sweeps (``rnnaccel compress`` and ``rnnaccel explore``).

A sweep is a :class:`Task` (how a spec becomes Optuna params, a row, objective values, a fingerprint);
:class:`StudyRunner` owns the study (asks, tells, reuses finished trials whose fingerprint matches,
retries trials a killed process left RUNNING) and hands the trials to a backend: worker processes
on this machine (``jobs``) or Ray actors on a cluster. Optuna and Ray are imported lazily.
"""

from rnnaccel.study.backends import LocalBackend, RayBackend, make_backend
from rnnaccel.study.runner import StudyRunner, Task
from rnnaccel.study.storage import STORAGE_HELP, make_sampler, open_study, recover_interrupted

__all__ = [
    "STORAGE_HELP",
    "LocalBackend",
    "RayBackend",
    "StudyRunner",
    "Task",
    "make_backend",
    "make_sampler",
    "open_study",
    "recover_interrupted",
]
