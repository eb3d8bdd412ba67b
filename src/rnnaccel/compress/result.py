"""The typed result of Phase I (``rnnaccel compress``), read by Phase II (``rnnaccel explore``).

``rnnaccel compress`` writes one :class:`Phase1Result` JSON (``results`` of the compress config):

    {"schema": 1, "config": {...}, "summary": {...},
     "trials": [{"trial", "cell", "hidden", "method", "block_sizes": {"gates", "proj"}, "bits", "per",
                 ...the trial's other figures (spec, cost, stages, ADMM residuals)...}]}

``block_sizes.gates`` is the block size of the gate matrices (input and recurrent roles; 1 = dense,
None = not one block-circulant size: a pruned trial or roles with different sizes, which the circulant
design space of Phase II cannot price), ``proj`` that of the projection, ``bits`` the weight word length
(32 = float). Hand-written files with only the five fields explore needs stay valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["Phase1Blocks", "Phase1Result", "Phase1Trial", "load_phase1_result", "trial_from_row"]

_BITS = {"float": 32, "16bit": 16, "12bit": 12}
_REQUIRED = ("cell", "hidden", "block_sizes", "bits", "per")


class Phase1Blocks(BaseModel):
    """Block sizes of one trial's network as Phase II's design points see them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gates: int | None = Field(ge=1)
    proj: int | None = Field(default=None, ge=1)


class Phase1Trial(BaseModel):
    """One trained (compressed, quantized) model and its phone error rate."""

    model_config = ConfigDict(extra="allow", frozen=True)

    trial: str | None = None
    cell: Literal["lstm", "gru"]
    hidden: int = Field(ge=1)
    method: Literal["dense", "admm", "direct", "prune"] | None = None
    block_sizes: Phase1Blocks
    bits: int = Field(ge=2, le=32)
    per: float = Field(ge=0, allow_inf_nan=False)


class Phase1Result(BaseModel):
    """All trials of a Phase I run with its config and selection summary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal[1] = Field(default=1, alias="schema")
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    trials: list[Phase1Trial]

    def explore_trials(self) -> list[dict]:
        """The trials Phase II can place on its circulant design points (``gates`` known), as dicts."""
        return [t.model_dump(exclude_none=True) for t in self.trials if t.block_sizes.gates is not None]

    def write(self, path: str | Path) -> Path:
        """Write strict JSON atomically (0644), with its ``content_sha256`` (checked when it is read)."""
        from rnnaccel.io import write_json_atomic

        return write_json_atomic(path, self.model_dump(by_alias=True, mode="json"), stamp=True)


def _gates(block_size: Any, method: str) -> Phase1Blocks:
    if method == "prune":
        return Phase1Blocks(gates=None)
    if block_size is None:
        return Phase1Blocks(gates=1)
    if isinstance(block_size, int):
        return Phase1Blocks(gates=block_size)
    if isinstance(block_size, dict):
        gate = {block_size.get("input"), block_size.get("recurrent")}
        single = gate.pop() if len(gate) == 1 else None
        return Phase1Blocks(gates=single, proj=block_size.get("projection"))
    return Phase1Blocks(gates=None)  # per-layer sizes


def trial_from_row(row: dict) -> Phase1Trial:
    """A compress trial row (``{"trial", "spec": TrialSpec.as_dict(), "per", ...}``) as a typed trial."""
    spec = row["spec"]
    fields = {"cell": spec["cell"], "hidden": spec["hidden"], "method": spec["method"],
              "block_sizes": _gates(spec.get("block_size"), spec["method"]), "bits": _BITS[spec["quant"]]}
    return Phase1Trial(**{**row, **fields})


def load_phase1_result(path: str | Path) -> Phase1Result:
    """Read and validate a Phase I JSON; ValueError names the file and the first malformed trial."""
    from rnnaccel.io import CONTENT_KEY, read_json

    data = read_json(path, "Phase I results")  # damaged or edited (content_sha256): an error naming it
    if isinstance(data, dict):
        data.pop(CONTENT_KEY, None)
    trials = data.get("trials") if isinstance(data, dict) else None
    if not isinstance(trials, list):
        raise ValueError(f"Phase I results {str(path)!r} must be an object with a 'trials' list")
    for i, trial in enumerate(trials):
        missing = [k for k in _REQUIRED if not isinstance(trial, dict) or k not in trial]
        if missing:
            raise ValueError(f"Phase I trial {i} lacks {missing} in {str(path)!r}")
    try:
        return Phase1Result.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"Phase I results {str(path)!r}: {exc}") from None
