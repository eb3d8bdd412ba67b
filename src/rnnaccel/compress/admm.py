"""ADMM training towards block-circulant weights (E-RNN §IV; papers.md "ADMM", standard scaled form).

    minimize f(W)  subject to  W_l ∈ S_l(k_l)   (S_l: cropped block-circulant matrices of block size k_l)

    W-step: minimize f(W) + Σ_l ρ/2 ‖W_l − Z_l + U_l‖²  for ``epochs_per_iteration`` epochs
    Z-step: Z_l = Π_S(W_l + U_l)                          (Euclidean projection, per-diagonal means)
    U-step: U_l ← U_l + W_l − Z_l

The W-step is run the way the authors' group runs it (kaiqzhan/admm-pruning, nni's ADMMPruner), in one
of two ways (:class:`ADMMSchedule` ``w_step``):

* ``"proximal"`` (the default): the optimizer (Adam) sees f only; after each of its steps the penalty is
  applied as an exact proximal step of step size η = 1 optimizer step,
  ``W ← argmin_V ρ/2‖V − Z + U‖² + ½‖V − W‖² = (W + ρ(Z − U)) / (1 + ρ)``, whose first-order form is nni's
  ``W −= ρ(W − Z + U)``. η = 1 makes ρ the fraction of the way to Z − U covered per step, independent of
  Adam's per-weight normalization (Adam over loss + penalty turns any ρ into a pull of ≈ lr per step)
  and of the learning rate, so the authors' ρ values (1e-4 … 1.5e-3) carry over; the exact form is
  stable for any ρ (the factor 1/(1 + ρ) never overshoots).
* ``"sgd"``: SGD with momentum over f + penalty (the pull is lr·ρ per step, as in the authors' SGD code).

The default is ``"proximal"`` because it keeps the Adam + clipping recipe that trains every other flow
(one optimizer, one learning rate across the study) while removing the one thing that made ADMM fail here.

ρ grows geometrically per Z/U update, ρ_i = min(ρ_0·γ^i, ρ_max) (authors: ×1.3, "works better
monotonically increasing"). U is the *scaled* dual (U = λ/ρ): it is rescaled by ρ_i/ρ_{i+1} when ρ
changes so the unscaled dual λ is unchanged (Boyd et al. 2011, §3.4.1). Z is held as defining vectors
``(p, q, k)`` (the hard projection copies them exactly); the dense Z − U is cached once per Z/U update, so
a W-step costs one fused multiply-add per constrained weight (benchmarks/bench_admm.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from torch import Tensor, nn

from rnnaccel.compress.roles import Role, iter_roles, to_block_circulant
from rnnaccel.nn import BlockSizeSpec, block_circulant_vectors, expand_block_circulant

__all__ = ["ADMMSchedule", "ADMMState", "IterationLog", "plot_residuals", "write_admm_log"]


class ADMMSchedule(BaseModel):
    """The one ADMM schedule (``[admm]`` of compress, flow and experiment configs); frozen, validated.

    Defaults: the authors' ρ (1.5e-3 start, ×1.3 per Z/U update), Z/U every 2 epochs, the learning rate
    reset at every ADMM iteration and cut ×0.1 in its last epoch, 2 fine-tuning epochs with a fresh
    optimizer after the hard projection: 2 × 2 + 2 = 6 epochs, the compress default's direct budget.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    iterations: StrictInt = Field(default=2, ge=1, description="Z/U updates")
    epochs_per_iteration: StrictInt = Field(default=2, ge=1, description="W-step epochs per Z/U update")
    rho0: float = Field(default=1.5e-3, gt=0, allow_inf_nan=False)
    rho_growth: float = Field(default=1.3, ge=1, allow_inf_nan=False)
    rho_max: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    w_step: Literal["proximal", "sgd"] = "proximal"
    momentum: float = Field(default=0.9, ge=0, lt=1, description="SGD momentum (w_step = 'sgd')")
    lr: float | None = Field(default=None, gt=0, allow_inf_nan=False,
                             description="W-step base learning rate; None: the training config's")
    lr_drop_epoch: StrictInt | Literal["last"] | None = "last"
    lr_drop_factor: float = Field(default=0.1, gt=0, le=1)
    finetune_epochs: StrictInt = Field(default=2, ge=0)
    finetune_lr: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _consistent(self) -> ADMMSchedule:
        if self.rho_max < self.rho0:
            raise ValueError(f"need rho0 <= rho_max, got rho0={self.rho0!r}, rho_max={self.rho_max!r}")
        drop = self.lr_drop_epoch
        if isinstance(drop, int) and not 1 <= drop <= self.epochs_per_iteration:
            raise ValueError(f"lr_drop_epoch must be in 1..epochs_per_iteration="
                             f"{self.epochs_per_iteration} (or 'last' or null), got {drop!r}")
        return self

    @property
    def admm_epochs(self) -> int:
        """Epochs of the W-steps (all iterations)."""
        return self.iterations * self.epochs_per_iteration

    @property
    def total_epochs(self) -> int:
        """W-step epochs plus fine-tuning epochs (the flow's training budget)."""
        return self.admm_epochs + self.finetune_epochs

    def rho(self, iteration: int) -> float:
        """ρ used in the W-step of ADMM iteration ``iteration`` (0-based)."""
        return min(self.rho0 * self.rho_growth ** iteration, self.rho_max)

    def _drop_epoch(self) -> int | None:
        if self.lr_drop_epoch == "last":
            return self.epochs_per_iteration if self.epochs_per_iteration >= 2 else None
        return self.lr_drop_epoch

    def lr_of(self, epoch: int, base: float) -> float:
        """Learning rate of W-step epoch ``epoch`` (1-based over all iterations): ``self.lr`` or
        ``base``, reset at the first epoch of every iteration, × ``lr_drop_factor`` from its drop epoch."""
        if epoch < 1:
            raise ValueError(f"epoch is 1-based, got {epoch!r}")
        start = self.lr if self.lr is not None else base
        within = (epoch - 1) % self.epochs_per_iteration + 1
        drop = self._drop_epoch()
        return start * self.lr_drop_factor if drop is not None and within >= drop else start

    def is_update_epoch(self, epoch: int) -> bool:
        """Whether the Z/U update follows W-step epoch ``epoch`` (1-based)."""
        return epoch % self.epochs_per_iteration == 0

    def make_optimizer(self, params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
        """The W-step optimizer: Adam (``proximal``) or SGD with momentum (``sgd``)."""
        if self.w_step == "sgd":
            return torch.optim.SGD(params, lr=lr, momentum=self.momentum)
        return torch.optim.Adam(params, lr=lr)


@dataclass(frozen=True)
class IterationLog:
    """One Z/U update: ρ of its W-step and the relative residual ‖W − Z‖/‖W‖ after its Z-step (in total
    and per role key ``layers.<layer>.<direction>.<ih|hh|proj>``)."""

    iteration: int
    rho: float
    residual: float
    residual_per_role: dict[str, float] = field(default_factory=dict)


class ADMMState:
    """Z (defining vectors), scaled duals U and the cached dense Z − U of every constrained role.

    Construction performs the initial Z = Π(W), U = 0 (papers.md: start from a trained dense model).
    """

    def __init__(self, model: nn.Module, block_size: BlockSizeSpec, schedule: ADMMSchedule) -> None:
        self.model, self.block_size, self.schedule = model, block_size, schedule
        self.roles: list[Role] = [r for r in iter_roles(model, block_size) if r.block_size is not None]
        if not self.roles:
            raise ValueError(f"block_size={block_size!r} constrains no role; ADMM needs at least one")
        for r in self.roles:
            if not isinstance(r.module, nn.Linear):
                raise TypeError(f"ADMM trains dense roles; {r.key} is a {type(r.module).__name__}")
        self.iteration = 0
        self.rho = schedule.rho(0)
        self.z = {r.key: block_circulant_vectors(r.module.weight.detach(), r.block_size) for r in self.roles}
        self.u = {r.key: torch.zeros_like(r.module.weight, requires_grad=False) for r in self.roles}
        self.log: list[IterationLog] = []
        self._refresh_targets()

    @torch.no_grad()
    def _refresh_targets(self) -> None:
        """Cache Z − U densely (once per Z/U update, not per step)."""
        self.target = {r.key: self.z_dense(r.key) - self.u[r.key] for r in self.roles}

    def z_dense(self, key: str) -> Tensor:
        """Z of role ``key`` as its dense ``(out, in)`` matrix."""
        w = self._role(key).module.weight
        return expand_block_circulant(self.z[key], w.shape[0], w.shape[1])

    def _role(self, key: str) -> Role:
        return next(r for r in self.roles if r.key == key)

    def penalty(self, model: nn.Module | None = None) -> Tensor:
        """Σ_l ρ/2 ‖W_l − Z_l + U_l‖² (the ``sgd`` W-step's extra loss; ``model`` is ignored)."""
        total = sum((r.module.weight - self.target[r.key]).pow(2).sum() for r in self.roles)
        return 0.5 * self.rho * total

    @torch.no_grad()
    def proximal_step(self, model: nn.Module | None = None) -> None:
        """W ← (W + ρ(Z − U)) / (1 + ρ) for every constrained role (step size η = 1; see the module doc)."""
        keep = 1.0 / (1.0 + self.rho)
        for r in self.roles:
            w = r.module.weight
            w.mul_(keep).add_(self.target[r.key], alpha=self.rho * keep)

    @torch.no_grad()
    def residuals(self) -> dict[str, float]:
        """‖W_l − Z_l‖/‖W_l‖ per role."""
        out = {}
        for r in self.roles:
            w = r.module.weight
            out[r.key] = float((w - self.z_dense(r.key)).norm() / w.norm().clamp(min=1e-30))
        return out

    @torch.no_grad()
    def total_residual(self) -> float:
        """‖W − Z‖/‖W‖ over all constrained roles together."""
        num = sum(float((r.module.weight - self.z_dense(r.key)).pow(2).sum()) for r in self.roles)
        den = sum(float(r.module.weight.pow(2).sum()) for r in self.roles)
        return (num / max(den, 1e-300)) ** 0.5

    @torch.no_grad()
    def step(self) -> IterationLog:
        """Z-step, U-step, log the residual, then advance ρ (rescaling the scaled dual)."""
        for r in self.roles:
            w = r.module.weight
            self.z[r.key] = block_circulant_vectors(w + self.u[r.key], r.block_size)
            self.u[r.key] += w - self.z_dense(r.key)
        entry = IterationLog(self.iteration, self.rho, self.total_residual(), self.residuals())
        self.log.append(entry)
        self.iteration += 1
        new_rho = self.schedule.rho(self.iteration)
        for key in self.u:
            self.u[key] *= self.rho / new_rho
        self.rho = new_rho
        self._refresh_targets()
        return entry

    def hard_project(self) -> nn.Module:
        """Turn every constrained role into a ``BlockCirculantLinear`` whose weights are exactly Z."""
        return to_block_circulant(self.model, self.block_size, self.z)


def write_admm_log(log: list[IterationLog], out_dir: str | Path, plot: bool = True) -> Path:
    """Write ``admm_residuals.json`` (ρ and ‖W − Z‖/‖W‖ per role at every Z/U update) into ``out_dir``
    and, with ``plot`` and matplotlib installed, ``admm_residuals.png`` beside it. Returns the JSON path."""
    from rnnaccel.io import write_json_atomic

    path = Path(out_dir) / "admm_residuals.json"
    write_json_atomic(path, [entry.__dict__ for entry in log])
    if plot and log:
        try:
            plot_residuals(log, path.with_suffix(".png"))
        except ImportError:
            pass  # matplotlib is the optional [plot] extra
    return path


def plot_residuals(log: list[IterationLog], path: str | Path) -> Path:
    """A PNG of ‖W − Z‖/‖W‖ per role (and in total) against the Z/U update, log scale (matplotlib)."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    from rnnaccel.io import atomic_output

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    steps = [e.iteration + 1 for e in log]
    for key in log[0].residual_per_role:
        ax.plot(steps, [max(e.residual_per_role[key], 1e-12) for e in log], lw=1, label=key)
    ax.plot(steps, [max(e.residual, 1e-12) for e in log], "k-", lw=2.5, label="all")
    ax.set(xlabel="Z/U update", ylabel="‖W − Z‖ / ‖W‖", yscale="log", title="ADMM residual per role")
    ax.legend(fontsize=6, ncol=2 if math.ceil(len(log[0].residual_per_role) / 8) > 1 else 1)
    fig.tight_layout()
    with atomic_output(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return Path(path)
