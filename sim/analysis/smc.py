"""Sequential Monte Carlo with likelihood tempering, for an expensive stochastic simulator.

A population of particles (sets of parameters) moves from the prior to the posterior through a chain
of tempered targets prior x likelihood^beta, beta rising from 0 to 1 (Del Moral, Doucet & Jasra 2006,
"Sequential Monte Carlo samplers", JRSS B 68:411; adaptive steps as in Jasra et al. 2011, Scand. J.
Stat. 38:1; the ABC counterpart is Toni et al. 2009, J. R. Soc. Interface 6:187). Each step:

1. **Reweight**: the next beta is the largest for which the effective sample size of the incremental
   weights exp((beta' - beta) * log-likelihood) stays at ``target_fraction`` of the particles
   (found by bisection), so the population never collapses onto a few particles;
2. **Resample** (systematic) to equal weights;
3. **Move**: ``moves`` Metropolis-Hastings steps for every particle at once, a Gaussian random walk in
   the logit of the unit cube (the priors are uniform over their ranges) scaled by the population's
   own covariance (2.38^2 / d, Roberts & Rosenthal 2001), the scale adapted to the acceptance rate.

The likelihood is a Monte Carlo estimate. Evaluated with the same random numbers at every point
(common random numbers), it is a fixed function of the parameters, so a particle's value is kept
when it does not move, and the sampler targets prior x that estimated likelihood exactly.

Plain arrays in and out: ``log_likelihood(unit_points) -> (points, cases)`` is the only contact with the
simulator, so the sampler can be tested against posteriors known in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: How far from 0 and 1 a point of the unit cube is kept, so that its logit is finite.
EDGE = 1e-9


@dataclass
class SMCResult:
    """The final population, equally weighted, with how it got there."""

    particles: np.ndarray                 # (particles, dimensions) in the unit cube
    log_likelihood: np.ndarray            # (particles, cases) of each final particle
    betas: list[float] = field(default_factory=list)          # the tempering ladder, from 0 to 1
    ess: list[float] = field(default_factory=list)            # effective sample size after each reweighting
    acceptance: list[float] = field(default_factory=list)     # share of moves accepted, per step
    evaluations: int = 0                  # points at which the likelihood was estimated
    log_evidence: float = 0.0             # estimate of log p(data), the prior's normaliser of the posterior
    final_ess: float = 0.0                # effective sample size of the last reweighting (at beta = 1)

    @property
    def distinct(self) -> int:
        """Distinct particles in the final population."""
        return int(np.unique(self.particles, axis=0).shape[0])


def effective_sample_size(log_weights: np.ndarray) -> float:
    """Kish's effective sample size of unnormalised log-weights."""
    weights = np.exp(log_weights - np.max(log_weights))
    return float(weights.sum() ** 2 / np.sum(weights**2))


def next_beta(total: np.ndarray, beta: float, target: float, tolerance: float = 1e-6) -> float:
    """The largest beta' in (beta, 1] at which the incremental weights exp((beta' - beta) * total) keep an
    effective sample size of at least ``target``: 1 if they keep it all the way."""
    if effective_sample_size((1.0 - beta) * total) >= target:
        return 1.0
    low, high = beta, 1.0
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        if effective_sample_size((middle - beta) * total) >= target:
            low = middle
        else:
            high = middle
    return max(low, beta + tolerance)


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a systematic resample of normalised weights (one uniform draw; Kitagawa 1996)."""
    count = weights.size
    positions = (rng.random() + np.arange(count)) / count
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions, side="left")


def to_logit(unit: np.ndarray) -> np.ndarray:
    clipped = np.clip(unit, EDGE, 1 - EDGE)
    return np.log(clipped) - np.log1p(-clipped)


def to_unit(logit: np.ndarray) -> np.ndarray:
    return np.clip(1.0 / (1.0 + np.exp(-logit)), EDGE, 1 - EDGE)


def log_jacobian(unit: np.ndarray) -> np.ndarray:
    """log |d unit / d logit| summed over dimensions: the uniform prior seen in logit space."""
    clipped = np.clip(unit, EDGE, 1 - EDGE)
    return np.sum(np.log(clipped) + np.log1p(-clipped), axis=1)


def sample(log_likelihood: Callable[[np.ndarray], np.ndarray], start: np.ndarray, rng: np.random.Generator, *,
           target_fraction: float = 0.5, moves: int = 2, max_steps: int = 100,
           report: Callable[[int, float, float, float], None] | None = None) -> SMCResult:
    """Temper from the prior sample ``start`` to the posterior.

    Args:
        log_likelihood: unit-cube points (n, d) -> (n, cases) log-likelihood of each case (summed for the fit).
        start: (particles, d) a sample of the uniform prior over the unit cube (a Sobol' design will do).
        rng: draws the resampling and the moves.
        target_fraction: the effective sample size kept at each reweighting, as a share of the particles.
        moves: Metropolis-Hastings steps per tempering step.
        max_steps: a stop for a ladder that does not reach beta = 1 (raised as an error).
        report: called after each step with (step, beta, effective sample size, acceptance).
    """
    particles = np.asarray(start, dtype=float)
    count, dimensions = particles.shape
    per_case = np.asarray(log_likelihood(particles), dtype=float)
    result = SMCResult(particles, per_case, betas=[0.0], evaluations=count)
    target = target_fraction * count
    beta, scale = 0.0, 2.38 / np.sqrt(dimensions)
    for step in range(1, max_steps + 1):
        total = per_case.sum(axis=1)
        new_beta = next_beta(total, beta, target)
        increment = (new_beta - beta) * total
        result.log_evidence += float(np.log(np.mean(np.exp(increment - increment.max()))) + increment.max())
        ess = effective_sample_size(increment)
        weights = np.exp(increment - increment.max())
        weights /= weights.sum()
        chosen = systematic_resample(weights, rng)
        particles, per_case = particles[chosen], per_case[chosen]
        beta = new_beta
        accepted = 0
        for _ in range(moves):
            logit = to_logit(particles)
            covariance = np.atleast_2d(np.cov(logit, rowvar=False)) + 1e-9 * np.eye(dimensions)
            proposal_logit = logit + scale * rng.multivariate_normal(np.zeros(dimensions), covariance, size=count,
                                                                      method="cholesky")
            proposal = to_unit(proposal_logit)
            proposal_case = np.asarray(log_likelihood(proposal), dtype=float)
            result.evaluations += count
            log_ratio = (beta * (proposal_case.sum(axis=1) - per_case.sum(axis=1))
                         + log_jacobian(proposal) - log_jacobian(particles))
            accept = np.log(rng.random(count)) < log_ratio
            particles = np.where(accept[:, None], proposal, particles)
            per_case = np.where(accept[:, None], proposal_case, per_case)
            rate = float(accept.mean())
            accepted += int(accept.sum())
            # keep the acceptance near a quarter (Roberts, Gelman & Gilks 1997)
            scale *= float(np.exp(rate - 0.25))
        acceptance = accepted / (moves * count) if moves else 0.0
        result.betas.append(beta)
        result.ess.append(ess)
        result.acceptance.append(acceptance)
        if report is not None:
            report(step, beta, ess, acceptance)
        if beta >= 1.0:
            result.final_ess = ess
            result.particles, result.log_likelihood = particles, per_case
            return result
    raise RuntimeError(f"the tempering did not reach the posterior in {max_steps} steps (beta {beta:.3g})")
