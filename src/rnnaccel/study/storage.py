"""Where a study lives (SQLite / any SQLAlchemy URL, or an Optuna journal file), its sampler, and the
recovery of trials that a killed process left RUNNING."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

__all__ = ["SAMPLERS", "STORAGE_HELP", "make_sampler", "open_study", "owner_tag", "recover_interrupted",
           "storage_for"]

SAMPLERS: tuple[str, ...] = ("grid", "tpe", "nsga2")
STORAGE_HELP = ("Optuna storage: an SQLAlchemy URL (sqlite:///sweep.db) or a journal file path "
                "(*.journal, *.log); default: study.journal in the run directory.")
_URL_SCHEMES = ("sqlite://", "postgresql://", "postgresql+", "mysql://", "mysql+")


def storage_for(spec: str | None, run_dir: str | Path) -> Any:
    """The Optuna storage named by ``spec`` (``None``: ``run_dir/study.journal``).

    A URL goes to Optuna's RDB storage; anything else is a journal file (created with its folder)."""
    if spec is not None and spec.startswith(_URL_SCHEMES):
        return spec
    if spec is not None and "://" in spec:
        raise ValueError(f"--storage {spec!r}: unsupported URL scheme; expected sqlite:///FILE, a "
                         "postgresql/mysql URL, or a journal file path")
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(run_dir) / "study.journal" if spec is None else Path(spec)
    if path.is_dir():
        raise ValueError(f"--storage {str(path)!r} is a directory; expected a journal file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def make_sampler(name: str, seed: int = 0) -> Any:
    """``tpe`` or ``nsga2`` (multi-objective); ``grid`` is None: the sweeps enumerate their grid
    themselves (plan-driven trials, like Phase I's strategies) instead of Optuna's GridSampler, which
    stops the study from inside ``tell`` and so cannot be driven by ask/tell."""
    import optuna

    if name == "grid":
        return None
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}, expected one of {list(SAMPLERS)}")


def open_study(name: str, storage: Any, directions: list[str], sampler: Any = None) -> Any:
    """Create or load the study; a study of that name with other objectives is an error."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=storage, directions=directions, sampler=sampler,
                                load_if_exists=True)
    have = [d.name.lower() for d in study.directions]
    if have != list(directions):
        raise ValueError(f"study {name!r} in this storage optimizes {have}, this sweep {list(directions)}: "
                         "use another --storage or study")
    return study


def owner_tag() -> str:
    """``host:pid`` of this process, stored on every trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(tag: str) -> bool:
    host, _, pid = tag.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's trial: cannot tell, leave it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted(study: Any) -> list[Any]:
    """Mark RUNNING trials whose owner process on this host is gone as FAIL; returns them (frozen).

    A trial killed with its process (kill -9, a crash, a lost machine) stays RUNNING in the storage
    forever; it is retried by the caller (plan-driven sweeps rerun the spec, sampled ones re-enqueue its
    params)."""
    from optuna.trial import Trial, TrialState

    lost = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tag = trial.user_attrs.get("owner")
        if tag and _dead(tag):
            Trial(study, trial._trial_id).set_user_attr("interrupted", True)
            study.tell(trial.number, state=TrialState.FAIL)
            lost.append(trial)
    return lost
