"""The effective rank of a set of features (Roy & Vetterli 2007).

For features F [N, d] with singular values σ₁ ≥ ... ≥ σ_k, pᵢ = σᵢ/Σⱼσⱼ and

    erank(F) = exp(-Σᵢ pᵢ log pᵢ),

between 1 (one direction carries everything) and k (all equal). On the penultimate layer's
features it measures how many directions the representation uses: it falls when features
collapse (e.g. late in training toward the class means, Papyan et al. 2020) or when depth
degenerates the signal at initialisation.
"""

from __future__ import annotations

import numpy as np


def effective_rank(features, center: bool = False) -> float:
    """exp of the entropy of the normalised singular values of ``features`` [N, d] (more
    axes are flattened into d); ``center`` subtracts the mean feature first."""
    f = np.asarray(features, np.float64)
    f = f.reshape(len(f), -1)
    if center:
        f = f - f.mean(0)
    s = np.linalg.svd(f, compute_uv=False)
    total = s.sum()
    if total <= 0 or not np.isfinite(total):
        return float("nan") if not np.isfinite(total) else 0.0
    p = s[s > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))
