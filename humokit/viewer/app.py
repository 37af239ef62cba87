"""The browser viewer: a viser server showing motions, bodies, GLBs and Gaussian splats.

:class:`ViewerApp` owns one ``viser.ViserServer`` (bound to 127.0.0.1 unless
told otherwise) and a timeline shared by all loaded motions. Each motion is a
*track*: an animated body mesh, a skeleton overlay, its root trajectory and
foot-contact markers. Tracks stand side by side in lanes along +X (each
motion's start moved to its lane, lanes as wide as the motion's sideways
extent plus ``spacing``), or all in their own coordinates when the "Side by
side" toggle is off; each can be hidden. The Capture panel writes a PNG
screenshot of the browser view and an MP4 of the whole timeline rendered
here with humokit's rasterizer from the browser's current camera.

Body animation modes (``skinning=``):

- ``"client"`` (default): the mesh is sent once with 22 bones and the
  browser skins it (three.js, 4 weights per vertex); a frame update sends
  22 bone poses (~1 kB).
- ``"server"``: humokit's LBS runs here and the posed vertices are streamed
  (13.7k x 3 float32 = 165 kB per frame for Anny).

Every user-caused problem (bad file, missing optional module) is logged and
shown in the browser as a notification plus the status line; the server
keeps running.

Example::

    app = ViewerApp("127.0.0.1", 8080)
    app.add_motion(builtin_motion("walk"), "walk")
    app.serve_forever()
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import torch

from humokit.errors import HumokitError, InputError, MissingDependencyError
from humokit.motion.contacts import detect_contacts
from humokit.motion.motion import Motion
from humokit.motion.skeleton import FOOT_JOINTS, PARENTS, forward_kinematics
from humokit.viewer._guard import HandshakeGuard, guarded_serve, is_loopback_host, new_token
from humokit.viewer._roots import ServerRoots
from humokit.viewer._scene_math import (
    CameraPreset,
    bone_segments,
    camera_preset,
    skinning_bones,
    timeline_frame,
    top4_weights,
)

log = logging.getLogger("humokit.viewer")

BODY_COLOR = (205, 180, 160)
SKELETON_COLOR = (30, 110, 220)
TRAJECTORY_COLOR = (230, 120, 30)
CONTACT_ON, CONTACT_OFF = (230, 40, 40), (150, 150, 150)
CAMERA_FOV_DEG = 50.0
MAX_UPLOAD_BYTES = 200 * 2**20
_SUFFIXES = (".npz", ".bvh", ".glb", ".ply", ".obj", ".stl")


def _safe_name(name: str) -> str:
    """A file name from a display name: letters, digits, ``-_.`` only; never ``.``/``..``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return safe or "motion"


def has_viser() -> bool:
    """True when the optional ``viser`` package (``humokit[viewer]``) is importable."""
    return importlib.util.find_spec("viser") is not None


def has_generator() -> bool:
    """True when a text-to-motion generator (``humokit.priors.generate``) is installed."""
    try:
        if importlib.util.find_spec("humokit.priors") is None:
            return False
        return callable(getattr(importlib.import_module("humokit.priors"), "generate", None))
    except Exception:  # noqa: BLE001 - a broken optional module means "not available"
        return False


def has_exporter() -> bool:
    """True when ``humokit.export.export_motion`` exists."""
    try:
        mod = importlib.import_module("humokit.export")
    except ImportError:
        return False
    return callable(getattr(mod, "export_motion", None))


@dataclass
class _Track:
    """One motion on screen; arrays are in the track's local frame (before its x offset)."""

    key: str
    name: str
    motion: Motion
    offset: np.ndarray
    joints: np.ndarray  # (T, 22, 3) body joints, metres
    bone_wxyz: np.ndarray  # (T, 22, 4)
    bone_pos: np.ndarray  # (T, 22, 3)
    contacts: np.ndarray  # (T, 4) bool
    handles: dict[str, Any] = field(default_factory=dict)
    shown: int = -1
    visible: bool = True
    # server skinning only
    R_local: torch.Tensor | None = None
    root: torch.Tensor | None = None


@dataclass
class _AvatarTrack:
    """A Gaussian avatar driven by a track's motion: one splat node per sampled frame."""

    track: _Track
    every: int
    nodes: list[Any]
    shown: int = -1


