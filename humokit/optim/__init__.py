"""humokit.optim: recovering world-grounded motion from monocular video (and, in ``physics``, fixing it).

Pipeline modules:

- :mod:`~humokit.optim.video`: PyAV decoding, rotation metadata, constant-rate resampling.
- :mod:`~humokit.optim.keypoints`: the :class:`KeypointDetector` interface and MediaPipe Pose.
- :mod:`~humokit.optim.track`: one person's track, gap filling, confidence-weighted one-euro smoothing.
- :mod:`~humokit.optim.landmarks`: detector landmarks <-> the 22 canonical joints.
- :mod:`~humokit.optim.camera_model`: the static gravity-aligned camera;
  :mod:`~humokit.optim.camera_motion`: a moving camera's turns and travel from the background.
- :mod:`~humokit.optim.priors`: pose prior, joint limits, learned-prior hook;
  :mod:`~humokit.optim.pose_gmm`: the mixture-of-Gaussians pose prior learned from mocap (the default).
- :mod:`~humokit.optim.fit`: the temporal fit; :mod:`~humokit.optim.contacts`: foot contacts.
- :mod:`~humokit.optim.lift`: the learned temporal prior (a 2D -> 3D lifting network, the fit's warm start
  and prior term); :mod:`~humokit.optim.lift_data`: its training pairs from projected mocap;
  :mod:`~humokit.optim.lift_train`: its trainer (``python -m humokit.optim.lift_train``).
- :mod:`~humokit.optim.recover`: the whole pipeline and its outputs; :mod:`~humokit.optim.preview`: MP4 preview.
- :mod:`~humokit.optim.metrics`: MPJPE, PA-MPJPE, W-MPJPE, acceleration error, foot skating, jitter.
- :mod:`~humokit.optim.physics`: plausibility metrics, kinematic projection, MuJoCo tracking and
  physics-guided sampling of the text-to-motion priors (``humokit generate``).

Gaussian-avatar training moved to :mod:`humokit.avatars.fit` (the old names here warn for one release).

Names are imported on first use so ``import humokit.optim.physics`` stays light.
"""

from __future__ import annotations

import importlib

from humokit import _deprecated

_EXPORTS = {
    "KeypointDetector": "keypoints", "MediaPipeDetector": "keypoints", "PersonKeypoints": "keypoints",
    "has_mediapipe": "keypoints", "create_detector": "keypoints",
    "KeypointTrack": "track", "detect_track": "people", "clean_track": "track",
    "recover_people": "recover", "save_people": "recover", "detect_people": "people",
    "FitConfig": "fit", "FitResult": "fit", "fit_track": "fit",
    "GaussianPosePrior": "priors", "LearnedMotionPrior": "priors", "MotionPrior": "priors",
    "GMMPosePrior": "pose_gmm", "fit_pose_gmm": "pose_gmm",
    "Recovery": "recover", "recover_video": "recover", "save_recovery": "recover",
    "CameraMotion": "camera_motion", "estimate_camera_motion": "camera_motion",
    "render_preview": "preview", "probe_video": "video", "iter_frames": "video", "VideoInfo": "video",
}  # fmt: skip

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"humokit.optim.{_EXPORTS[name]}"), name)
    return _deprecated.moved_name(__name__, name)
