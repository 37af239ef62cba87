"""Rich caption generation: dozens of varied descriptions per labelled clip.

:func:`rich_texts` turns a clip's labels (content, style; see
:class:`~humokit.motion.texts.ClipLabels`) and its measured kinematics
(:class:`MotionStats`: pelvis speed, heading change, length) into ``n``
distinct captions of varied subjects ("a woman", "the dancer", "he"),
verbs and synonyms ("waves" / "greets someone by waving" / "signals with
a raised hand"), sentence shapes (plain, progressive "is walking",
participle phrases, "there is someone who ...") and optional speed,
turn-angle and repetition words chosen from the measurements (a walk at
0.7 m/s may be "slow", one at 1.6 m/s "brisk"; never the other way round).
Side words follow the clip: mirrored clips get every left/right swapped.

The vocabulary was written for this generator; sentences of humokit's
text-following benchmark (``benchmarks/t2m_kinematic.py``) are held out
and never produced here.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from humokit.motion.texts import _CMU_STYLE, _STYLE, ClipLabels, mirror_text

# ---------------------------------------------------------------------------------------------- vocabulary
# content label -> verb phrases in the base form (first word is the verb that gets conjugated)
_VERBS: dict[str, tuple[str, ...]] = {
    "walk": ("walk forward", "walk straight ahead", "walk in a straight line", "take a walk forward",
             "walk along", "stroll forward", "walk ahead at a steady pace", "go forward on foot",
             "march forward", "step forward one foot after the other", "walk across the room",
             "wander straight ahead", "pace forward", "move forward by walking", "walk a few steps forward",
             "walk down a hallway", "amble forward", "head forward on foot"),
    "run": ("run forward", "jog forward", "run straight ahead", "jog along", "run across the floor",
            "go for a run", "run at a steady pace", "jog straight ahead", "run forward quickly",
            "race forward", "rush ahead on foot", "run in a straight line", "trot forward",
            "run a short distance", "hurry forward at a run"),
    "dash": ("dash forward", "sprint forward", "run forward at full speed", "sprint straight ahead",
             "race ahead as fast as possible", "dash across the floor", "run very fast",
             "make a quick sprint", "bolt forward", "run flat out"),
    "walk-back": ("walk backward", "walk backwards", "step backward several times", "move backwards",
                  "walk in reverse", "take steps backward", "back up step by step", "retreat backward",
                  "step back a few paces", "move back while facing forward", "walk back without turning around",
                  "go backwards on foot"),
    "walk-left": ("walk sideways to the left", "step sideways to the left", "move sideways to the left",
                  "sidestep to the left", "walk to the left side", "side-step left several times",
                  "shift to the left with side steps", "move left while facing forward",
                  "take side steps to the left", "cross step to the left"),
    "walk-right": ("walk sideways to the right", "step sideways to the right", "move sideways to the right",
                   "sidestep to the right", "walk to the right side", "side-step right several times",
                   "shift to the right with side steps", "move right while facing forward",
                   "take side steps to the right", "cross step to the right"),
    "walk-turn-left": ("walk and ^turn left", "walk forward and ^make a left turn", "turn to the left while walking",
                       "walk and ^curve to the left", "walk forward, then ^turn left", "make a left turn while walking",
                       "walk in an arc to the left", "walk and ^change direction to the left",
                       "take a left turn on foot", "walk ahead and ^bend the path to the left",
                       "walk around a corner to the left", "walk and ^turn ninety degrees to the left"),
    "walk-turn-right": ("walk and ^turn right", "walk forward and ^make a right turn", "turn to the right while walking",
                        "walk and ^curve to the right", "walk forward, then ^turn right",
                        "make a right turn while walking", "walk in an arc to the right",
                        "walk and ^change direction to the right", "take a right turn on foot",
                        "walk ahead and ^bend the path to the right", "walk around a corner to the right",
                        "walk and ^turn ninety degrees to the right"),
    "bow": ("bow", "bow politely", "bend forward in a bow", "bow the upper body", "make a deep bow",
            "bend at the waist", "lean the torso forward and ^straighten up again", "bow to greet someone",
            "give a respectful bow", "bow down and ^come back up", "tilt the upper body forward politely",
            "do a formal bow"),
    "bye": ("wave goodbye", "say goodbye with a wave of the hand", "wave a hand to say bye",
            "wave farewell", "raise a hand and ^wave goodbye", "bid farewell with a hand wave",
            "wave to someone who is leaving"),
    "byebye": ("wave goodbye with both arms", "wave bye-bye energetically", "wave both hands to say goodbye",
               "wave farewell with both arms high", "say goodbye waving both hands"),
    "guide": ("gesture to show the way", "guide someone with an arm gesture", "point the way with a hand",
              "show someone where to go", "direct someone with an outstretched arm", "indicate a direction"),
    "respond": ("respond with a gesture", "answer someone with a gesture", "react to someone",
                "reply with a small gesture"),
    "call": ("call someone over with a hand gesture", "beckon someone to come", "wave someone over",
             "signal someone to come closer"),
    "punch": ("throw punches", "punch forward", "box with the fists", "punch the air", "throw a series of punches",
              "strike forward with the fists", "jab forward", "punch straight ahead", "do boxing punches",
              "hit forward with closed fists", "throw quick punches"),
    "kick": ("kick", "kick forward with a leg", "perform a kick", "kick with one leg", "kick the air",
             "lift a leg and ^kick forward", "do a high kick", "kick forward", "strike with the foot",
             "swing a leg out in a kick", "throw a kick", "kick something in front"),
    "slash": ("slash with a sword", "swing a sword", "make slashing motions with the arm", "cut the air with a blade",
              "strike with a sword"),
    "dance-long": ("dance", "perform a long dance", "dance freely", "dance to music", "dance energetically",
                   "move to the rhythm", "do a dance routine", "dance around"),
    "dance-short": ("dance briefly", "perform a short dance", "do a short dance", "dance for a moment",
                    "dance to a beat", "do a few dance moves", "dance around", "move to the music"),
    "wave-both-hands": ("wave both hands", "wave with both hands", "raise both arms and ^wave",
                        "wave both arms above the head", "wave with both arms", "greet someone by waving both hands",
                        "wave both hands in the air", "wave hello with both hands", "swing both raised arms from side to side",
                        "signal with both arms waving", "wave both arms to get attention",
                        "hold both hands up and ^wave them"),
    "wave-left-hand": ("wave with the left hand", "wave the left hand", "raise the left hand and ^wave",
                       "wave the left arm", "wave hello with the left hand", "greet someone by waving the left hand",
                       "wave the left hand in the air", "lift the left arm and ^wave it",
                       "swing the raised left hand from side to side", "signal with the left hand waving",
                       "wave the left arm to get attention", "hold the left hand up and ^wave it",
                       "give a wave with the left hand"),
    "wave-right-hand": ("wave with the right hand", "wave the right hand", "raise the right hand and ^wave",
                        "wave the right arm", "wave hello with the right hand",
                        "greet someone by waving the right hand", "wave the right hand in the air",
                        "lift the right arm and ^wave it", "swing the raised right hand from side to side",
                        "signal with the right hand waving", "wave the right arm to get attention",
                        "hold the right hand up and ^wave it", "give a wave with the right hand"),
    "raise-up-both-hands": ("raise both hands", "lift both arms up", "put both hands up", "raise both arms",
                            "lift both hands above the head", "hold both arms up high", "put both arms in the air",
                            "stretch both arms upward", "raise both hands over the head", "reach up with both arms",
                            "throw both hands up", "lift both arms toward the sky"),
    "raise-up-left-hand": ("raise the left hand", "lift the left arm up", "put the left hand up",
                           "raise the left arm", "lift the left hand above the head", "hold the left arm up high",
                           "put the left arm in the air", "stretch the left arm upward",
                           "raise the left hand over the head", "reach up with the left arm",
                           "lift the left hand toward the sky", "raise the left hand as if asking a question"),
    "raise-up-right-hand": ("raise the right hand", "lift the right arm up", "put the right hand up",
                            "raise the right arm", "lift the right hand above the head",
                            "hold the right arm up high", "put the right arm in the air",
                            "stretch the right arm upward", "raise the right hand over the head",
                            "reach up with the right arm", "lift the right hand toward the sky",
                            "raise the right hand as if asking a question"),
    "jump": ("jump", "jump up", "perform a jump", "jump in place", "jump up and ^land", "leap up",
             "jump into the air", "jump off both feet", "do a vertical jump", "jump up and down",
             "spring up into the air", "bounce up in a jump"),
    "forward-jump": ("jump forward", "leap forward", "do a forward jump", "jump ahead", "jump a distance forward",
                     "make a long jump forward", "jump forward and ^land", "leap ahead off both feet"),
    "reach": ("jump up to reach for something", "reach up high on tiptoe", "jump to grab something above",
              "stretch up to grab something high", "jump and ^reach overhead"),
    "walk-uneven": ("walk on uneven ground", "walk over uneven terrain", "walk carefully on rough ground",
                    "walk over bumpy ground"),
    "balance": ("jump and ^keep balance", "jump and ^balance", "jump then ^balance on the feet",
                "jump and ^steady themselves"),
}  # fmt: skip
_LOCOMOTION = {"walk", "run", "dash", "walk-back", "walk-left", "walk-right", "walk-turn-left", "walk-turn-right",
               "walk-uneven"}  # fmt: skip
_STATIONARY = {"bow", "bye", "byebye", "guide", "respond", "call", "punch", "kick", "slash", "wave-both-hands",
               "wave-left-hand", "wave-right-hand", "raise-up-both-hands", "raise-up-left-hand",
               "raise-up-right-hand"}  # fmt: skip
_WAVES = {"wave-both-hands", "wave-left-hand", "wave-right-hand", "bye", "byebye"}
_SUBJECTS = ("a person", "someone", "a man", "a woman", "the person", "a guy", "a girl", "a boy", "an adult",
             "a figure", "a character", "the man", "the woman", "somebody", "a human", "an actor", "he", "she")  # fmt: skip
_PLAIN_ADVERBS = ("", "", "calmly", "casually", "naturally", "steadily")
_IRREGULAR = {"do": ("does", "doing"), "go": ("goes", "going"), "be": ("is", "being")}


def _conj_third(verb: str) -> str:
    if verb in _IRREGULAR:
        return _IRREGULAR[verb][0]
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _conj_ing(verb: str) -> str:
    if verb in _IRREGULAR:
        return _IRREGULAR[verb][1]
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return verb[:-1] + "ing"
    if (len(verb) >= 3 and verb[-1] not in "aeiouwxy" and verb[-2] in "aeiou" and verb[-3] not in "aeiou"
            and verb not in ("open", "visit", "enter", "offer", "answer", "gather", "wander", "beckon")):  # fmt: skip
        return verb + verb[-1] + "ing"  # run -> running, step -> stepping, jog -> jogging
    return verb + "ing"


def _conjugate(phrase: str, form) -> str:
    """Conjugate the first word and every ``^``-marked word of a base-form verb phrase."""
    words = phrase.split(" ")
    return " ".join(form(w.lstrip("^")) if i == 0 or w.startswith("^") else w for i, w in enumerate(words))


def _third(phrase: str) -> str:
    """Base-form verb phrase -> third person singular ("raise a hand and ^wave" -> "raises a hand and waves")."""
    return _conjugate(phrase, _conj_third)


def _ing(phrase: str) -> str:
    """Base-form verb phrase -> present participle ("run forward" -> "running forward")."""
    return _conjugate(phrase, _conj_ing)


def _base(phrase: str) -> str:
    return phrase.replace("^", "")


# ----------------------------------------------------------------------------------------------- kinematics
@dataclass(frozen=True)
class MotionStats:
    """Measured kinematics of a clip that captions may mention.

    Attributes:
        speed: mean horizontal root speed, m/s.
        turn: heading change over the clip, degrees (positive: to the body's left).
        seconds: length.
    """

    speed: float
    turn: float
    seconds: float


def motion_stats(features: np.ndarray, fps: float = 20.0) -> MotionStats:
    """:class:`MotionStats` of un-normalised HumanML3D features ``(T, 263)``."""
    f = np.asarray(features, dtype=np.float64)
    speed = float(np.linalg.norm(f[:, 1:3], axis=-1).mean() * fps) if len(f) else 0.0
    turn = float(-np.degrees(2.0 * f[:, 0].sum())) if len(f) else 0.0
    return MotionStats(speed, turn, len(f) / fps)


def speed_word(content: str, speed: float) -> str:
    """``"slow"``, ``"normal"`` or ``"fast"`` for a locomotion content at ``speed`` m/s (``""`` otherwise)."""
    if content not in _LOCOMOTION:
        return ""
    slow, fast = (2.2, 3.3) if content in ("run", "dash") else (0.85, 1.45)
    if content in ("walk-back", "walk-left", "walk-right"):
        slow, fast = 0.45, 1.1
    return "slow" if speed < slow else "fast" if speed > fast else "normal"


_SPEED_PHRASES = {
    "slow": ("slowly", "at a slow pace", "unhurriedly", "at a leisurely pace", "taking its time"),
    "fast": ("quickly", "at a fast pace", "briskly", "in a hurry", "rapidly"),
    "normal": ("at a normal pace", "at an even pace", "at a steady speed", "at a regular pace"),
}
_RUN_SPEED = {
    "slow": ("at a jog", "at an easy pace", "lightly", "at a gentle jogging pace"),
    "fast": ("at full speed", "very fast", "as fast as possible", "at a sprint"),
    "normal": ("at a steady pace", "at a running pace", "at a regular pace"),
}
_REPEAT = ("a few times", "several times", "repeatedly", "back and forth", "over and over")


def _modifiers(content: str, stats: MotionStats | None) -> tuple[str, ...]:
    if content in _WAVES:
        return _REPEAT
    if stats is None:
        return ()
    word = speed_word(content, stats.speed)
    if not word:
        return ()
    mods = (_RUN_SPEED if content in ("run", "dash") else _SPEED_PHRASES)[word]
    if content.startswith("walk-turn") and 60 <= abs(stats.turn) <= 130:
        mods = mods + ("by about ninety degrees", "making a quarter turn")
    return mods


# ------------------------------------------------------------------------------------------------ captions
def _verbs(content: str) -> tuple[str, ...]:
    if content in _VERBS:
        return _VERBS[content]
    words = content.replace("-", " ")
    return (f"perform a {words} motion", f"do a {words} movement", f"make a {words} movement")


def _sentence(shape: int, subj: str, verb: str, adv: str, mod: str, stationary: bool) -> str:
    tail = " ".join(x for x in (adv, mod) if x)
    v3, ving = _third(verb), _ing(verb)
    if shape == 0:
        s = f"{subj} {v3} {tail}"
    elif shape == 1:
        s = f"{subj} is {ving} {tail}"
    elif shape == 2:
        s = f"{ving} {tail}"  # a bare activity phrase, as a user might type it
    elif shape == 3:
        s = f"there is {subj} {ving} {tail}" if not subj.startswith(("he", "she")) else f"{subj} {v3} {tail}"
    elif shape == 4:
        s = f"{subj} stands and {v3} {tail}" if stationary else f"{subj} starts to {_base(verb)} {tail}"
    elif shape == 5:
        s = f"{subj} {v3}, {tail}" if tail else f"{subj} {v3}"
    else:
        s = f"in this clip {subj} {v3} {tail}"
    s = " ".join(s.split()).rstrip(",")
    return s[0].upper() + s[1:] + "."


def rich_texts(labels: ClipLabels, stats: MotionStats | None = None, n: int = 24, *, seed: int = 0) -> list[str]:
    """``n`` distinct varied captions for a clip (deterministic in labels, speed word and seed).

    Args:
        labels: the clip's labels (mirrored clips get left/right swapped).
        stats: measured kinematics (speed and turn words are only used when they match them).
        n: number of captions.
    """
    if labels.mirrored:
        return [mirror_text(t) for t in rich_texts(labels.mirrored_labels(), stats, n, seed=seed)]
    style_table = {**_STYLE, **_CMU_STYLE}
    style_subj, style_adv = style_table.get(labels.style, ((), ()))
    plain = labels.style in ("normal", "") or not style_subj
    subjects = _SUBJECTS if plain else tuple(style_subj) + ("a person", "someone", "he", "she")
    adverbs = _PLAIN_ADVERBS if plain else tuple(style_adv) + ("",)
    verbs = _verbs(labels.content)
    mods = _modifiers(labels.content, stats)
    word = speed_word(labels.content, stats.speed) if stats is not None else ""
    key = f"{labels.source}|{labels.content}|{labels.style}|{word}|{seed}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    stationary = labels.content in _STATIONARY
    out: list[str] = []
    for k in range(n * 20):
        verb = verbs[(k + int(rng.integers(len(verbs)))) % len(verbs)]
        subj = subjects[int(rng.integers(len(subjects)))]
        adv = adverbs[int(rng.integers(len(adverbs)))]
        mod = mods[int(rng.integers(len(mods)))] if mods and rng.random() < 0.4 else ""
        if not plain and rng.random() < 0.3:
            adv = ""  # style in the subject only
        text = _sentence(int(rng.integers(7)), subj, verb, adv, mod, stationary)
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out