class ViewerApp:
    """A running browser viewer.

    Args:
        server_host: interface to bind; ``"127.0.0.1"`` (default) keeps it
            private to this machine (use an SSH tunnel); ``"0.0.0.0"`` exposes
            it to the network and logs a warning.
        port: TCP port; 0 picks a free one (see :attr:`port`).
        body: body model name for motions (``"anny"``, ``"smpl"``, ...).
        skinning: ``"client"`` (bones, skinned in the browser) or ``"server"``
            (vertices streamed each frame).
        spacing: metres of free floor between the lanes of motions placed side by side along +X.
        play: start playing as soon as a motion is loaded.
    """

    def __init__(
        self,
        server_host: str = "127.0.0.1",
        port: int = 8080,
        *,
        body: str = "anny",
        skinning: Literal["client", "server"] = "client",
        spacing: float = 0.3,
        play: bool = True,
        verbose: bool = False,
        roots: Iterable[str | Path] = (),
        token: str | None = None,
        allow_generate: bool = False,
    ) -> None:
        if not has_viser():
            raise MissingDependencyError("the browser viewer (viser)", "viewer")
        if skinning not in ("client", "server"):
            raise InputError(f"skinning must be 'client' or 'server', got {skinning!r}")
        if not 0 <= int(port) <= 65535:
            raise InputError(f"port must be in 0..65535, got {port}")
        if not is_loopback_host(server_host):
            token = token or new_token()
            log.warning("viewer bound to %s: anyone on the network with its URL (session token) can open it",
                        server_host)
        import viser

        self._viser = viser
        self.token = token
        self.roots = ServerRoots.of(roots)
        self.allow_generate = bool(allow_generate)
        guard = HandshakeGuard(server_host, token)
        import contextlib
        import io

        quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
        with guarded_serve(guard), quiet:  # viser's address box is not for stdout; the CLI prints the URL
            self.server = viser.ViserServer(host=server_host, port=int(port), label="humokit", verbose=verbose)
        if not guard.installed.is_set():  # fail closed: this viser no longer builds on websockets.serve
            self.server.stop()
            raise HumokitError("this viser version cannot be guarded (origin check); install viser 1.1")
        self.skinning = skinning
        self.spacing = float(spacing)
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._tracks: list[_Track] = []
        self._objects: dict[str, Any] = {}
        self._avatars: list[_AvatarTrack] = []
        self._body_name = body
        self._shape: dict[str, float] | None = None
        self._rest = None
        self._mesh_faces: np.ndarray | None = None
        self._next_id = 0
        # timeline state
        self._t = 0.0
        self._playing = play
        self._speed = 1.0
        self._loop = True
        self._camera_mode: CameraPreset | None = None
        self._side_by_side = True
        self._syncing_slider = False
        self._stop = threading.Event()

        self.server.scene.set_up_direction("+y")
        self._grid = self.server.scene.add_grid(
            "/grid", 20.0, 20.0, plane="xz", cell_size=0.5, section_size=1.0, shadow_opacity=0.2
        )
        self._set_initial_camera(camera_preset("three_quarter", np.array([[-0.5, 0.0, -0.5], [0.5, 1.8, 0.5]])))
        self._build_gui()
        self.server.on_client_connect(self._on_connect)
        self._thread = threading.Thread(target=self._play_loop, name="humokit-viewer-play", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ properties
    @property
    def host(self) -> str:
        return self.server.get_host()

    @property
    def port(self) -> int:
        return self.server.get_port()

    @property
    def url(self) -> str:
        """Address to open; carries the session token when there is one."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}/"
        return f"{base}?token={self.token}" if self.token else base

    @property
    def motions(self) -> dict[str, Motion]:
        """Loaded motions by display name."""
        return {t.name: t.motion for t in self._tracks}

    @property
    def timeline_fps(self) -> float:
        return max((t.motion.fps for t in self._tracks), default=30.0)

    @property
    def num_frames(self) -> int:
        """Timeline length in frames of :attr:`timeline_fps` (the longest motion)."""
        fps = self.timeline_fps
        return max((int(round(t.motion.duration * fps)) for t in self._tracks), default=1)

    @property
    def frame(self) -> int:
        return int(round(self._t * self.timeline_fps))

    # ------------------------------------------------------------ public API
    def load(self, path: str | Path, *, errors: Literal["report", "raise"] = "report") -> str | None:
        """Open a file (motion .npz/.bvh/.fbx/.gltf/animated .glb, other .glb, Gaussian or mesh .ply) in the scene.

        Returns the name shown in the viewer, or None after reporting an error
        (``errors="report"``: log + browser notification; the viewer keeps running).
        """
        from humokit.viewer import _loading

        path = Path(str(path).strip()).expanduser()
        try:
            kind = _loading.classify(path)
            if kind == "motion":
                return self.add_motion(_loading.load_motion(path), path.stem)
            if kind == "glb":
                return self.add_glb(_loading.read_glb(path), path.stem)
            if kind == "splats":
                from humokit.render.splats import read_gaussian_ply

                return self.add_splats(read_gaussian_ply(path), path.stem)
            return self._add_mesh_file(path)
        except Exception as exc:  # noqa: BLE001 - any failure is shown, the server lives on
            if errors == "raise":
                raise
            where = "could not open" if str(path) in str(exc) else f"could not open {path}"
            self.report_error(where, exc)
            return None

    def add_motion(self, motion: Motion, name: str = "motion") -> str:
        """Show ``motion`` with the current body; returns its (unique) display name."""
        if not isinstance(motion, Motion):
            raise InputError(f"add_motion expects a Motion, got {type(motion).__name__}")
        if motion.num_frames == 0:
            raise InputError(f"{name}: the motion has no frames")
        with self._lock:
            rest = self._rest_body()
            key = self._new_key("m")
            name = self._unique_name(name)
            track = self._make_track(key, name, motion, np.zeros(3), rest)
            self._tracks.append(track)
            self._layout_tracks()
            self._add_track_nodes(track, rest)
            self._add_visibility_toggle(track)
            self._after_tracks_changed(frame_all=True)
        log.info("added motion %s (%d frames at %g fps)", name, motion.num_frames, motion.fps)
        return name

    def add_glb(self, glb: bytes, name: str = "glb") -> str:
        """Show a binary glTF asset at the origin."""
        with self._lock:
            name = self._unique_name(name)
            self._objects[name] = self.server.scene.add_glb(f"/objects/{self._new_key('g')}", glb)
            self._refresh_lists()
        return name

    def add_splats(self, splats: Any, name: str = "splats") -> str:
        """Show :class:`~humokit.render.splats.GaussianSplats` at the origin."""
        if splats.num_gaussians == 0:
            raise InputError(f"{name}: no Gaussians to show")
        with self._lock:
            name = self._unique_name(name)
            self._objects[name] = self.server.scene.add_gaussian_splats(
                f"/objects/{self._new_key('s')}",
                centers=splats.centers,
                covariances=splats.covariances,
                rgbs=splats.rgbs,
                opacities=splats.opacities,
            )
            self._refresh_lists()
        return name

    def add_avatar(self, avatar: Any, motion: Motion, name: str = "avatar", *, every: int = 1) -> str:
        """Show a Gaussian avatar (:mod:`humokit.avatars.gaussian_avatar`) performing ``motion``.

        The avatar is posed on the server for every ``every``-th frame and each
        pose is sent once as a splat node; the timeline shows the node of the
        current frame. The motion's body mesh is hidden (toggle it in Layers).
        """
        from humokit.avatars.gaussian_avatar import avatar_splats_per_frame

        if every < 1:
            raise InputError(f"add_avatar: every must be >= 1, got {every}")
        name = self.add_motion(motion, name)
        splats = avatar_splats_per_frame(avatar, motion, every=every)
        with self._lock:
            track = next(t for t in self._tracks if t.name == name)
            track.handles["body"].visible = False
            nodes = []
            for k, sp in enumerate(splats):
                node = self.server.scene.add_gaussian_splats(
                    f"/motions/{track.key}/avatar_{k:05d}",  # under the track's frame: moves with its lane
                    centers=sp.centers,
                    covariances=sp.covariances,
                    rgbs=sp.rgbs,
                    opacities=sp.opacities,
                    visible=False,
                )
                nodes.append(node)
            self._avatars.append(_AvatarTrack(track, every, nodes))
            self._show()
        return name

    def set_frame(self, i: int) -> None:
        """Show timeline frame ``i`` (clamped) on every motion and move the slider there."""
        with self._lock:
            n = self.num_frames
            i = int(min(max(int(i), 0), max(n - 1, 0)))
            self._t = i / self.timeline_fps
            self._show()

    def play(self, playing: bool = True) -> None:
        self._playing = bool(playing)
        self._gui["play"].label = "Pause" if self._playing else "Play"

    def set_body(self, body: str, shape: dict[str, float] | None = None) -> None:
        """Switch the body model (and Anny phenotype) for all motions."""
        from humokit.body import create_body

        with self._lock:
            bm = create_body(body)
            rest = bm.rest(shape if shape is not None else bm.default_shape())
            self._body_name, self._shape, self._rest = body, shape, rest
            self._mesh_faces = None
            old = list(self._tracks)
            for tr in old:
                tr.handles["frame"].remove()  # children go with it
            self._tracks = [self._make_track(t.key, t.name, t.motion, t.offset, rest) for t in old]
            for tr, was in zip(self._tracks, old):
                tr.visible = was.visible
                tr.handles["toggle"] = was.handles.get("toggle")
            self._layout_tracks()
            for tr in self._tracks:
                self._add_track_nodes(tr, rest)
            self._after_tracks_changed(frame_all=False)

    def set_camera(self, preset: CameraPreset) -> None:
        """Move every connected browser's camera to a preset (``follow`` keeps tracking)."""
        pose = self._camera_pose(preset)
        self._camera_mode = preset if preset == "follow" else None
        for client in self.server.get_clients().values():
            with client.atomic():
                client.camera.up_direction = (0.0, 1.0, 0.0)
                client.camera.position = pose.position
                client.camera.look_at = pose.look_at

    def report_error(self, what: str, exc: BaseException | str) -> None:
        """Log an error and show it in every browser (notification + status line)."""
        msg = str(exc) if isinstance(exc, HumokitError) or isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        text = f"{what}: {msg}" if what else msg
        if isinstance(exc, BaseException) and not isinstance(exc, (HumokitError, OSError)):
            log.error("%s", text, exc_info=exc)
        else:
            log.error("%s", text)
        self.errors.append(text)
        self._gui["status"].content = f"**Error:** {text}"
        for client in self.server.get_clients().values():
            self._notify(client, "Error", text, error=True)

    def report_info(self, text: str) -> None:
        log.info("%s", text)
        self._gui["status"].content = text
        for client in self.server.get_clients().values():
            self._notify(client, "humokit", text, error=False)

    def stop(self) -> None:
        """Stop playback and the server (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=2.0)
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # viser's "Server stopped" line (its thread, on join)
            self.server.stop()

    def serve_forever(self) -> None:
        """Block until Ctrl-C, then stop."""
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> "ViewerApp":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ tracks
    def _rest_body(self) -> Any:
        if self._rest is None:
            from humokit.body import create_body

            bm = create_body(self._body_name)
            self._rest = bm.rest(self._shape if self._shape is not None else bm.default_shape())
        return self._rest

    def _make_track(self, key: str, name: str, motion: Motion, offset: np.ndarray, rest: Any) -> _Track:
        from humokit.body import BodyModel

        scale = BodyModel.root_scale_for(rest, motion)
        R = torch.from_numpy(motion.rotations)
        root = torch.from_numpy(motion.root_position) * scale
        offsets = torch.as_tensor(rest.skeleton.offsets, dtype=torch.float32)
        with torch.no_grad():
            joints, R_world = forward_kinematics(R, root, offsets, PARENTS)
        joints_np = joints.numpy()
        wxyz, pos = skinning_bones(R_world.numpy(), joints_np, rest.R_rest_to_canonical.numpy())
        if motion.contacts is not None:
            contacts = motion.contacts
        else:
            contacts = detect_contacts(joints_np, motion.fps, sole=rest.skeleton.sole_heights())
        tr = _Track(key, name, motion, offset, joints_np, wxyz, pos, contacts)
        if self.skinning == "server":
            tr.R_local, tr.root = R, root
        return tr

    def _add_track_nodes(self, tr: _Track, rest: Any) -> None:
        scene = self.server.scene
        base = f"/motions/{tr.key}"
        show = {k: self._gui[f"layer_{k}"].value for k in ("body", "skeleton", "trajectory", "contacts")}
        tr.handles["frame"] = scene.add_frame(base, show_axes=False, position=tr.offset, visible=tr.visible)
        verts = rest.vertices.numpy().astype(np.float32)
        faces = rest.faces.numpy().astype(np.uint32)
        if self.skinning == "client":
            if self._mesh_faces is None:
                self._weights4 = top4_weights(rest.weights.numpy())
                self._mesh_faces = faces
            tr.handles["body"] = scene.add_mesh_skinned(
                f"{base}/body",
                verts,
                faces,
                bone_wxyzs=np.tile(np.array([1.0, 0, 0, 0], dtype=np.float32), (len(PARENTS), 1)),
                bone_positions=rest.joints.numpy().astype(np.float32),
                skin_weights=self._weights4,
                color=BODY_COLOR,
                visible=show["body"],
            )
        else:
            tr.handles["body"] = scene.add_mesh_simple(
                f"{base}/body", verts, faces, color=BODY_COLOR, visible=show["body"]
            )
        segs = bone_segments(tr.joints[0]).astype(np.float32)
        tr.handles["skeleton"] = scene.add_line_segments(
            f"{base}/skeleton", segs, colors=SKELETON_COLOR, thickness=0.012, visible=show["skeleton"]
        )
        root_xz = tr.joints[:, 0].copy()
        root_xz[:, 1] = 0.005
        if len(root_xz) < 2:
            root_xz = np.concatenate([root_xz, root_xz])
        traj = np.stack([root_xz[:-1], root_xz[1:]], axis=1).astype(np.float32)
        tr.handles["trajectory"] = scene.add_line_segments(
            f"{base}/trajectory", traj, colors=TRAJECTORY_COLOR, thickness=0.015, visible=show["trajectory"]
        )
        tr.handles["contacts"] = scene.add_point_cloud(
            f"{base}/contacts",
            points=tr.joints[0, list(FOOT_JOINTS)].astype(np.float32),
            colors=np.array([CONTACT_OFF] * 4, dtype=np.uint8),
            point_size=0.035,
            point_shape="circle",
            visible=show["contacts"],
        )
        tr.shown = -1

    def _show(self) -> None:
        """Push the current timeline time to the scene (only tracks whose frame changed)."""
        fps_tl = self.timeline_fps
        with self.server.atomic():
            for tr in self._tracks:
                i = timeline_frame(self._t, tr.motion.fps, tr.motion.num_frames, loop=self._loop)
                if i == tr.shown:
                    continue
                tr.shown = i
                self._pose_track(tr, i)
            for av in self._avatars:
                k = min(av.track.shown // av.every, len(av.nodes) - 1)
                if k != av.shown and av.nodes:
                    if av.shown >= 0:
                        av.nodes[av.shown].visible = False
                    av.nodes[k].visible = True
                    av.shown = k
            tl = min(int(round(self._t * fps_tl)), self._gui["frame"].max)
            if self._gui["frame"].value != tl:
                self._syncing_slider = True
                try:
                    self._gui["frame"].value = tl
                finally:
                    self._syncing_slider = False
        if self._camera_mode == "follow" and self._tracks:
            self._follow()

    def _pose_track(self, tr: _Track, i: int) -> None:
        body = tr.handles["body"]
        if self.skinning == "client":
            for j, bone in enumerate(body.bones):
                bone.wxyz = tr.bone_wxyz[i, j]
                bone.position = tr.bone_pos[i, j]
        else:
            from humokit.body import pose_rest_body

            with torch.no_grad():
                out = pose_rest_body(self._rest_body(), tr.R_local[i : i + 1], tr.root[i : i + 1])
            body.vertices = out.vertices[0].numpy().astype(np.float32)
        tr.handles["skeleton"].points = bone_segments(tr.joints[i]).astype(np.float32)
        h = tr.handles["contacts"]
        h.points = tr.joints[i, list(FOOT_JOINTS)].astype(np.float32)
        h.colors = np.where(tr.contacts[i][:, None], CONTACT_ON, CONTACT_OFF).astype(np.uint8)

    def _after_tracks_changed(self, *, frame_all: bool) -> None:
        n = self.num_frames
        self._gui["frame"].max = max(n - 1, 1)
        self._refresh_lists()
        for tr in self._tracks:
            tr.shown = -1
        self._show()
        if frame_all:
            pose = self._camera_pose("three_quarter")
            self._set_initial_camera(pose)
            for client in self.server.get_clients().values():
                self._apply_camera(client, pose)

    # ------------------------------------------------------------ camera
    def _all_points(self) -> np.ndarray:
        """Every joint of every frame of every motion (world), for whole-scene framing."""
        pts = [tr.joints.reshape(-1, 3) + tr.offset for tr in self._visible_tracks()]
        return np.concatenate(pts) if pts else np.array([[-0.5, 0.0, -0.5], [0.5, 1.8, 0.5]])

    def _current_points(self, tracks: list[_Track] | None = None) -> np.ndarray:
        """Joints of the shown frame of each motion plus their floor projections (world)."""
        pts = []
        for tr in self._visible_tracks() if tracks is None else tracks:
            v = self._posed_vertices(tr, max(tr.shown, 0))  # the surface, not just joints: the head top counts
            pts += [v, v * [1.0, 0.0, 1.0]]
        return np.concatenate(pts) if pts else self._all_points()

    def _overview_points(self, seconds: float = 3.0) -> np.ndarray:
        """Joints of the first ``seconds`` of every motion plus floor projections (world)."""
        pts = []
        for tr in self._visible_tracks():
            n = max(1, min(tr.motion.num_frames, int(seconds * tr.motion.fps)))
            j = tr.joints[:n].reshape(-1, 3) + tr.offset
            pts += [j, j * [1.0, 0.0, 1.0]]
        return np.concatenate(pts) if pts else self._all_points()

    def _camera_pose(self, preset: CameraPreset) -> Any:
        if preset == "three_quarter":
            return camera_preset("three_quarter", self._overview_points(), fov_deg=CAMERA_FOV_DEG, margin=1.1)
        if preset == "top":
            return camera_preset("top", self._all_points(), fov_deg=CAMERA_FOV_DEG)
        tracks = self._tracks[:1] if preset == "follow" else None
        return camera_preset(preset, self._current_points(tracks), fov_deg=CAMERA_FOV_DEG, margin=1.15)

    def _set_initial_camera(self, pose: Any) -> None:
        cam = self.server.initial_camera
        cam.up = (0.0, 1.0, 0.0)
        cam.position = tuple(pose.position)
        cam.look_at = tuple(pose.look_at)
        cam.fov = float(np.deg2rad(CAMERA_FOV_DEG))

    @staticmethod
    def _apply_camera(client: Any, pose: Any) -> None:
        with client.atomic():
            client.camera.up_direction = (0.0, 1.0, 0.0)
            client.camera.position = pose.position
            client.camera.look_at = pose.look_at

    def _follow(self) -> None:
        tr = self._tracks[0]
        target = tr.joints[max(tr.shown, 0), 0] + tr.offset
        for client in self.server.get_clients().values():
            cam = client.camera
            delta = target - np.asarray(cam.look_at)
            if np.linalg.norm(delta) > 1e-4:
                with client.atomic():
                    cam.look_at = np.asarray(cam.look_at) + delta
                    cam.position = np.asarray(cam.position) + delta

    # ------------------------------------------------------------ playback
    def _play_loop(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            try:
                fps = min(max(float(self.timeline_fps), 1.0), 1000.0)  # a wild frame rate must not stall or kill it
                self._stop.wait(min(0.1, max(0.0, 1.0 / fps - (time.perf_counter() - last))))
                now = time.perf_counter()
                dt, last = now - last, now
                if not self._playing or not self._tracks:
                    continue
                with self._lock:
                    self._t += dt * self._speed
                    tl_fps = self.timeline_fps
                    dur = self.num_frames / tl_fps
                    if self._t >= dur:
                        if self._loop:
                            self._t %= dur
                        else:
                            self._t = (self.num_frames - 1) / tl_fps
                            self.play(False)
                    self._show()
            except Exception as exc:  # noqa: BLE001 - keep the server alive
                self._playing = False
                self.report_error("playback stopped", exc)

    # ------------------------------------------------------------ GUI
    def _build_gui(self) -> None:
        gui = self.server.gui
        gui.configure_theme(control_width="medium", show_share_button=False)
        g: dict[str, Any] = {}
        self._gui = g
        g["status"] = gui.add_markdown("Open a motion (.npz, .bvh, .fbx, .glb/.gltf), a .glb scene or a Gaussian .ply.")

        with gui.add_folder("Timeline"):
            g["play"] = gui.add_button("Pause" if self._playing else "Play")
            g["frame"] = gui.add_slider("Frame", min=0, max=1, step=1, initial_value=0)
            g["speed"] = gui.add_slider("Speed", min=0.1, max=3.0, step=0.1, initial_value=1.0)
            g["loop"] = gui.add_checkbox("Loop", initial_value=True)

        @g["play"].on_click
        def _(_: Any) -> None:
            self.play(not self._playing)

        @g["frame"].on_update
        def _(_: Any) -> None:
            if not self._syncing_slider:
                self.set_frame(g["frame"].value)

        @g["speed"].on_update
        def _(_: Any) -> None:
            self._speed = float(g["speed"].value)

        @g["loop"].on_update
        def _(_: Any) -> None:
            self._loop = bool(g["loop"].value)

        with gui.add_folder("Load"):
            g["upload"] = gui.add_upload_button("Upload file", hint="A motion (.npz, .bvh), .glb or .ply from your computer")
            if self.roots:
                g["path"] = gui.add_text("Path", initial_value="", hint=f"Inside {self.roots.describe()}")
                g["load"] = gui.add_button("Load file")

        @g["upload"].on_upload
        def _(_: Any) -> None:
            up = g["upload"].value
            self.load_upload(up.name, up.content)

        if self.roots:

            @g["load"].on_click
            def _(_: Any) -> None:
                self.load_from_client(g["path"].value)

        with gui.add_folder("Body", expand_by_default=False):
            g["body"] = gui.add_dropdown("Model", ("anny", "smpl", "smplh", "smplx"), initial_value=self._body_name)
            from humokit.body.anny import DEFAULT_PHENOTYPE, PHENOTYPE_KEYS

            g["pheno"] = {
                k: gui.add_slider(k, min=0.0, max=1.0, step=0.01, initial_value=float(DEFAULT_PHENOTYPE[k]))
                for k in PHENOTYPE_KEYS
            }
            g["apply_body"] = gui.add_button("Apply body")

        @g["apply_body"].on_click
        def _(_: Any) -> None:
            name = g["body"].value
            shape = {k: float(s.value) for k, s in g["pheno"].items()} if name == "anny" else None
            try:
                self.set_body(name, shape)
            except Exception as exc:  # noqa: BLE001
                self.report_error(f"body {name}", exc)

        with gui.add_folder("Layers", expand_by_default=False):
            for k in ("body", "skeleton", "trajectory", "contacts", "grid"):
                g[f"layer_{k}"] = cb = gui.add_checkbox(k.capitalize(), initial_value=True)
                cb.on_update(lambda _e, k=k: self._set_layer(k))

        with gui.add_folder("Camera", expand_by_default=False):
            g["camera"] = gui.add_button_group("Preset", ("front", "side", "top", "follow"))

        @g["camera"].on_click
        def _(_: Any) -> None:
            self.set_camera(g["camera"].value)

        with gui.add_folder("Motions") as folder:
            g["motions_folder"] = folder
            g["side_by_side"] = gui.add_checkbox("Side by side", initial_value=self._side_by_side)

        @g["side_by_side"].on_update
        def _(_: Any) -> None:
            if bool(g["side_by_side"].value) != self._side_by_side:
                self.set_side_by_side(bool(g["side_by_side"].value))

        with gui.add_folder("Capture", expand_by_default=False):
            g["capture_dir"] = gui.add_text("Folder", initial_value="humokit_capture",
                                            hint=f"Inside {self.roots.describe()}" if self.roots else "")
            g["record_height"] = gui.add_number("Video height", initial_value=480, min=96, max=2160, step=16)
            g["screenshot"] = gui.add_button("Screenshot")
            g["record"] = gui.add_button("Record")

        @g["screenshot"].on_click
        def _(event: Any) -> None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            folder = self._capture_folder()
            if folder is not None:
                self.screenshot(folder / f"humokit_{stamp}.png", client=event.client)

        @g["record"].on_click
        def _(event: Any) -> None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            folder = self._capture_folder()
            if folder is None:
                return
            g["record"].disabled = True

            def run() -> None:
                try:
                    self.record(folder / f"humokit_{stamp}.mp4", client=event.client,
                                height=int(g["record_height"].value), progress=lambda k, n: setattr(g["status"], "content", f"recording {k}/{n}"))
                finally:
                    g["record"].disabled = False

            threading.Thread(target=run, name="humokit-viewer-record", daemon=True).start()

        if self.allow_generate and has_generator():
            self._build_generator_gui()

        with gui.add_folder("Export", expand_by_default=False):
            g["export_motion"] = gui.add_dropdown("Motion", ("(none)",))
            g["download"] = gui.add_button_group("Download", ("BVH", "GLB"))
            if self.roots:
                g["export_dir"] = gui.add_text("Folder", initial_value="humokit_export",
                                               hint=f"Inside {self.roots.describe()}")
                g["export"] = gui.add_button_group("Write", ("BVH", "GLB"))

        @g["download"].on_click
        def _(event: Any) -> None:
            self.download(event.client, g["export_motion"].value, g["download"].value.lower())

        if self.roots:

            @g["export"].on_click
            def _(_: Any) -> None:
                self.export_from_client(g["export_motion"].value, g["export_dir"].value, g["export"].value.lower())

    def _build_generator_gui(self) -> None:
        gui, g = self.server.gui, self._gui
        try:
            from humokit.priors.request import FPS, MIN_SECONDS, MODELS, family_max_frames

            longest = family_max_frames("mask")[0] / FPS
        except Exception as exc:  # noqa: BLE001 - no checkpoints: no panel, a log line
            log.warning("text-to-motion generator unavailable: %s", exc)
            return
        with gui.add_folder("Generate"):
            g["gen_text"] = gui.add_text("Text", initial_value="a person walks forward")
            g["gen_model"] = gui.add_dropdown("Model", MODELS, initial_value=MODELS[0])
            g["gen_seconds"] = gui.add_number("Seconds", initial_value=4.0, min=MIN_SECONDS, max=longest, step=0.1)
            g["gen_seed"] = gui.add_number("Seed", initial_value=0, min=0, step=1)
            g["gen_physics"] = gui.add_checkbox("Physics projection", initial_value=True)
            g["gen_go"] = gui.add_button("Generate")

        @g["gen_go"].on_click
        def _(_: Any) -> None:
            if not self.allow_generate:  # the panel exists only when allowed; refuse anyway
                self.report_error("generate", "text generation is off (start the viewer with --priors)")
                return
            g["gen_go"].disabled = True
            self.report_info("generating...")

            def run() -> None:
                try:
                    self.generate(str(g["gen_text"].value)[:200], model=g["gen_model"].value,
                                  seconds=float(g["gen_seconds"].value), seed=int(g["gen_seed"].value),
                                  physics=bool(g["gen_physics"].value))
                finally:
                    g["gen_go"].disabled = False

            threading.Thread(target=run, name="humokit-viewer-generate", daemon=True).start()

    def generate(self, text: str, *, model: str = "mask", seconds: float = 4.0, seed: int | None = 0,
                 physics: bool = True) -> str | None:
        """Generate with the code path of ``humokit generate`` (checks, sampling, physics projection) and show it.

        Errors (bad options, missing checkpoints) are reported in the browser; returns the display name.
        """
        try:
            from humokit.optim.physics.cli import generate_motion

            motion = generate_motion(text, model=model, seconds=seconds, seed=seed,
                                     physics="kinematic" if physics else "none")
            name = self.add_motion(motion, f"{text.strip()[:24] or 'generated'} ({model}, seed {seed})")  # type: ignore[arg-type]
            self.report_info(f"generated {name}")
            return name
        except Exception as exc:  # noqa: BLE001
            self.report_error(f"generate {text!r}", exc)
            return None

    # ------------------------------------------------------------ lanes and visibility
    def _visible_tracks(self) -> list[_Track]:
        return [t for t in self._tracks if t.visible]

    def _layout_tracks(self) -> None:
        """Side by side: each motion's start moved into its own lane along +X; otherwise own coordinates."""
        cursor = 0.0
        pad = 0.15  # the body surface reaches past the joints (hands, shoulders)
        for tr in self._tracks:
            start = tr.joints[0, 0] * np.array([1.0, 0.0, 1.0])
            if self._side_by_side:
                x = tr.joints[..., 0] - start[0]
                lo, hi = float(x.min()) - pad, float(x.max()) + pad
                lane = cursor - lo
                cursor = lane + hi + self.spacing
                tr.offset = np.array([lane, 0.0, 0.0]) - start
            else:
                tr.offset = np.zeros(3)
            if "frame" in tr.handles:
                tr.handles["frame"].position = tr.offset

    def set_side_by_side(self, on: bool = True) -> None:
        """Place motions in lanes (True) or each in its own coordinates, overlapping (False)."""
        with self._lock:
            self._side_by_side = bool(on)
            if self._gui["side_by_side"].value != self._side_by_side:
                self._gui["side_by_side"].value = self._side_by_side
            self._layout_tracks()

    def set_visible(self, name: str, visible: bool = True) -> None:
        """Show or hide motion ``name`` (its body, skeleton, trajectory, contacts and avatar)."""
        with self._lock:
            tr = next((t for t in self._tracks if t.name == name), None)
            if tr is None:
                raise InputError(f"no motion named {name!r} is loaded")
            tr.visible = bool(visible)
            tr.handles["frame"].visible = tr.visible
            cb = tr.handles.get("toggle")
            if cb is not None and cb.value != tr.visible:
                cb.value = tr.visible

    def _add_visibility_toggle(self, tr: _Track) -> None:
        with self._gui["motions_folder"]:
            cb = self.server.gui.add_checkbox(tr.name, initial_value=tr.visible)
        tr.handles["toggle"] = cb
        cb.on_update(lambda _e, name=tr.name, cb=cb: self.set_visible(name, bool(cb.value)))

    def _posed_vertices(self, tr: _Track, i: int) -> np.ndarray:
        """``(V, 3)`` world vertices of track ``tr`` at its frame ``i`` (server-side LBS, lane offset applied)."""
        from humokit.body import BodyModel, pose_rest_body

        rest = self._rest_body()
        scale = BodyModel.root_scale_for(rest, tr.motion)
        R = torch.from_numpy(tr.motion.rotations[i : i + 1])
        root = torch.from_numpy(tr.motion.root_position[i : i + 1]) * scale
        with torch.no_grad():
            v = pose_rest_body(rest, R, root).vertices[0].numpy()
        return v + tr.offset

    # ------------------------------------------------------------ capture
    def _capture_folder(self) -> Path | None:
        """The Capture panel's folder, confined to the viewer's write roots (errors are reported)."""
        if not self.roots:
            self.report_error("capture", "writing files from the browser is off (start the viewer with a write root)")
            return None
        try:
            return self.roots.confine(str(self._gui["capture_dir"].value).strip())
        except HumokitError as exc:
            self.report_error("capture", exc)
            return None

    def _client(self, client: Any | None) -> Any:
        if client is not None:
            return client
        clients = list(self.server.get_clients().values())
        if not clients:
            raise InputError("no browser is connected: open the viewer's URL first")
        return clients[-1]

    def screenshot(self, path: str | Path, *, client: Any | None = None, width: int = 1280, height: int = 720) -> Path | None:
        """Write a PNG of what a connected browser shows (its current camera), rendered by that browser."""
        import imageio.v2 as imageio

        from humokit._io import atomic_path

        try:
            path = Path(str(path).strip()).expanduser()
            if path.suffix.lower() != ".png":
                raise InputError(f"{path}: a screenshot is a .png file")
            c = self._client(client)
            img = np.asarray(c.get_render(height=int(height), width=int(width), transport_format="png"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                imageio.imwrite(tmp, img[..., :3], format="png")
            self.report_info(f"wrote {path}")
            return path
        except Exception as exc:  # noqa: BLE001
            self.report_error("screenshot", exc)
            return None

    def record(self, path: str | Path, *, client: Any | None = None, height: int = 480,
               progress: Any | None = None) -> Path | None:
        """Write an MP4 of the whole timeline seen from a browser's current camera.

        Every timeline frame is rendered here with humokit's rasterizer
        (:func:`humokit.render.raster.rasterize` + :func:`~humokit.render.raster.shade`):
        the visible motions' bodies, white background, the browser's vertical
        field of view and aspect ratio (width rounded to a multiple of 16).
        """
        import imageio.v2 as imageio

        from humokit._io import atomic_path
        from humokit.render.camera import look_at
        from humokit.render.raster import rasterize, shade

        try:
            path = Path(str(path).strip()).expanduser()
            if path.suffix.lower() != ".mp4":
                raise InputError(f"{path}: a recording is an .mp4 file")
            with self._lock:
                tracks = self._visible_tracks()
                if not tracks:
                    raise InputError("nothing to record: no visible motion")
                cam_h = self._client(client).camera
                pos, target = np.asarray(cam_h.position, float), np.asarray(cam_h.look_at, float)
                fov = float(np.rad2deg(cam_h.fov))
                aspect = float(getattr(cam_h, "aspect", 16 / 9) or 16 / 9)
                h = max(16, int(height) // 16 * 16)
                w = max(16, int(round(h * aspect / 16)) * 16)
                cam = look_at(pos, target, fov_y=fov, width=w, height=h)
                fps, n = self.timeline_fps, self.num_frames
                rest, loop = self._rest_body(), self._loop
            # render outside the lock: playback and the GUI stay live while recording
            F = torch.cat([rest.faces + k * rest.num_vertices for k in range(len(tracks))])
            colors = torch.tensor(BODY_COLOR, dtype=torch.float32).div(255).expand(rest.num_vertices * len(tracks), 3)
            frames = []
            for k in range(n):
                V = np.concatenate([
                    self._posed_vertices(tr, timeline_frame(k / fps, tr.motion.fps, tr.motion.num_frames, loop=loop))
                    for tr in tracks
                ])  # fmt: skip
                Vt = torch.from_numpy(V.astype(np.float32))
                r = rasterize(Vt, F, cam)
                rgb = shade(r, Vt, F, cam, vertex_colors=colors).rgb.numpy()
                img = np.where(r.mask.numpy()[..., None], rgb, 1.0)
                frames.append((np.clip(img, 0, 1) * 255).round().astype(np.uint8))
                if progress is not None:
                    progress(k + 1, n)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                imageio.mimwrite(tmp, frames, format="FFMPEG", fps=fps, codec="libx264", quality=8,  # type: ignore[arg-type]
                                 pixelformat="yuv420p", macro_block_size=16, ffmpeg_log_level="error")
            self.report_info(f"wrote {path} ({n} frames, {w}x{h})")
            return path
        except Exception as exc:  # noqa: BLE001
            self.report_error("record", exc)
            return None

    def export(self, name: str, folder: str | Path, fmt: str) -> Path | None:
        """Write motion ``name`` as ``<folder>/<name>.<fmt>`` via ``humokit.export.export_motion``."""
        try:
            if name not in self.motions:
                raise InputError(f"no motion named {name!r} is loaded")
            try:
                from humokit.export import export_motion  # type: ignore[attr-defined]
            except ImportError:
                raise HumokitError("export is not available in this humokit (humokit.export.export_motion)") from None
            path = Path(folder) / f"{_safe_name(name)}.{fmt}"
            export_motion(self.motions[name], path, format=fmt)
            self.report_info(f"wrote {path}")
            return path
        except Exception as exc:  # noqa: BLE001
            self.report_error(f"export {name} as {fmt.upper()}", exc)
            return None

    def load_from_client(self, text: str) -> str | None:
        """Open a server path typed in the browser: only inside :attr:`roots` (errors are reported)."""
        try:
            path = self.roots.confine(text)
        except HumokitError as exc:
            self.report_error("load", exc)
            return None
        name = self.load(path)
        if name is not None:
            self.report_info(f"loaded {path}")
        return name

    def load_upload(self, filename: str, content: bytes) -> str | None:
        """Open a file uploaded from the browser (kept only in a temporary folder while it is read)."""
        import tempfile

        try:
            base = Path(str(filename).replace("\\", "/")).name
            suffix = Path(base).suffix.lower()
            if suffix not in _SUFFIXES:
                raise InputError(f"{base or 'upload'}: cannot view {suffix or 'files without a suffix'}; "
                                 "use .npz, .bvh, .glb, .ply, .obj or .stl")
            if len(content) > MAX_UPLOAD_BYTES:
                raise InputError(f"{base}: {len(content) / 2**20:.0f} MB is over the upload limit "
                                 f"({MAX_UPLOAD_BYTES // 2**20} MB)")
            stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(base).stem) or "upload"
        except HumokitError as exc:
            self.report_error("upload", exc)
            return None
        with tempfile.TemporaryDirectory(prefix="humokit-upload-") as tmp:
            path = Path(tmp) / f"{stem}{suffix}"
            path.write_bytes(content)
            name = self.load(path)
        if name is not None:
            self.report_info(f"loaded {base}")
        return name

    def export_from_client(self, name: str, folder: str, fmt: str) -> Path | None:
        """Export into a folder typed in the browser: only inside :attr:`roots` (errors are reported)."""
        try:
            target = self.roots.confine(folder)
            self.roots.confine(target / f"{_safe_name(name)}.{fmt}")  # the file itself may be a link out
        except HumokitError as exc:
            self.report_error(f"export {name}", exc)
            return None
        return self.export(name, target, fmt)

    def export_bytes(self, name: str, fmt: str) -> tuple[str, bytes]:
        """Motion ``name`` as a ``(filename, bytes)`` BVH/GLB file, for a browser download."""
        import tempfile

        if fmt not in ("bvh", "glb"):
            raise InputError(f"export format must be bvh or glb, got {fmt!r}")
        if name not in self.motions:
            raise InputError(f"no motion named {name!r} is loaded")
        try:
            from humokit.export import export_motion  # type: ignore[attr-defined]
        except ImportError:
            raise HumokitError("export is not available in this humokit (humokit.export.export_motion)") from None
        filename = f"{_safe_name(name)}.{fmt}"
        with tempfile.TemporaryDirectory(prefix="humokit-export-") as tmp:
            path = Path(tmp) / filename
            export_motion(self.motions[name], path, format=fmt)
            return filename, path.read_bytes()

    def download(self, client: Any, name: str, fmt: str) -> str | None:
        """Send motion ``name`` as BVH/GLB to ``client``'s browser as a download (errors are reported)."""
        try:
            filename, data = self.export_bytes(name, fmt)
            client.send_file_download(filename, data)
        except Exception as exc:  # noqa: BLE001
            self.report_error(f"download {name} as {fmt.upper()}", exc)
            return None
        self.report_info(f"sent {filename} ({len(data) / 1024:.0f} kB)")
        return filename

    def _set_layer(self, k: str) -> None:
        on = bool(self._gui[f"layer_{k}"].value)
        if k == "grid":
            self._grid.visible = on
            return
        for tr in self._tracks:
            tr.handles[k].visible = on

    def _refresh_lists(self) -> None:
        names = tuple(t.name for t in self._tracks) or ("(none)",)
        dd = self._gui["export_motion"]
        dd.options = names
        if dd.value not in names:
            dd.value = names[0]
        listed = [f"motion **{t.name}** ({t.motion.num_frames} frames, {t.motion.fps:g} fps)" for t in self._tracks]
        listed += [f"object **{n}**" for n in self._objects]
        if not self.errors:
            self._gui["status"].content = "  \n".join(listed) if listed else self._gui["status"].content

    def _on_connect(self, client: Any) -> None:
        client.camera.fov = float(np.deg2rad(CAMERA_FOV_DEG))
        for text in self.errors[-5:]:
            self._notify(client, "Error", text, error=True)

    @staticmethod
    def _notify(client: Any, title: str, body: str, *, error: bool) -> None:
        try:
            client.add_notification(
                title, body, with_close_button=True, auto_close_seconds=None if error else 5.0,
                color="red" if error else "blue",
            )
        except Exception as exc:  # noqa: BLE001 - a closing tab must not break the app
            log.debug("notification to client failed: %s", exc)

    # ------------------------------------------------------------ misc
    def _add_mesh_file(self, path: Path) -> str:
        import trimesh

        from humokit.errors import FileFormatError

        try:
            mesh = trimesh.load(path, force="mesh")
        except Exception as exc:  # noqa: BLE001
            raise FileFormatError(path, f"cannot read mesh ({exc})") from exc
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            raise FileFormatError(path, "no triangles to show")
        with self._lock:
            name = self._unique_name(path.stem)
            self._objects[name] = self.server.scene.add_mesh_trimesh(f"/objects/{self._new_key('o')}", mesh)
            self._refresh_lists()
        return name

    def _new_key(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}{self._next_id}"

    def _unique_name(self, name: str) -> str:
        taken = {t.name for t in self._tracks} | set(self._objects)
        base, k = name or "item", 2
        while name in taken or not name:
            name = f"{base}_{k}"
            k += 1
        return name
