"""A Gaussian-mixture pose prior learned from mocap (SMPLify-style), for fitting.

The hand-set :class:`~humokit.optim.priors.GaussianPosePrior` treats every
joint on its own; real poses are correlated (a hip flexed forward comes with a
bent knee in gait, arms swing against legs). :class:`GMMPosePrior` is a
mixture of full-covariance Gaussians over the 21 local axis-angle rotations
(joints 1..21, 63 numbers, radians; the pelvis's global orientation is left
free), fitted with scikit-learn's EM on frames of training motions
(:func:`fit_pose_gmm`). As a fitting loss it is the per-frame negative
log-likelihood up to a constant, averaged over frames.

The shipped mixture (``humokit/checkpoints/pose_gmm.npz``, loaded by
:func:`default_pose_prior`) was made from the train split of the project's
mocap dataset::

    python -m humokit.optim.pose_gmm --data ~/humokit_data/v1 -o humokit/checkpoints/pose_gmm.npz
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import roma
import torch

from humokit._io import atomic_path
from humokit.errors import FileFormatError, HumokitError, InputError, MissingDependencyError, exit_error
from humokit.motion.motion import Motion
from humokit.optim.priors import GaussianPosePrior, MotionPrior

NUM_POSE = 63  # 21 joints x axis-angle
SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "pose_gmm.npz"


def pose_vectors(R_local: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``(T, 22, 3, 3)`` local rotations -> ``(T, 63)`` axis-angle of joints 1..21 (radians)."""
    R = torch.as_tensor(R_local)
    return roma.rotmat_to_rotvec(R[:, 1:]).reshape(R.shape[0], -1)


class GMMPosePrior:
    """Mixture-of-Gaussians pose prior; a :class:`~humokit.optim.priors.MotionPrior`.

    Args:
        weights: ``(K,)`` mixture weights (sum 1).
        means: ``(K, 63)`` component means (axis-angle, radians).
        covariances: ``(K, 63, 63)`` symmetric positive definite.
    """

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> None:
        w, mu, cov = (np.asarray(a, dtype=np.float64) for a in (weights, means, covariances))
        K = len(w)
        if K < 1 or w.shape != (K,) or mu.shape != (K, NUM_POSE) or cov.shape != (K, NUM_POSE, NUM_POSE):
            raise InputError(f"GMMPosePrior: expected weights (K,), means (K, {NUM_POSE}), covariances "
                             f"(K, {NUM_POSE}, {NUM_POSE}); got {w.shape}, {mu.shape}, {cov.shape}")  # fmt: skip
        if not (np.isfinite(w).all() and np.isfinite(mu).all() and np.isfinite(cov).all()) or (w <= 0).any():
            raise InputError("GMMPosePrior: weights must be positive and all values finite")
        try:
            L = np.linalg.cholesky(np.linalg.inv(cov))  # precision = L L^T
        except np.linalg.LinAlgError:
            raise InputError("GMMPosePrior: a covariance is not positive definite") from None
        self.weights, self.means, self.covariances = w / w.sum(), mu, cov
        self._L = torch.as_tensor(L, dtype=torch.float32)
        self._mu = torch.as_tensor(mu, dtype=torch.float32)
        # log w_k + log det(L_k): the component constants (the shared 2*pi term dropped)
        c = np.log(self.weights) + np.log(np.diagonal(L, axis1=1, axis2=2)).sum(1)
        self._c = torch.as_tensor(c - c.max(), dtype=torch.float32)

    def nll(self, pose: torch.Tensor) -> torch.Tensor:
        """``(T, 63)`` axis-angle -> ``(T,)`` negative log-likelihood in nats, up to one constant."""
        y = ((pose[None] - self._mu.to(pose)[:, None]) @ self._L.to(pose)).transpose(0, 1)  # (T, K, 63)
        return -torch.logsumexp(self._c.to(pose) - 0.5 * y.pow(2).sum(-1), dim=-1)

    def __call__(self, R_local: torch.Tensor, root: torch.Tensor, fps: float, *,
                 rotvec: torch.Tensor | None = None) -> torch.Tensor:
        pose = pose_vectors(R_local) if rotvec is None else rotvec[:, 1:].reshape(rotvec.shape[0], -1)
        return self.nll(pose).mean()

    def save(self, path: str | Path) -> Path:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, weights=self.weights.astype(np.float32), means=self.means.astype(np.float32),
                         covariances=self.covariances.astype(np.float32))  # fmt: skip
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> GMMPosePrior:
        p = Path(path)
        try:
            with np.load(p) as d:
                arrays = {k: d[k] for k in ("weights", "means", "covariances")}
        except FileNotFoundError:
            raise FileFormatError(p, "file not found") from None
        except KeyError as e:
            raise FileFormatError(p, f"not a pose GMM (missing {e})") from None
        except (OSError, ValueError) as e:
            raise FileFormatError(p, f"not a readable .npz ({e})") from None
        try:
            return cls(**arrays)
        except InputError as e:
            raise FileFormatError(p, str(e)) from None


def fit_pose_gmm(motions: Iterable[Motion], *, components: int = 8, stride: int = 6, seed: int = 0,
                 reg: float = 1e-4) -> GMMPosePrior:  # fmt: skip
    """Fit a :class:`GMMPosePrior` to every ``stride``-th frame of ``motions`` (EM, full covariances).

    ``reg`` (radians^2) is added to the covariance diagonals. Needs scikit-learn.
    """
    try:
        from sklearn.mixture import GaussianMixture
    except ImportError:
        raise MissingDependencyError("scikit-learn (to fit a pose GMM)", "fit") from None
    X = [pose_vectors(m.rotations[::stride]).numpy() for m in motions if len(m) > 0]
    if not X:
        raise InputError("fit_pose_gmm: no motion frames")
    data = np.concatenate(X).astype(np.float64)
    if len(data) < 10 * components:
        raise InputError(f"fit_pose_gmm: {len(data)} frames are too few for {components} components")
    g = GaussianMixture(components, covariance_type="full", reg_covar=reg, random_state=seed, max_iter=200).fit(data)
    return GMMPosePrior(g.weights_, g.means_, g.covariances_)


def default_pose_prior() -> MotionPrior:
    """The shipped :class:`GMMPosePrior`, or :class:`~humokit.optim.priors.GaussianPosePrior` if it is missing."""
    return GMMPosePrior.load(SHIPPED) if SHIPPED.is_file() else GaussianPosePrior()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Fit the pose GMM prior on the train split of a humokit dataset.")
    ap.add_argument("--data", required=True, help="dataset folder (train.txt, motions/*.npz)")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--components", type=int, default=8)
    ap.add_argument("--stride", type=int, default=6)
    args = ap.parse_args(argv)
    root = Path(args.data).expanduser()
    from tqdm import tqdm

    from humokit.motion.dataset import split_names

    try:
        names = split_names(root, "train")
        motions = [Motion.load(root / "motions" / f"{n}.npz") for n in tqdm(names, desc="motions")]
        prior = fit_pose_gmm(motions, components=args.components, stride=args.stride)
        prior.save(args.output)
    except HumokitError as e:
        exit_error(str(e))
    print(f"{args.output}: {len(prior.weights)} components from {len(motions)} train motions")


if __name__ == "__main__":
    main()
