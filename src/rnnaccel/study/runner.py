"""The coordinator of a sweep's Optuna study: asks trials, runs them on a backend, tells the results.

Every trial carries user attributes ``key`` (the spec's name), ``fingerprint`` (a hash of the config
and data that make it), ``owner`` (``host:pid``) and, once finished, ``row`` (the sweep's result
dict). A finished trial is reused only when its key *and* fingerprint match; a RUNNING trial whose
owner process died (kill -9) is marked FAIL and run again. Two ways to drive it:

- :meth:`StudyRunner.run`: a given list of specs (the full grid, or a step of Phase I's reduced search);
- :meth:`StudyRunner.sample`: the study's sampler (TPE, NSGA-II, grid) proposes ``n_trials`` specs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from rnnaccel.study.storage import owner_tag, recover_interrupted

__all__ = ["StudyRunner", "Task"]

Row = dict
OnTrial = Callable[[Row, bool], None]


class Task(Protocol):
    """What a sweep tells the runner about its specs (see :mod:`rnnaccel.compress.sweep`)."""

    directions: list[str]

    def key(self, spec: Any) -> str: ...
    def params(self, spec: Any) -> dict[str, Any]: ...
    def space(self) -> dict[str, list]: ...
    def spec(self, params: dict[str, Any]) -> Any: ...
    def fingerprint(self, spec: Any) -> str: ...
    def finish(self, row: Row) -> Row: ...
    def values(self, row: Row) -> list[float] | None: ...
    def parents(self, spec: Any) -> list[Any]: ...


class StudyRunner:
    """Runs a :class:`Task`'s trials in ``study`` on ``backend``; ``notes`` collects what a user should
    read (interrupted trials retried, stale trials rerun)."""

    def __init__(self, study: Any, task: Task, backend: Any, on_trial: OnTrial | None = None) -> None:
        self.study, self.task, self.backend = study, task, backend
        self.on_trial = on_trial or (lambda _row, _cached: None)
        self.interrupted = recover_interrupted(study)
        self.notes = [f"trial {t.number} ({t.user_attrs.get('key')}) was interrupted (its process "
                      f"{t.user_attrs.get('owner')} died): retried" for t in self.interrupted]
        self.used: list[str] = []

    # -- reuse -----------------------------------------------------------------------------------
    def _finished(self) -> dict[str, list[Any]]:
        from optuna.trial import TrialState

        out: dict[str, list[Any]] = {}
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
            if "row" in t.user_attrs and "key" in t.user_attrs:
                out.setdefault(t.user_attrs["key"], []).append(t)
        return out

    def _reusable(self, spec: Any, finished: dict[str, list[Any]]) -> Row | None:
        key, fp = self.task.key(spec), self.task.fingerprint(spec)
        same = [t for t in finished.get(key, []) if t.user_attrs.get("fingerprint") == fp]
        if same:
            return same[-1].user_attrs["row"]
        if finished.get(key):
            old = finished[key][-1]
            self.notes.append(f"trial {old.number} ({key}) was made by another config or data (fingerprint "
                              f"{old.user_attrs.get('fingerprint')}, now {fp}): rerun")
        return None

    # -- ask / tell ------------------------------------------------------------------------------
    def _ask(self, spec: Any) -> Any:
        """A new trial with ``spec``'s params fixed (enqueued, then popped by ``ask``)."""
        self.study.enqueue_trial(self.task.params(spec), user_attrs={"key": self.task.key(spec)})
        trial = self.study.ask()
        self._suggest(trial)
        if trial.user_attrs.get("key") != self.task.key(spec):
            raise ValueError(f"study {self.study.study_name!r} has queued trials of another sweep; use "
                             "another --storage")
        return self._own(trial, spec)

    def _suggest(self, trial: Any) -> dict[str, Any]:
        return {name: trial.suggest_categorical(name, choices) for name, choices in self.task.space().items()}

    def _own(self, trial: Any, spec: Any) -> Any:
        trial.set_user_attr("key", self.task.key(spec))
        trial.set_user_attr("fingerprint", self.task.fingerprint(spec))
        trial.set_user_attr("owner", owner_tag())
        return trial

    def _tell(self, trial: Any, spec: Any, row: Row, cached: bool) -> Row:
        from optuna.trial import TrialState

        row = {**self.task.finish(row), "study_trial": trial.number}
        trial.set_user_attr("row", row)
        values = self.task.values(row)
        if values is None:
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, values)
        self.used.append(self.task.key(spec))
        self.on_trial(row, cached)
        return row

    def _execute(self, trials: dict[int, Any], specs: Sequence[Any]) -> dict[int, Row]:
        """Run the asked ``trials`` (index -> trial) on the backend; tells each as it finishes."""
        from optuna.trial import TrialState

        order = list(trials)
        rows, errors = {}, []
        for j, row, error in self.backend.map([specs[i] for i in order]):
            trial = trials[order[j]]
            if error is not None:
                trial.set_user_attr("error", error[-2000:])
                self.study.tell(trial, state=TrialState.FAIL)
                errors.append(f"trial {self.task.key(specs[order[j]])} failed: {error.splitlines()[0]}")
                continue
            rows[order[j]] = self._tell(trial, specs[order[j]], row, cached=False)
        if errors:
            raise ValueError("; ".join(errors))
        return rows

    # -- drivers ---------------------------------------------------------------------------------
    def run(self, specs: Sequence[Any]) -> list[Row]:
        """Rows of ``specs`` (in order): reused when finished with the same fingerprint, else run as
        new trials, ``backend.jobs`` at a time. Duplicate keys run once."""
        finished, rows, todo, first = self._finished(), [None] * len(specs), {}, {}
        for i, spec in enumerate(specs):
            key = self.task.key(spec)
            if key in first:
                continue
            first[key] = i
            hit = self._reusable(spec, finished)
            if hit is not None:
                rows[i] = hit
                self.used.append(key)
                self.on_trial(hit, True)
            else:
                todo[i] = self._ask(spec)
        for i, row in self._execute(todo, specs).items():
            rows[i] = row
        return [rows[first[self.task.key(spec)]] for spec in specs]

    def sample(self, n_trials: int, batch: int = 1) -> list[Row]:
        """``n_trials`` new trials proposed by the study's sampler, ``batch`` asked at a time (the
        parallelism); params of interrupted trials are enqueued first. A proposal identical to a
        finished trial (same key and fingerprint) is told that trial's result without rerunning."""
        if n_trials < 1 or batch < 1:
            raise ValueError(f"n_trials and batch must be >= 1, got {n_trials} and {batch}")
        for t in self.interrupted:
            self.study.enqueue_trial(t.params, user_attrs={"retry_of": t.number})
        rows: list[Row] = []
        while len(rows) < n_trials and not self._exhausted():
            rows += self._sample_batch(min(batch, n_trials - len(rows)))
        return rows

    def _exhausted(self) -> bool:
        check = getattr(self.study.sampler, "is_exhausted", None)
        return bool(check and check(self.study))

    def _sample_batch(self, n: int) -> list[Row]:
        from optuna.trial import TrialState

        # pop every queued retry now: the parents' trials below are enqueued and popped FIFO
        n = max(n, len(self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,))))
        asked = [self.study.ask() for _ in range(n)]
        specs = [self.task.spec(self._suggest(trial)) for trial in asked]
        parents = [p for spec in specs for p in self.task.parents(spec)]
        if parents:
            self.run(parents)
        finished, todo, rows = self._finished(), {}, {}
        for i, (trial, spec) in enumerate(zip(asked, specs, strict=True)):
            self._own(trial, spec)
            hit = self._reusable(spec, finished)
            if hit is not None:
                rows[i] = self._tell(trial, spec, hit, cached=True)
            else:
                todo[i] = trial
        rows.update(self._execute(todo, specs))
        return [rows[i] for i in sorted(rows)]
