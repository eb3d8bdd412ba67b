"""ADMM training towards block-circulant weights (E-RNN §IV; papers.md "ADMM", standard scaled form).

    minimize f(W)  subject to  W_l ∈ S_l(k_l)   (S_l: cropped block-circulant matrices of block size k_l)

    W-step: train on f(W) + Σ_l ρ/2 ‖W_l − Z_l + U_l‖²  (any optimizer, e.g. the Adam of rnnaccel.train)
    Z-step: Z_l = Π_S(W_l + U_l)                          (Euclidean projection, per-diagonal means)
    U-step: U_l ← U_l + W_l − Z_l

ρ grows geometrically, ρ_i = min(ρ_0·γ^i, ρ_max). Because U is the *scaled* dual (U = λ/ρ), U is
rescaled by ρ_i/ρ_{i+1} when ρ changes so the unscaled dual λ is unchanged (Boyd et al. 2011, §3.4.1).
Z is held as defining vectors ``(p, q, k)``, so the hard projection after ADMM copies them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnaccel.compress.roles import Role, iter_roles, to_block_circulant
from rnnaccel.nn import BlockSizeSpec, block_circulant_vectors, expand_block_circulant

__all__ = ["ADMMSchedule", "ADMMState", "IterationLog"]


@dataclass(frozen=True)
class ADMMSchedule:
    """ρ schedule and loop lengths. Defaults are assumed (E-RNN's values are not published)."""

    iterations: int = 6
    epochs_per_iteration: int = 1
    rho0: float = 0.01
    rho_growth: float = 2.0
    rho_max: float = 10.0

    def __post_init__(self) -> None:
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 1:
            raise ValueError(f"iterations must be an int >= 1, got {self.iterations!r}")
        if not isinstance(self.epochs_per_iteration, int) or self.epochs_per_iteration < 1:
            raise ValueError(f"epochs_per_iteration must be an int >= 1, got {self.epochs_per_iteration!r}")
        if not self.rho0 > 0 or not self.rho_max >= self.rho0:
            raise ValueError(f"need 0 < rho0 <= rho_max, got rho0={self.rho0!r}, rho_max={self.rho_max!r}")
        if not self.rho_growth >= 1:
            raise ValueError(f"rho_growth must be >= 1 (an increasing schedule), got {self.rho_growth!r}")

    def rho(self, iteration: int) -> float:
        """ρ used in the W-step of ADMM iteration ``iteration`` (0-based)."""
        return min(self.rho0 * self.rho_growth ** iteration, self.rho_max)


@dataclass(frozen=True)
class IterationLog:
    """One ADMM iteration: ρ of its W-step and the relative residual ‖W − Z‖/‖W‖ after its Z-step."""

    iteration: int
    rho: float
    residual: float
    residual_per_role: dict[str, float] = field(default_factory=dict)


class ADMMState:
    """Z (defining vectors) and scaled duals U for every constrained role of a dense model.

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

    def z_dense(self, key: str) -> Tensor:
        """Z of role ``key`` as its dense ``(out, in)`` matrix."""
        w = self._role(key).module.weight
        return expand_block_circulant(self.z[key], w.shape[0], w.shape[1])

    def _role(self, key: str) -> Role:
        return next(r for r in self.roles if r.key == key)

    def penalty(self, model: nn.Module | None = None) -> Tensor:
        """Σ_l ρ/2 ‖W_l − Z_l + U_l‖² (the W-step's extra loss; ``model`` is ignored, for train callbacks)."""
        total = 0.0
        for r in self.roles:
            diff = r.module.weight - self.z_dense(r.key) + self.u[r.key]
            total = total + diff.pow(2).sum()
        return 0.5 * self.rho * total

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
        return entry

    def hard_project(self) -> nn.Module:
        """Turn every constrained role into a ``BlockCirculantLinear`` whose weights are exactly Z."""
        return to_block_circulant(self.model, self.block_size, self.z)
