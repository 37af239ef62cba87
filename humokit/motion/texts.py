"""Text descriptions for motion clips from hand-written templates.

Bandai Namco clips are labelled by *content* (what: walk, bow, wave-left-hand,
...) and *style* (how: elderly, happy, ...); CMU clips by their database
description ("slow walk", "forward jump"). :func:`clip_texts` turns those
labels into several paraphrases, e.g. "an elderly person slowly waves with the
left hand". :class:`ClipLabels` keeps the labels so evaluations can group by
them. Mirroring swaps every left/right word (:func:`mirror_text`,
:meth:`ClipLabels.mirrored`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, replace

import numpy as np

# content label -> verb phrases (third person)
_CONTENT: dict[str, tuple[str, ...]] = {
    "walk": ("walks forward", "walks straight ahead", "takes a walk forward"),
    "run": ("runs forward", "jogs forward", "runs straight ahead"),
    "dash": ("dashes forward", "sprints forward", "runs forward at full speed"),
    "walk-back": ("walks backward", "walks backwards", "steps backward several times"),
    "walk-left": ("walks to the left", "walks sideways to the left", "steps to the left"),
    "walk-right": ("walks to the right", "walks sideways to the right", "steps to the right"),
    "walk-turn-left": ("walks and turns left", "walks forward and makes a left turn", "turns to the left while walking"),
    "walk-turn-right": ("walks and turns right", "walks forward and makes a right turn", "turns to the right while walking"),
    "bow": ("bows", "bows politely", "bends forward in a bow"),
    "bye": ("waves goodbye", "says goodbye with a wave of the hand", "waves a hand to say bye"),
    "byebye": ("waves goodbye with both arms", "waves bye-bye energetically", "waves both hands to say goodbye"),
    "guide": ("gestures to show the way", "guides someone with an arm gesture", "points the way with a hand"),
    "respond": ("responds with a gesture", "answers someone with a gesture", "reacts to someone"),
    "call": ("calls someone over with a hand gesture", "beckons someone to come", "waves someone over"),
    "punch": ("throws punches", "punches forward", "boxes with the fists"),
    "kick": ("kicks", "kicks forward with a leg", "performs a kick"),
    "slash": ("slashes with a sword", "swings a sword", "makes slashing motions with the arm"),
    "dance-long": ("dances", "performs a long dance", "dances freely"),
    "dance-short": ("dances briefly", "performs a short dance", "does a short dance"),
    "wave-both-hands": ("waves both hands", "waves with both hands", "raises both arms and waves"),
    "wave-left-hand": ("waves with the left hand", "waves the left hand", "raises the left hand and waves"),
    "wave-right-hand": ("waves with the right hand", "waves the right hand", "raises the right hand and waves"),
    "raise-up-both-hands": ("raises both hands", "lifts both arms up", "puts both hands up"),
    "raise-up-left-hand": ("raises the left hand", "lifts the left arm up", "puts the left hand up"),
    "raise-up-right-hand": ("raises the right hand", "lifts the right arm up", "puts the right hand up"),
    # CMU contents
    "jump": ("jumps", "jumps up", "performs a jump"),
    "forward-jump": ("jumps forward", "leaps forward", "does a forward jump"),
    "reach": ("jumps up to reach for something", "reaches up high on tiptoe", "jumps to grab something above"),
    "walk-uneven": ("walks on uneven ground", "walks over uneven terrain", "walks carefully on rough ground"),
    "balance": ("jumps and keeps balance", "jumps and balances", "jumps then balances on the feet"),
}
# style label -> (subject phrases, adverbial phrases)
_STYLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "normal": (("a person", "someone", "a man"), ("normally", "in an ordinary way", "calmly")),
    "happy": (("a happy person", "a cheerful person"), ("happily", "cheerfully", "joyfully")),
    "sad": (("a sad person", "an unhappy person"), ("sadly", "gloomily", "with a sad air")),
    "angry": (("an angry person", "a furious person"), ("angrily", "furiously", "in anger")),
    "proud": (("a proud person", "a confident person"), ("proudly", "with pride", "confidently")),
    "not-confident": (("an insecure person", "a shy person"), ("timidly", "hesitantly", "without confidence")),
    "masculinity": (("a masculine person", "a manly person"), ("in a masculine way", "in a manly way", "boldly")),
    "masculine": (("a masculine person", "a manly person"), ("in a masculine way", "in a manly way", "boldly")),
    "feminine": (("a feminine person", "a graceful woman"), ("in a feminine way", "gracefully", "elegantly")),
    "childish": (("a childish person", "a person acting like a child"), ("childishly", "playfully", "like a child")),
    "old": (("an elderly person", "an old person"), ("slowly", "like an old person", "stiffly")),
    "elderly": (("an elderly person", "an old person"), ("slowly", "like an old person", "stiffly")),
    "tired": (("a tired person", "an exhausted person"), ("wearily", "tiredly", "sluggishly")),
    "exhausted": (("an exhausted person", "a worn-out person"), ("wearily", "with exhaustion", "sluggishly")),
    "active": (("an energetic person", "an active person"), ("energetically", "actively", "vigorously")),
    "musical": (("a person", "a performer"), ("theatrically", "like in a musical", "rhythmically")),
    "giant": (("a giant", "a huge heavy person"), ("heavily", "like a giant", "with heavy steps")),
    "chimpira": (("a thug", "a street punk"), ("with a swagger", "like a thug", "aggressively")),
    "youthful": (("a young person", "a youthful person"), ("youthfully", "with youthful energy", "lightly")),
}
_TEMPLATES = ("{subj} {verb}.", "{who} {verb} {adv}.", "{subj} {adv_first} {verb}.")
_SIDE_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}
_SIDE_RE = re.compile(r"\b(left|right|Left|Right|LEFT|RIGHT)\b")
_SIDE_LABEL_RE = re.compile(r"(?<![a-z])(left|right)(?![a-z])")

# CMU descriptions (lower-case) -> (content label, style label)
_CMU: dict[str, tuple[str, str]] = {
    "walk": ("walk", "normal"), "slow walk": ("walk", "slow"), "brisk walk": ("walk", "brisk"),
    "walk/stride": ("walk", "stride"), "slow walk/stride": ("walk", "slow"),
    "walk, exaggerated stride": ("walk", "stride"), "walk on uneven terrain": ("walk-uneven", "normal"),
    "run": ("run", "normal"), "run/jog": ("run", "jog"), "jump": ("jump", "normal"),
    "forward jump": ("forward-jump", "normal"), "jump, balance": ("balance", "normal"),
    "jump up to grab, reach for, tiptoe": ("reach", "normal"),
}  # fmt: skip
_CMU_STYLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "slow": (("a person", "someone"), ("slowly", "at a slow pace", "leisurely")),
    "brisk": (("a person", "someone"), ("briskly", "at a brisk pace", "quickly")),
    "stride": (("a person", "someone"), ("with long strides", "with an exaggerated stride", "taking big steps")),
    "jog": (("a person", "a jogger"), ("at a jogging pace", "lightly", "at an easy pace")),
}


@dataclass(frozen=True)
class ClipLabels:
    """Labels of one take.

    Attributes:
        source: dataset, e.g. ``"bandai-namco-1"``, ``"bandai-namco-2"``, ``"cmu"``.
        content: what is done (``"walk"``, ``"wave-left-hand"``, ...).
        style: how (``"elderly"``, ``"normal"``, ...).
        subject: performer or subject id (``"cmu-07"``); dataset name if unknown.
        description: original free-text description (CMU) or ``content style``.
        mirrored: True for the left/right mirrored copy.
    """

    source: str
    content: str
    style: str = "normal"
    subject: str = ""
    description: str = ""
    mirrored: bool = False

    def mirrored_labels(self) -> "ClipLabels":
        """Labels of the mirrored clip: left/right swapped in content and description."""
        return replace(
            self,
            content=_SIDE_LABEL_RE.sub(lambda m: _SIDE_SWAP[m.group(1)], self.content),
            description=mirror_text(self.description),
            mirrored=not self.mirrored,
        )

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "content": self.content, "style": self.style,
                "subject": self.subject, "description": self.description, "mirrored": self.mirrored}  # fmt: skip


def mirror_text(text: str) -> str:
    """Swap the words left and right (keeping case)."""
    return _SIDE_RE.sub(lambda m: _SIDE_SWAP[m.group(1)], text)


def cmu_labels(description: str, subject: str) -> ClipLabels:
    """Labels for a CMU clip from its database description."""
    d = " ".join(description.lower().split())
    content, style = _CMU.get(d, (re.sub(r"[^a-z]+", "-", d).strip("-") or "unknown", "normal"))
    return ClipLabels("cmu", content, style, subject, description)


def _verbs(content: str) -> tuple[str, ...]:
    if content in _CONTENT:
        return _CONTENT[content]
    words = content.replace("-", " ")
    return (f"performs a {words} motion", f"does a {words} movement", f"moves: {words}")


def clip_texts(labels: ClipLabels, n: int = 3, *, seed: int = 0) -> list[str]:
    """``n`` distinct paraphrases for a clip (deterministic for given labels and seed)."""
    if labels.mirrored:
        return [mirror_text(t) for t in clip_texts(labels.mirrored_labels(), n, seed=seed)]
    style_table = {**_STYLE, **_CMU_STYLE}
    subjects, adverbs = style_table.get(labels.style, (("a person",), (f"in a {labels.style} way",)))
    verbs = _verbs(labels.content)
    key = f"{labels.source}|{labels.content}|{labels.style}|{labels.subject}|{seed}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    out: list[str] = []
    plain = labels.style == "normal"
    for k in range(max(n * 4, 12)):
        verb = verbs[(k + int(rng.integers(len(verbs)))) % len(verbs)]
        subj = subjects[int(rng.integers(len(subjects)))]
        adv = adverbs[int(rng.integers(len(adverbs)))]
        tpl = _TEMPLATES[k % len(_TEMPLATES)]
        if plain and k % len(_TEMPLATES) == 2:
            tpl = "{subj} {verb}."
        adv_first = adv if " " not in adv else ""
        text = tpl.format(subj=subj, who=subjects[0] if plain else "a person", verb=verb, adv=adv,
                          adv_first=adv_first)  # fmt: skip
        text = " ".join(text.split())
        text = text[0].upper() + text[1:]
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def tokens(text: str) -> str:
    """HumanML3D-style token field: ``word/OTHER`` for each lower-case word (no POS tagger)."""
    return " ".join(f"{w}/OTHER" for w in re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower()))


def humanml3d_lines(texts: list[str], start: float = 0.0, end: float = 0.0) -> str:
    """``caption#tokens#start#end`` lines (0.0#0.0 = the whole clip)."""
    return "".join(f"{t}#{tokens(t)}#{start:.1f}#{end:.1f}\n" for t in texts)
