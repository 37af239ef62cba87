"""Does text-to-motion do what the text says?  A rule-based classifier on joints, and a benchmark with it.

    python benchmarks/t2m_kinematic.py validate [--split val]      # classifier accuracy on real labelled clips
    python benchmarks/t2m_kinematic.py models [--models mask,diffusion,cvae] [--seeds 3] [--checkpoints DIR]
    python benchmarks/t2m_kinematic.py diagnose [--split val]     # what reaches the networks (no sampling)
    python benchmarks/t2m_kinematic.py vq --vq vq,PATH [--split val]  # real clips through VQ-VAEs, per category
    python benchmarks/t2m_kinematic.py tokens --checkpoints DIR [--categories walk]  # where hovering walks come from

The classifier (:func:`classify`) reads only joint positions ``(T, 22, 3)``
(metres, Y up, 20 fps) and nothing learned: the body's own frame from its hip
and shoulder lines (left = the body's left, never the world's), the heading
change, pelvis speed along the body's forward and sideways axes, flight phases
(both feet off the ground), pelvis rise, wrist height above the shoulders and
its side-to-side oscillation, torso pitch, ankle height and forward reach, and
wrist punches away from the shoulder. It is not humokit's evaluator and shares
nothing with the models.

``validate`` prints per-label accuracy and the confusions on the real clips of
a split (labels from the dataset; categories without clips in that split are
read from the train split and marked so). ``models`` asks every model for each
category twice: in the training captions' wording and in free-form paraphrases
written for this benchmark (everyday scenes, other subjects, other verbs;
:data:`PARAPHRASES`, never used by the caption generator), ``--seeds`` seeds
each, 4 s, with the default kinematic physics projection inside and after
sampling, and prints per-model, per-category fractions right.

``diagnose`` prints, per category, what could stop a model from following the
text before any network is asked: the cosine similarity of each training
wording's sentence embedding to its nearest other category (left and right
differ by ~0.02), the share of training draws per category with plain and
content-balanced sampling, and the ceiling of the token models: the classifier
on real clips of the split after a round trip through the shipped VQ-VAE
(what the mask model could produce at best); then how much the diffusion
denoiser uses the text at each noise level and how much the CVAE's latent
carries (:func:`listening`).

``vq`` prints that round trip for one or more VQ-VAE checkpoints side by side
(the first is the baseline of the same run): per category the classifier on
decoded clips, the root-relative joint error, the pelvis path error and the
decoded / real pelvis speed.

``tokens`` (mask family) asks where a category's generated motion leaves
its real clips: per category, the train windows whose feet stay above the floor
(:func:`humokit.priors.data.foot_height` > 5 cm, per data source), and at the first,
fully masked decoding step for the training wording, the share of probability on
base tokens used mostly by those floating windows (through the family's VQ-VAE):
conditional, unconditional and with classifier-free guidance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

FPS = 20.0
# joint indices (humokit.motion.skeleton.JOINT_NAMES)
PELVIS, L_HIP, R_HIP, SPINE3, NECK, HEAD = 0, 1, 2, 9, 12, 15
L_KNEE, R_KNEE, L_ANKLE, R_ANKLE, L_FOOT, R_FOOT = 4, 5, 7, 8, 10, 11
L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST = 16, 17, 20, 21

# category -> dataset content labels of its real clips
CATEGORIES: dict[str, tuple[str, ...]] = {
    "wave-left": ("wave-left-hand",),
    "wave-right": ("wave-right-hand",),
    "wave-both": ("wave-both-hands",),
    "raise-left": ("raise-up-left-hand",),
    "raise-right": ("raise-up-right-hand",),
    "raise-both": ("raise-up-both-hands",),
    "walk": ("walk",),
    "run": ("run", "dash"),
    "walk-back": ("walk-back",),
    "side-left": ("walk-left",),
    "side-right": ("walk-right",),
    "turn-left": ("walk-turn-left",),
    "turn-right": ("walk-turn-right",),
    "bow": ("bow",),
    "jump": ("jump", "forward-jump"),
    "kick": ("kick",),
    "punch": ("punch",),
    "dance": ("dance-short", "dance-long"),
}
# the training captions' wording
TRAINING_WORDING: dict[str, str] = {
    "wave-left": "a person waves with the left hand.",
    "wave-right": "a person waves with the right hand.",
    "wave-both": "a person waves with both hands.",
    "raise-left": "a person raises the left hand.",
    "raise-right": "a person raises the right hand.",
    "raise-both": "a person raises both hands.",
    "walk": "a person walks forward.",
    "run": "a person runs forward.",
    "walk-back": "a person walks backward.",
    "side-left": "a person walks sideways to the left.",
    "side-right": "a person walks sideways to the right.",
    "turn-left": "a person turns to the left while walking.",
    "turn-right": "a person turns to the right while walking.",
    "bow": "a person bows.",
    "jump": "a person jumps.",
    "kick": "a person kicks forward with a leg.",
    "punch": "a person punches forward.",
    "dance": "a person dances.",
}
# free-form requests as a user would write them (held out: the caption generator never sees these)
PARAPHRASES: dict[str, tuple[str, ...]] = {
    "wave-left": ("she flags down a taxi with her left arm, swinging it side to side",
                  "a child greets grandma across the street, his left hand going back and forth over his head",
                  "the sailor signals the ship by waving his left hand overhead"),
    "wave-right": ("he greets his neighbour by waving his right hand in the air",
                   "a tourist swings her right arm to and fro to say hello",
                   "the boy says hi to his friends with his right hand, shaking it above his shoulder"),
    "wave-both": ("a fan at the concert waves both arms over her head",
                  "the stranded hiker signals the helicopter, swinging both arms above his head",
                  "he greets the crowd with both hands waving high"),
    "raise-left": ("a student puts up her left hand to ask a question",
                   "the man lifts his left arm straight up toward the ceiling",
                   "holding his left hand high, the volunteer steps up"),
    "raise-right": ("a pupil puts up his right hand in class to answer",
                    "the woman lifts her right arm above her head and keeps it there",
                    "he stretches his right arm up high toward the sky"),
    "raise-both": ("the bank teller puts both hands up in the air",
                   "a man stretches both arms straight up over his head",
                   "she lifts her arms high above her head to celebrate"),
    "walk": ("a man strolls down the street",
             "she heads to the bus stop on foot at an easy pace",
             "an office worker goes ahead one step after another"),
    "run": ("a jogger races down the park path",
            "he sprints to catch the bus",
            "the athlete dashes ahead as fast as she can"),
    "walk-back": ("he backs away slowly from the barking dog",
                  "a woman retreats step by step, moving in reverse",
                  "the man steps backwards without looking behind him"),
    "side-left": ("he shuffles sideways to his left along the wall",
                  "a woman sidesteps to her left to make room on the pavement",
                  "the guard moves to his left with side steps, still facing ahead"),
    "side-right": ("he shuffles sideways to his right along the wall",
                   "a woman sidesteps to her right to let someone pass",
                   "the dancer slides to her right with crossing side steps, still facing ahead"),
    "turn-left": ("she strolls along and then turns left at the corner",
                  "a man on a walk veers round to his left",
                  "while walking he changes direction and heads off to the left"),
    "turn-right": ("she strolls along and then turns right at the corner",
                   "a man on a walk veers round to his right",
                   "while walking he changes direction and heads off to the right"),
    "bow": ("a waiter bends at the waist to greet the guests",
            "the actor takes a bow at the end of the show",
            "a student leans his upper body forward respectfully in front of the teacher"),
    "kick": ("a soccer player boots the ball hard",
             "the karate fighter strikes forward with his foot",
             "he swings his leg up to kick the door open"),
    "jump": ("a kid hops up into the air with both feet",
             "the basketball player leaps up off the floor",
             "she springs off the ground and lands again"),
    "punch": ("the boxer throws jabs at the punching bag",
              "an angry man hits the air in front of him with his fists",
              "a fighter strikes forward with quick blows of the fist"),
    "dance": ("at the party she grooves to the music",
              "a man moves rhythmically to a song, swaying and stepping",
              "the kids boogie on the dance floor"),
}  # fmt: skip


@dataclass(frozen=True)
class Kinematics:
    """What the rules read from one clip (metres, seconds, degrees)."""

    seconds: float
    speed: float  # mean horizontal pelvis speed, m/s
    forward: float  # mean pelvis velocity along the body's forward axis, m/s
    sideways: float  # ... along the body's left axis (positive: to its left), m/s
    turn: float  # heading change from the first to the last quarter, degrees (positive: to the left)
    flight: float  # fraction of frames with both feet clearly off the floor
    double: float  # fraction of frames with both feet on the floor
    cadence: float  # steps per second (changes of the foot ahead)
    rise: float  # highest pelvis above its median height, m
    pitch: float  # 90th percentile of torso pitch forward, degrees
    wrist_up_l: float  # fraction of frames with the left wrist above the shoulders
    wrist_up_r: float
    wave_l: float  # side-to-side (or to-and-fro) wrist reversals while up (left)
    wave_r: float
    ankle_up: float  # highest ankle above the other ankle, m
    ankle_reach: float  # furthest ankle ahead of the pelvis (body frame), m
    punch: float  # to-and-fro reversals of a wrist at chest height reaching > 33 cm ahead of its shoulder
    arm_swing: float  # to-and-fro wrist reversals (both wrists) per second
    energy: float  # mean joint speed relative to the pelvis, m/s


def _smooth(x: np.ndarray, k: int = 3) -> np.ndarray:
    if len(x) < k:
        return x
    w = np.ones(k) / k
    pad = np.concatenate([np.repeat(x[:1], k // 2, 0), x, np.repeat(x[-1:], k // 2, 0)], 0)
    return np.stack([np.convolve(pad[:, i], w, mode="valid") for i in range(x.shape[1])], 1) if x.ndim == 2 else np.convolve(pad, w, mode="valid")


def _swings(x: np.ndarray, amp: float) -> int:
    """Direction reversals of ``x (T,)`` between extremes at least ``amp`` apart (hysteresis)."""
    n, direction, lo, hi, ext = 0, 0, float("inf"), -float("inf"), 0.0
    for v in np.asarray(x, dtype=float):
        if direction == 0:
            lo, hi = min(lo, v), max(hi, v)
            if hi - v > amp:
                direction, ext = -1, v
            elif v - lo > amp:
                direction, ext = 1, v
        elif direction > 0:
            if v > ext:
                ext = v
            elif ext - v > amp:
                n, direction, ext = n + 1, -1, v
        elif v < ext:
            ext = v
        elif v - ext > amp:
            n, direction, ext = n + 1, 1, v
    return n


def measure(joints: np.ndarray, fps: float = FPS) -> Kinematics:
    """Kinematic figures of a clip ``(T, 22, 3)`` (Y up, metres)."""
    J = np.asarray(joints, dtype=np.float64)
    T = len(J)
    J = J - np.array([0.0, J[..., 1].min(), 0.0])  # floor at the lowest joint
    across = (J[:, L_HIP] - J[:, R_HIP]) + (J[:, L_SHOULDER] - J[:, R_SHOULDER])  # towards the body's left
    across[:, 1] = 0
    across /= np.linalg.norm(across, axis=-1, keepdims=True).clip(1e-6)
    fwd = np.cross(across, np.array([0.0, 1.0, 0.0]))  # left = +X and forward = +Z at rest
    fwd = _smooth(fwd, 5)
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True).clip(1e-6)
    left = np.cross(np.array([0.0, 1.0, 0.0]), fwd)
    pel = J[:, PELVIS]
    v = np.gradient(pel, axis=0) * fps if T > 1 else np.zeros_like(pel)
    vh = v.copy()
    vh[:, 1] = 0
    speed = float(np.linalg.norm(vh, axis=-1).mean())
    forward = float((vh * fwd).sum(-1).mean())
    sideways = float((vh * left).sum(-1).mean())
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    q = max(1, T // 4)
    turn = float(np.degrees(yaw[-q:].mean() - yaw[:q].mean()))
    feet = J[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1]
    floor_l = np.minimum(feet[:, 0] - np.percentile(feet[:, 0], 5), feet[:, 2] - np.percentile(feet[:, 2], 5))
    floor_r = np.minimum(feet[:, 1] - np.percentile(feet[:, 1], 5), feet[:, 3] - np.percentile(feet[:, 3], 5))
    flight = float(((floor_l > 0.05) & (floor_r > 0.05)).mean())
    double = float(((floor_l < 0.03) & (floor_r < 0.03)).mean())
    step = ((J[:, L_ANKLE] - J[:, R_ANKLE]) * fwd).sum(-1)  # which foot is ahead
    cadence = float(((step[1:] > 0) != (step[:-1] > 0)).sum() / (T / fps))
    h = pel[:, 1]
    rise = float(h.max() - np.median(h))
    spine = J[:, NECK] - pel
    spine /= np.linalg.norm(spine, axis=-1, keepdims=True).clip(1e-6)
    pitch_t = np.degrees(np.arctan2((spine * fwd).sum(-1), spine[:, 1]))
    pitch = float(np.percentile(pitch_t, 90))
    sh = np.maximum(J[:, L_SHOULDER, 1], J[:, R_SHOULDER, 1])
    up_l = J[:, L_WRIST, 1] > sh - 0.10
    up_r = J[:, R_WRIST, 1] > sh - 0.10
    secs = T / fps

    def wave(w: int, up: np.ndarray) -> float:
        if up.sum() < 0.5 * fps:
            return 0.0
        rel = J[:, w] - J[:, NECK]
        lat = (rel * left).sum(-1)
        fw = (rel * fwd).sum(-1)
        lat, fw = lat[up], fw[up]
        # the larger horizontal swing direction (side to side or to and fro)
        return float(max(_swings(lat, 0.05), _swings(fw, 0.05)))

    ankle_l, ankle_r = J[:, L_ANKLE, 1], J[:, R_ANKLE, 1]
    ankle_up = float(max((ankle_l - ankle_r).max(), (ankle_r - ankle_l).max()))
    reach = max(float(((J[:, a] - pel) * fwd).sum(-1).max()) for a in (L_ANKLE, R_ANKLE))
    strikes, swings = 0.0, 0.0
    for w, sh_j in ((L_WRIST, L_SHOULDER), (R_WRIST, R_SHOULDER)):
        ext = ((J[:, w] - J[:, sh_j]) * fwd).sum(-1)
        swings += _swings(ext, 0.2) / secs
        at_chest = np.median(J[:, w, 1] - J[:, sh_j, 1]) < 0.12
        if ext.max() > 0.33 and at_chest:
            strikes = max(strikes, float(_swings(ext, 0.15)))
    rel_all = J - J[:, :1]
    energy = float(np.linalg.norm(np.diff(rel_all, axis=0), axis=-1).mean() * fps) if T > 1 else 0.0
    return Kinematics(secs, speed, forward, sideways, turn, flight, double, cadence, rise, pitch, float(up_l.mean()), float(up_r.mean()),
                      wave(L_WRIST, up_l), wave(R_WRIST, up_r), ankle_up, reach, strikes, swings, energy)  # fmt: skip


def classify(joints: np.ndarray, fps: float = FPS) -> str:
    """One of :data:`CATEGORIES` (or ``"other"``) from joint positions alone."""
    k = measure(joints, fps)
    return decide(k)


def decide(k: Kinematics) -> str:
    """The rules (first match wins)."""
    if k.flight > 0.05 and k.rise > 0.12 and k.speed < 2.0:
        return "jump"
    if k.forward > 0 and (k.speed > 2.6 or k.speed > 1.3 and k.double < 0.15):
        return "run"
    if k.ankle_up > 0.35 and k.ankle_reach > 0.45 and k.arm_swing < 2.0 and k.speed < 1.0:
        return "kick"
    if k.punch >= 4 and k.energy < 0.5 and abs(k.turn) < 90 and k.speed < 0.6:
        return "punch"
    if k.energy > 0.45 and (abs(k.turn) > 120 or k.arm_swing > 2.0) and max(abs(k.forward), abs(k.sideways)) < 0.3:
        return "dance"
    if k.pitch > 25 and k.speed < 0.3:
        return "bow"
    if max(abs(k.forward), abs(k.sideways)) > 0.3:
        if abs(k.turn) > 45 and k.forward > 0.2:
            return "turn-left" if k.turn > 0 else "turn-right"
        if abs(k.sideways) > 0.15 and abs(k.sideways) > 0.3 * abs(k.forward):
            return "side-left" if k.sideways > 0 else "side-right"
        return "walk-back" if k.forward < 0 else "walk"
    up_l, up_r = k.wrist_up_l > 0.25, k.wrist_up_r > 0.25
    if up_l or up_r:
        if up_l and up_r:
            return "wave-both" if max(k.wave_l, k.wave_r) >= 3 else "raise-both"
        if up_l:
            return "wave-left" if k.wave_l >= 3 else "raise-left"
        return "wave-right" if k.wave_r >= 3 else "raise-right"
    if k.energy > 0.45:
        return "dance"
    return "other"


# --------------------------------------------------------------------------------------------- validation
def _split_clips(root: Path, split: str) -> list[tuple[str, str, np.ndarray]]:
    """``(name, category, joints)`` of every window of ``split`` whose content is a category."""
    from humokit.motion.dataset import split_names

    by_content = {c: cat for cat, cs in CATEGORIES.items() for c in cs}
    out = []
    names = set(split_names(root, split))
    for f in sorted((root / "takes").glob("*.json")):
        rec = json.loads(f.read_text())
        for w in rec["windows"]:
            if w["name"] in names and w["content"] in by_content:
                out.append((w["name"], by_content[w["content"]], np.load(root / "new_joints" / f"{w['name']}.npy")))
    return out


def validate(root: Path, split: str, *, show: bool = True, verbose: bool = False) -> float:
    clips = _split_clips(root, split)
    have = {c for _, c, _ in clips}
    extra = [x for x in _split_clips(root, "train") if x[1] not in have] if split != "train" else []
    right: Counter = Counter()
    total: Counter = Counter()
    confusions: dict[str, Counter] = defaultdict(Counter)
    for name, cat, J in clips + extra:
        got = classify(J)
        if got != cat and verbose:
            print(name, cat, got, {k: round(v, 2) for k, v in asdict(measure(J)).items()})
        total[cat] += 1
        right[cat] += got == cat
        if got != cat:
            confusions[cat][got] += 1
    n_main = sum(total[c] for c in have)
    acc = sum(right[c] for c in have) / max(1, n_main)
    if show:
        print(f"| category | clips | right | confusions |\n|---|---|---|---|")
        for cat in CATEGORIES:
            if total[cat]:
                src = split if cat in have else "train*"
                conf = ", ".join(f"{g} {n}" for g, n in confusions[cat].most_common(3))
                print(f"| {cat} ({src}) | {total[cat]} | {right[cat] / total[cat]:.2f} | {conf} |")
        print(f"\noverall on the {split} split ({n_main} clips of {len(have)} categories): {acc:.3f}")
        if extra:
            print(f"(* categories without {split} clips, read from the train split, not in the overall figure)")
    return acc


# ---------------------------------------------------------------------------------------------- diagnose
def diagnose(root: Path, split: str, checkpoints: str | None, threads: int, per_category: int = 12) -> None:
    """Text-embedding separation, training draw shares and the VQ round-trip ceiling, per category."""
    import torch

    from humokit.motion.features import features_to_joints
    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.text import get_text_encoder

    torch.set_num_threads(threads)
    cats = list(CATEGORIES)
    e = get_text_encoder("minilm").encode([TRAINING_WORDING[c] for c in cats]).sentence.numpy()
    e /= np.linalg.norm(e, axis=-1, keepdims=True)
    sim = e @ e.T
    np.fill_diagonal(sim, -1)
    # training draws: windows per content label of the train split
    from humokit.motion.dataset import split_names

    names = set(split_names(root, "train"))
    count: Counter = Counter()
    for f in sorted((root / "takes").glob("*.json")):
        for w in json.loads(f.read_text())["windows"]:
            if w["name"] in names:
                count[w["content"]] += 1
    by_content = {c: cat for cat, cs in CATEGORIES.items() for c in cs}

    def share(balance: float) -> dict[str, float]:
        z = sum(n**balance for n in count.values())
        out: Counter = Counter()
        for c, n in count.items():
            if c in by_content:
                out[by_content[c]] += n**balance / z
        return out

    plain, bal = share(1.0), share(0.1)
    # the VQ ceiling: real clips -> tokens -> features -> classifier
    vq_path = str(Path(checkpoints) / "vq") if checkpoints else "vq"
    rt = vq_roundtrip(root, split, vq_path, per_category)
    right = {c: [(r["real_ok"], r["vq_ok"]) for r in rows if r["split"] == split] for c, rows in rt.items()}
    print("| category | nearest other wording (cosine) | train windows | draws, plain | draws, balance 0.1 | "
          f"real {split} clips right | after VQ round trip |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for i, c in enumerate(cats):
        j = int(np.argmax(sim[i]))
        r = np.array(right.get(c, [])) if right.get(c) else np.zeros((0, 2))
        n = sum(count[x] for x in CATEGORIES[c])
        cells = f"{r[:, 0].mean():.2f} | {r[:, 1].mean():.2f} (n={len(r)})" if len(r) else "- | -"
        print(f"| {c} | {cats[j]} {sim[i, j]:.2f} | {n} | {plain[c]:.3f} | {bal[c]:.3f} | {cells} |")


def listening(root: Path, split: str, checkpoints: str | None, threads: int, batches: int = 2) -> None:
    """How much the diffusion denoiser and the CVAE use what they are given, on fixed ``split`` batches of 32 windows.

    Diffusion: the x0 prediction from a noised window at step ``t`` with the clip's text, without text and
    with another clip's text (mean joint distance to the truth and between predictions, cm). CVAE: the
    latent's information (KL of the posterior to the text prior), the prior's calibration per dimension
    (E[(mu_q - mu_p)^2 + var_q] / var_p; 1 = the prior's spread matches the posteriors') and the decoder's
    use of ``z`` (reconstruction error from the clip's posterior mean, the text prior's mean, another clip's).
    """
    import torch

    from humokit.priors.checkpoint import load_checkpoint
    from humokit.priors.data import BatchSampler, all_captions, open_split
    from humokit.priors.geometry import features_to_joints_torch
    from humokit.priors.layers import lengths_to_mask
    from humokit.priors.text import CaptionBank, get_text_encoder

    torch.set_num_threads(threads)
    ds = open_split(root, split)
    bank = CaptionBank(get_text_encoder("minilm"), all_captions(ds), tokens=False)
    data = BatchSampler(ds, bank, 32, window=80).fixed(batches, seed=1)
    where = (lambda k: str(Path(checkpoints) / k)) if checkpoints else (lambda k: k)
    ck = load_checkpoint(where("diffusion"), "diffusion")
    dm, mean, std = ck.model, torch.from_numpy(ck.mean), torch.from_numpy(ck.std)

    def cm(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((features_to_joints_torch(a * std + mean) - features_to_joints_torch(b * std + mean)).norm(dim=-1).mean()) * 100

    print(f"\ndiffusion x0 prediction on {split} windows (cm): | t | error with text | without | with another clip's text "
          "| text vs other text | text vs none |\n|---|---|---|---|---|---|")  # fmt: skip
    with torch.no_grad():
        for t in (999, 800, 600, 400, 200, 50):
            r = np.zeros(5)
            for b in data:
                x, s = b["x"], b["sentence"]
                valid = lengths_to_mask(b["lengths"], x.shape[1])
                ab = dm.alphas_cumprod[t]
                xt = ab.sqrt() * x + (1 - ab).sqrt() * torch.randn(x.shape, generator=torch.Generator().manual_seed(t))
                tt = torch.full((len(x),), t)
                pc, pu, po = (dm.denoise(xt, tt, valid, c) for c in (s, torch.zeros_like(s), s.roll(1, 0)))
                r += np.array([cm(pc, x), cm(pu, x), cm(po, x), cm(pc, po), cm(pc, pu)]) / len(data)
            print(f"| {t} | " + " | ".join(f"{v:.1f}" for v in r) + " |")
        ck = load_checkpoint(where("cvae"), "cvae")
        cv, mean, std = ck.model, torch.from_numpy(ck.mean), torch.from_numpy(ck.std)
        if cv.cfg.text_input != "sentence":
            return
        kl, gap, var_q, var_p, rec = [], [], [], [], np.zeros(3)
        for b in data:
            x, L, s = b["x"], b["lengths"], b["sentence"]
            mu_q, lv_q = cv.encode(x, L)
            mu_p, lv_p = cv.text_prior(None, None, sentence=s)
            kl.append(0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p) ** 2) / lv_p.exp() - 1))
            gap.append((mu_q - mu_p) ** 2)
            var_q.append(lv_q.exp())
            var_p.append(lv_p.exp())
            rec += np.array([cm(cv.decode(z, L, sentence=s), x) for z in (mu_q, mu_p, mu_q.roll(1, 0))]) / len(data)
        kl_d, gap_d, q_d, p_d = (torch.cat(v).mean(0) for v in (kl, gap, var_q, var_p))
        calib = (gap_d + q_d) / p_d
        used = kl_d > 0.3
        print(f"\ncvae on {split} windows: KL(q || text prior) {float(kl_d.sum()):.1f} nats, {int(used.sum())} of "
              f"{len(kl_d)} dimensions above 0.3 nats; prior calibration {float(calib.mean()):.2f} (used dimensions "
              f"{float(calib[used].mean()) if used.any() else float('nan'):.2f}); reconstruction from the posterior mean "
              f"{rec[0]:.1f} cm, the text prior's mean {rec[1]:.1f} cm, another clip's posterior {rec[2]:.1f} cm")  # fmt: skip


# ---------------------------------------------------------------------------------------- VQ round trip
def vq_roundtrip(root: Path, split: str, vq_path: str, per_category: int = 12) -> dict[str, list[dict]]:
    """Real clips of ``split`` (``train`` for categories without any) -> VQ-VAE tokens -> decoded features.

    Per category, up to ``per_category`` clips (first 196 frames, a multiple of
    the VQ's unit), each ``dict(name, split, real_ok, vq_ok, joint_mm, root_mm,
    speed_ratio)``: the classifier on the real and the decoded joints, the
    root-relative joint error and the pelvis path error (mm, mean over frames),
    and decoded / real mean planar pelvis speed.
    """
    import torch

    from humokit.motion.features import features_to_joints
    from humokit.priors.checkpoint import load_checkpoint

    vq = load_checkpoint(vq_path, "vq")
    m = vq.model.eval()
    clips = _split_clips(root, split)
    have = {c for _, c, _ in clips}
    extra = [(n, c, j, "train") for n, c, j in _split_clips(root, "train") if c not in have] if split != "train" else []
    out: dict[str, list[dict]] = defaultdict(list)
    for name, cat, _, src in [(n, c, j, split) for n, c, j in clips] + extra:
        if len(out[cat]) >= per_category:
            continue
        x = np.load(root / "new_joint_vecs" / f"{name}.npy")
        x = x[: (min(len(x), 196) // m.unit) * m.unit]
        xn = torch.from_numpy((x - vq.mean) / vq.std).float()[None]
        with torch.no_grad():
            y = m.decode_codes(m.encode(xn))[0].numpy() * vq.std + vq.mean
        jx, jy = features_to_joints(x), features_to_joints(y)
        rel = np.linalg.norm((jx - jx[:, :1]) - (jy - jy[:, :1]), axis=-1).mean()
        path = np.linalg.norm(jx[:, 0] - jy[:, 0], axis=-1).mean()
        sx = np.linalg.norm(np.diff(jx[:, 0, [0, 2]], axis=0), axis=-1).mean()
        sy = np.linalg.norm(np.diff(jy[:, 0, [0, 2]], axis=0), axis=-1).mean()
        out[cat].append({"name": name, "split": src, "real_ok": classify(jx) == cat, "vq_ok": classify(jy) == cat,
                         "joint_mm": float(rel * 1000), "root_mm": float(path * 1000),
                         "speed_ratio": float(sy / max(sx, 1e-6))})  # fmt: skip
    return out


def vq_check(root: Path, split: str, vq_paths: list[str], threads: int, per_category: int) -> dict:
    """Print the VQ round-trip table for each checkpoint (the first is the baseline); returns the rows."""
    import torch

    torch.set_num_threads(threads)
    res = {p: vq_roundtrip(root, split, p, per_category) for p in vq_paths}
    head = " | ".join(f"{p}: right / joint mm / path mm / speed" for p in vq_paths)
    print(f"| category | clips | real right | {head} |\n|---|---|---|" + "---|" * len(vq_paths))
    for c in CATEGORIES:
        rows0 = res[vq_paths[0]].get(c, [])
        if not rows0:
            continue
        src = split if rows0[0]["split"] == split else "train*"
        cells = []
        for p in vq_paths:
            rr = res[p][c]
            cells.append(f"{np.mean([r['vq_ok'] for r in rr]):.2f} / {np.mean([r['joint_mm'] for r in rr]):.0f} / "
                         f"{np.mean([r['root_mm'] for r in rr]):.0f} / {np.median([r['speed_ratio'] for r in rr]):.2f}")  # fmt: skip
        print(f"| {c} ({src}) | {len(rows0)} | {np.mean([r['real_ok'] for r in rows0]):.2f} | " + " | ".join(cells) + " |")
    cells = []
    for p in vq_paths:
        rr = [r for c, rows in res[p].items() for r in rows if r["split"] == split]
        cells.append(f"**{np.mean([r['vq_ok'] for r in rr]):.2f}** / {np.mean([r['joint_mm'] for r in rr]):.0f} / "
                     f"{np.mean([r['root_mm'] for r in rr]):.0f} / {np.median([r['speed_ratio'] for r in rr]):.2f}")  # fmt: skip
    rr0 = [r for rows in res[vq_paths[0]].values() for r in rows if r["split"] == split]
    print(f"| all {split} | {len(rr0)} | {np.mean([r['real_ok'] for r in rr0]):.2f} | " + " | ".join(cells) + " |")
    print(f"\n(right: the classifier on decoded joints; joint mm: root-relative error; path mm: pelvis path error; "
          f"speed: median decoded / real pelvis speed; train*: no {split} clips, read from the train split)")
    return {p: dict(r) for p, r in res.items()}


# ------------------------------------------------------------------------------------------------- models
def run_models(args: argparse.Namespace) -> dict:
    import torch

    from humokit.motion.features import features_to_joints
    from humokit.priors.sampling import load_generator, sample_features

    torch.set_num_threads(args.threads)
    cats = list(CATEGORIES) if not args.categories else args.categories.split(",")
    prompts: list[tuple[str, str, str]] = []  # (category, wording, text)
    if args.wording == "split":
        prompts = split_prompts(Path(args.data), args.split, cats)
    else:
        for c in cats:
            prompts.append((c, "training", TRAINING_WORDING[c]))
            prompts += [(c, "paraphrase", p) for p in PARAPHRASES[c]]
    results: dict = {}
    diversity: dict = {}
    for entry in args.models.split(";" if ";" in args.models else ","):
        t0 = time.time()
        family, _, spec = entry.partition(":")
        model, _, folder = family.partition("@")
        gen = load_generator(model, folder or args.checkpoints)
        part = gen.parts.get(model)
        restore = part.model.cfg if spec and part is not None else None
        if spec:
            if part is None or not hasattr(part.model, "cfg"):
                raise SystemExit(f"error: {entry}: sampler settings apply to the diffusion model only")
            part.model.cfg = sampler_config(part.model.cfg, spec)
        model = entry
        proj = None
        if args.physics == "kinematic":
            from humokit.optim.physics.guidance import FeatureProjector

            proj = FeatureProjector(gen.mean, gen.std)
        texts = [p[2] for p in prompts]
        rows = []
        joints = []  # per seed: (P, T, 22, 3)
        seconds = []  # per seed: wall time of one batch of all prompts
        for seed in range(args.seeds):
            kw = {"grounding": args.grounding} if args.grounding is not None else {}
            if args.guidance is not None:
                kw["guidance"] = args.guidance
            t1 = time.perf_counter()
            feats = sample_features(gen, texts, [int(args.seconds * FPS)] * len(texts), seed=1000 + seed,
                                    projector=proj, **kw)  # fmt: skip
            seconds.append(time.perf_counter() - t1)
            js = [features_to_joints(f) for f in feats]
            joints.append(np.stack(js))
            for (c, wording, text), J in zip(prompts, js):
                got = classify(J)
                rows.append({"category": c, "wording": wording, "text": text, "seed": seed, "got": got, "ok": got == c})
        if restore is not None:
            part.model.cfg = restore  # load_generator is cached: leave the shipped settings for the next entry
        results[model] = rows
        diversity[model] = seed_diversity(np.stack(joints))
        diversity[model]["ms_per_motion"] = 1000.0 * float(np.median(seconds)) / len(texts)
        print(f"[{model}: {len(rows)} motions, {time.time() - t0:.0f} s]", file=sys.stderr, flush=True)
        if args.json:  # after every model, so a long comparison keeps what it has measured
            Path(args.json).write_text(json.dumps({"rows": results, "diversity": diversity}, indent=1))
    return {"rows": results, "diversity": diversity}


def sampler_config(cfg, spec: str):
    """``cfg`` (a diffusion config) with the sampler settings of ``spec``, e.g. ``eta=0.5 guidance=2 gi=0.3-1 steps=20``.

    Keys (space-separated ``key=value``): ``eta``, ``guidance``, ``steps`` (``sample_steps``), ``gi``
    (``guidance_interval`` as ``lo-hi``, fractions of the noise schedule).
    """
    from dataclasses import replace

    change: dict = {}
    for item in spec.split():
        key, _, value = item.partition("=")
        if key == "eta":
            change["eta"] = float(value)
        elif key == "guidance":
            change["guidance"] = float(value)
        elif key == "steps":
            change["sample_steps"] = int(value)
        elif key == "gi":
            lo, _, hi = value.partition("-")
            change["guidance_interval"] = (float(lo), float(hi))
        else:
            raise SystemExit(f"error: sampler setting {item!r}: use eta=, guidance=, steps= or gi=LO-HI")
    return replace(cfg, **change)


def split_prompts(root: Path, split: str, cats: list[str], per_category: int = 4) -> list[tuple[str, str, str]]:
    """``(category, "training", caption)``: the dataset's own captions of ``split`` clips, ``per_category`` each.

    For choosing sampling settings on the val split (never the benchmark's
    fixed prompts); categories without clips in the split are left out.
    """
    import random

    by_cat: dict[str, set[str]] = defaultdict(set)
    for name, cat, _ in _split_clips(root, split):
        f = root / "texts" / f"{name}.txt"
        if cat in cats and f.is_file():
            by_cat[cat].update(ln.split("#")[0].strip() for ln in f.read_text().splitlines() if ln.strip())
    rng = random.Random(0)
    out = []
    for c in cats:
        caps = sorted(by_cat.get(c, ()))
        out += [(c, "training", t) for t in rng.sample(caps, min(per_category, len(caps)))]
    return out


def seed_diversity(J: np.ndarray) -> dict[str, float]:
    """Joint-space variety of motions ``(S seeds, P prompts, T, 22, 3)``: mean per-joint distance (cm).

    ``seeds``: between seeds of one prompt; ``prompts``: between prompts of one seed; ``ratio`` = seeds / prompts.
    """
    S, P = J.shape[:2]

    def dist(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b, axis=-1).mean() * 100)

    seeds = np.mean([dist(J[i, p], J[j, p]) for p in range(P) for i in range(S) for j in range(i + 1, S)]) if S > 1 else 0.0
    rng = np.random.default_rng(0)
    pairs = [tuple(rng.choice(P, 2, replace=False)) for _ in range(200)]
    prompts = np.mean([dist(J[s, a], J[s, b]) for s in range(S) for a, b in pairs])
    return {"seeds": float(seeds), "prompts": float(prompts), "ratio": float(seeds / max(prompts, 1e-9))}


def print_tables(out: dict) -> None:
    results, diversity = out["rows"], out["diversity"]
    models = list(results)
    print("| category | " + " | ".join(f"{m} train | {m} para" for m in models) + " |")
    print("|---|" + "---|---|" * len(models))
    cats = list(dict.fromkeys(r["category"] for rows in results.values() for r in rows))
    for c in cats:
        cells = []
        for m in models:
            for w in ("training", "paraphrase"):
                rr = [r for r in results[m] if r["category"] == c and r["wording"] == w]
                cells.append(f"{np.mean([r['ok'] for r in rr]):.2f}" if rr else "-")
        print(f"| {c} | " + " | ".join(cells) + " |")
    cells = []
    for m in models:
        for w in ("training", "paraphrase"):
            rr = [r for r in results[m] if r["wording"] == w]
            cells.append(f"**{np.mean([r['ok'] for r in rr]):.2f}**" if rr else "-")
    print("| all | " + " | ".join(cells) + " |")
    print()
    for m in models:
        seeds_ok = []
        for c in ("jump", "kick", "walk-back"):
            rr = [r for r in results[m] if r["category"] == c and r["wording"] == "training"]
            if rr:
                seeds_ok.append(f"{c} {sum(r['ok'] for r in rr)}/{len(rr)}")
        got = Counter(r["got"] for r in results[m] if not r["ok"])
        d = diversity[m]
        print(f"{m}: training-wording seeds right: {', '.join(seeds_ok)}; most frequent wrong answers: "
              + ", ".join(f"{g} {n}" for g, n in got.most_common(5))
              + f"; joint distance between seeds {d['seeds']:.1f} cm, between prompts {d['prompts']:.1f} cm "
              f"(ratio {d['ratio']:.2f}); {d['ms_per_motion']:.0f} ms per motion in one batch of every prompt "
              f"(sampling + physics, load {os.getloadavg()[0]:.1f})")  # fmt: skip


def print_targets(out: dict) -> None:
    """Issue 16's text-following targets, met or not, per model (training wording / paraphrases / rare motions / variety)."""
    print("\n| model | training wording >= 0.85 | paraphrases >= 0.75 | jump, kick, walk-back >= 2/3 seeds each | "
          "seed variety >= 0.30 of prompt variety |\n|---|---|---|---|---|")  # fmt: skip
    for m, rows in out["rows"].items():

        def frac(w: str) -> float:
            rr = [r["ok"] for r in rows if r["wording"] == w]
            return float(np.mean(rr)) if rr else float("nan")

        rare = []
        for c in ("jump", "kick", "walk-back"):
            rr = [r["ok"] for r in rows if r["category"] == c and r["wording"] == "training"]
            if rr:
                rare.append((c, sum(rr), len(rr)))
        rare_ok = bool(rare) and all(3 * k >= 2 * n for _, k, n in rare)
        ratio = out["diversity"][m]["ratio"]
        tr, pa = frac("training"), frac("paraphrase")

        def mark(ok: bool) -> str:
            return "met" if ok else "NOT met"

        print(f"| {m} | {tr:.2f} {mark(tr >= 0.85)} | {pa:.2f} {mark(pa >= 0.75)} | "
              + ", ".join(f"{c} {k}/{n}" for c, k, n in rare) + f" {mark(rare_ok)} | {ratio:.2f} {mark(ratio >= 0.3)} |")


def token_check(root: Path, checkpoints: str | None, cats: list[str], guidance: float) -> dict:
    """Print, per category, floating train windows and the guided first-step share of foreign base tokens."""
    import torch

    from humokit.priors.data import foot_height
    from humokit.priors.layers import lengths_to_mask
    from humokit.priors.sampling import ground_prompts, load_generator
    from humokit.priors.text import get_text_encoder

    gen = load_generator("mask", checkpoints)
    vq, mt = gen.parts["vq"].model.eval(), gen.parts["mask"].model.eval()
    out = {}
    print(f"| category | train windows | floating (feet > 5 cm) by source | floating-window tokens: cond / uncond / guided x{guidance:g} | guided top tokens |")
    print("|---|---|---|---|---|")
    clips = _split_clips(root, "train")
    for cat in cats:
        K = vq.cfg.codebook_size
        clean, hover, floating, n = np.zeros(K), np.zeros(K), Counter(), 0
        for name, c, _ in clips:
            if c != cat:
                continue
            x = np.load(root / "new_joint_vecs" / f"{name}.npy")
            n += 1
            up = foot_height(x) > 0.05
            if up:
                floating[name.lstrip("M").split("_")[0]] += 1
            x = x[: max(vq.unit, len(x) // vq.unit * vq.unit)]
            with torch.no_grad():
                ids = vq.encode(torch.from_numpy((x - gen.mean) / gen.std).float()[None])[0, :, 0]
            (hover if up else clean)[:] += np.bincount(ids.numpy(), minlength=K)
        foreign = torch.from_numpy(hover > clean)  # tokens mostly used by the category's floating windows
        text = TRAINING_WORDING[cat]
        e = get_text_encoder(gen.text_encoder).encode([text])
        sent = torch.from_numpy(np.stack([g.embedding for g in ground_prompts(gen, [text], e.sentence)]))
        N = 15
        ids = torch.full((1, N), mt.mask_id)
        valid = lengths_to_mask(torch.tensor([N]), N)
        with torch.no_grad():
            c, u = mt.logits(ids, valid, sent), mt.logits(ids, valid, torch.zeros_like(sent))
        shares = {k: float(lg.softmax(-1)[0].mean(0)[foreign].sum()) for k, lg in
                  (("cond", c), ("uncond", u), ("guided", u + guidance * (c - u)))}  # fmt: skip
        pg = (u + guidance * (c - u)).softmax(-1)[0].mean(0)
        top = ", ".join(f"{int(t)}{'*' if foreign[t] else ''} {float(pg[t]):.2f}" for t in pg.argsort(descending=True)[:4])
        fl = ", ".join(f"{k} {v}" for k, v in floating.most_common()) or "none"
        print(f"| {cat} | {n} | {fl} | {shares['cond']:.3f} / {shares['uncond']:.3f} / **{shares['guided']:.3f}** | {top} |")
        out[cat] = {"windows": n, "floating": dict(floating), **shares}
    print("\n(floating-window tokens: base tokens used more often by the category's floating train windows than by "
          "the others; *: one of them; "
          "first decoding step, all 15 tokens masked, the training wording grounded as in sampling)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["validate", "models", "diagnose", "vq", "tokens"])
    ap.add_argument("--data", default=os.path.expanduser("~/humokit_data/v1"))
    ap.add_argument("--split", default="val")
    ap.add_argument("--models", default="mask,diffusion,cvae",
                    help="models: comma-separated families; or ';'-separated entries, each a family with optional "
                    "diffusion sampler settings after ':' and/or its own checkpoints folder after '@', e.g. "
                    "'diffusion;diffusion:eta=0.5 gi=0.3-1;diffusion@NEWDIR' (first = baseline)")
    ap.add_argument("--checkpoints", default=None)
    ap.add_argument("--vq", default="vq", help="vq: comma-separated VQ checkpoints (shipped name or folder), first = baseline")
    ap.add_argument("--per-category", type=int, default=12, help="vq / diagnose: real clips per category")
    ap.add_argument("--categories", default=None)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--physics", choices=["kinematic", "none"], default="kinematic")
    ap.add_argument("--wording", choices=["benchmark", "split"], default="benchmark",
                    help="models: the fixed training wording and paraphrases, or the captions of --split clips")
    ap.add_argument("--guidance", type=float, default=None, help="classifier-free guidance (default: the model's)")
    ap.add_argument("--grounding", type=float, default=None, help="prompt grounding weight (default: the model's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("-v", "--verbose", action="store_true", help="validate: print every misclassified clip")
    args = ap.parse_args()
    if args.what == "validate":
        validate(Path(args.data), args.split, verbose=args.verbose)
        return
    if args.what == "diagnose":
        diagnose(Path(args.data), args.split, args.checkpoints, args.threads, args.per_category)
        listening(Path(args.data), args.split, args.checkpoints, args.threads)
        return
    if args.what == "vq":
        res = vq_check(Path(args.data), args.split, args.vq.split(","), args.threads, args.per_category)
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return
    if args.what == "tokens":
        import torch

        torch.set_num_threads(args.threads)
        cats = args.categories.split(",") if args.categories else ["walk", "run", "walk-back", "jump", "wave-left"]
        res = token_check(Path(args.data), args.checkpoints, cats, 4.0 if args.guidance is None else args.guidance)
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=1))
        return
    res = run_models(args)
    print_tables(res)
    if args.wording == "benchmark":
        print_targets(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
