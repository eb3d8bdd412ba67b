"""Where trials run: in this process, in ``jobs`` worker processes, or as Ray actors.

A backend gets a ``factory`` (a picklable callable, e.g. a ``functools.partial`` of a module-level
class) that builds the per-worker object whose ``run(spec) -> dict`` trains or evaluates one trial; each
worker builds it once, so data loaded by it is shared by the worker's trials. ``map`` yields
``(index, row, error)`` in completion order, so the study records every finished trial even when a
later one is still running (or the coordinator is killed).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["LocalBackend", "RayBackend", "make_backend"]

Result = tuple[int, Any, str | None]
_RAY_MISSING = ("--backend ray needs Ray: pip install 'rnnaccel[ray]' "
                "(or pip install 'ray[tune]>=2.60,<2.61')")


def _guarded(worker: Any, index: int, spec: Any) -> Result:
    try:
        return index, worker.run(spec), None
    except Exception as exc:  # noqa: BLE001 - reported as the trial's failure, not lost in a worker
        return index, None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"


# One per worker process of LocalBackend's pool (set by its initializer): the standard pattern for
# state that a process pool's tasks share; the coordinator process never sets it.
_WORKER: list[Any] = []


def _init_worker(factory: Callable[[], Any]) -> None:
    _WORKER.append(factory())


def _pool_task(index: int, spec: Any) -> Result:
    return _guarded(_WORKER[0], index, spec)


class LocalBackend:
    """``jobs == 1``: trials run in this process; ``jobs > 1``: a pool of spawned worker processes."""

    def __init__(self, factory: Callable[[], Any], jobs: int = 1, worker: Any = None) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        self.factory, self.jobs, self._worker, self._pool = factory, jobs, worker, None

    def map(self, specs: Sequence[Any]) -> Iterator[Result]:
        if self.jobs == 1:
            if self._worker is None:
                self._worker = self.factory()
            yield from (_guarded(self._worker, i, spec) for i, spec in enumerate(specs))
            return
        from concurrent.futures import as_completed

        futures = [self._executor().submit(_pool_task, i, spec) for i, spec in enumerate(specs)]
        for future in as_completed(futures):
            yield future.result()

    def _executor(self) -> Any:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(self.factory,))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError(_RAY_MISSING) from None
    return ray


class RayBackend:
    """``jobs`` Ray actors (one CPU each), each holding one worker object; trials are dispatched to idle
    actors. ``address=None`` starts a local Ray (``num_cpus=jobs``, no dashboard); otherwise it joins a
    running cluster (``"auto"`` or ``"ray://HEAD:10001"``). :meth:`close` kills the actors and shuts Ray
    down if this backend started it."""

    def __init__(self, factory: Callable[[], Any], jobs: int = 1, address: str | None = None) -> None:
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
        self.ray = _import_ray()
        self._started = not self.ray.is_initialized()
        if self._started:
            kwargs = {"num_cpus": jobs} if address is None else {"address": address}
            try:
                self.ray.init(include_dashboard=False, log_to_driver=False, **kwargs)
            except Exception as exc:  # ConnectionError, a node start-up timeout, ...: stop what started
                self.ray.shutdown()
                where = "a local Ray" if address is None else f"the Ray cluster at {address!r}"
                raise ValueError(f"--backend ray: could not start or join {where}: {exc}") from None
        actor = self.ray.remote(num_cpus=1)(_RayWorker)
        self.actors = [actor.remote(factory) for _ in range(jobs)]

    def map(self, specs: Sequence[Any]) -> Iterator[Result]:
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        yield from pool.map_unordered(lambda actor, item: actor.run.remote(*item), list(enumerate(specs)))

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()


class _RayWorker:
    """Body of a Ray actor: builds the worker object once, runs trials on it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.worker = factory()

    def run(self, index: int, spec: Any) -> Result:
        return _guarded(self.worker, index, spec)


def make_backend(name: str, factory: Callable[[], Any], jobs: int = 1, address: str | None = None,
                 worker: Any = None) -> LocalBackend | RayBackend:
    """``local`` (``worker``: an already-built worker object for ``jobs == 1``) or ``ray``."""
    if name == "local":
        if address is not None:
            raise ValueError("--address is only for --backend ray")
        return LocalBackend(factory, jobs, worker)
    if name == "ray":
        return RayBackend(factory, jobs, address)
    raise ValueError(f"unknown backend {name!r}, expected 'local' or 'ray'")
