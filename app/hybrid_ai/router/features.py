"""Explainable prompt features for the learned router: what kind of task a prompt is and how
many moving parts it has. Pure Python: one pass to split words, set look-ups for cue words,
and a few regular expressions that start with a literal (well under a millisecond for a
typical prompt; long prompts are read as their first 6,000 and last 2,000 characters).

Why these: open models of the size a box serves locally trail frontier models most on
multi-step arithmetic, formal reasoning and code, and least on open-ended writing, role-play
and chat; inside one task type, more quantities, steps and constraints mean more ways to fail.
Every feature is in [0, 1).
"""

from __future__ import annotations

import math
import re
from collections import Counter

_MAX_CHARS = 8000
_WORD = re.compile(r"[a-z0-9+#'-]+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"\w\w[.!?]['\")]?(?:\s|$)")  # not "A." of a multiple-choice option
_ARITH = re.compile(r"\d ?[-+*/^×÷=<>] ?\d|\^ ?\d|[=≤≥≠∑∫√π]")
_QUESTION = re.compile(r"\?")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


class _Doc:
    """A prompt split once: word counts and the words joined by single spaces (for phrases)."""

    __slots__ = ("joined", "text", "unigrams")

    def __init__(self, text: str) -> None:
        self.text = text
        words = _WORD.findall(text.lower())
        self.unigrams = Counter(words)
        self.joined = " " + " ".join(words) + " "


class _Lexicon:
    """A family of cues: single words, phrases, word prefixes, and patterns on the raw text
    (each starting with a literal, so the regex engine skips ahead quickly)."""

    def __init__(self, words: str, phrases: str = "", prefixes: str = "", extra: tuple[str, ...] = ()) -> None:
        self.words = frozenset(words.split())
        self.phrases = tuple(f" {p} " for p in phrases.split("|") if p)
        self.prefixes = tuple(prefixes.split())
        self.extra = tuple(re.compile(e) for e in extra)

    def count(self, doc: _Doc) -> int:
        words, prefixes = self.words, self.prefixes
        n = sum(c for w, c in doc.unigrams.items() if w in words or (prefixes and w.startswith(prefixes)))
        n += sum(doc.joined.count(p) for p in self.phrases)
        n += sum(_count(p, doc.text) for p in self.extra)
        return n


_WORD_NUMBER = _Lexicon(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred "
    "thousand million dozen half twice thrice double triple quarter third"
)
_MATH_WORDS = _Lexicon(
    "calculate compute solve equation equations integer integers prime probability percent percentage average "
    "mean median sum product total ratio fraction remainder divisible derivative integral matrix vector "
    "polynomial area volume perimeter radius triangle circle sqrt log exponent factorial digit digits "
    "geometric arithmetic minimum maximum optimize optimise proof prove theorem lemma formula",
    "how many|how much|how long|how far|how old|square root|expected value",
)
_RATE = _Lexicon(
    "percent per each every remaining left half twice third quarter interest profit speed rate average fraction",
    "rest of|times as|times more|times less",
    "double triple discount",
    extra=("%", r"/\d"),
)
_REASONING = _Lexicon(
    "puzzle riddle logic logical deduce infer therefore implies assume suppose paradox contradiction reason "
    "reasoning justify brainteaser sequence pattern constraint consistent possible impossible order rank "
    "ranking arrange uncertain statements relationship clue clues",
    "true or false|which one|who is|who was|who will|given that|step by step|step-by-step|"
    "explain your answer|brain teaser|trick question|next number|odd one out|does not belong|"
    "true false or uncertain|which direction",
)
_CODE = _Lexicon(
    "function program code python java javascript typescript c++ c# kotlin swift rust golang sql bash shell "
    "bug runtime api html css script array binary cache lru thread-safe concurrency mutex struct interface "
    "endpoint database query docker kubernetes git linux",
    "regular expression|time complexity|space complexity|data structure|linked list|dynamic programming|unit test",
    "implement algorithm regex debug compil recursi",
    extra=("```", "#include", r"def \w+\(", r"class \w+", r"O\("),
)
_STEM = _Lexicon(
    "physics chemistry chemical reaction molecule quantum thermodynamic thermodynamics velocity acceleration "
    "satellite orbit gravity enzyme protein dna genetic gdp inflation engineering circuit voltage entropy "
    "equilibrium",
    "",
    "electr statistic econom",
)
_CONSTRAINTS = _Lexicon(
    "exactly must only without don't format json yaml csv table acrostic alphabetical",
    "at least|at most|no more than|do not|start each|start every|start with|end with|one sentence",
    "rhym",
    extra=(r"\d+ words",),
)
_EXTRACT = _Lexicon(
    "extract identify parse classify categorize categorise sort",
    "return the|return a|return only|from the following|from the text|from the passage|from the data|"
    "given the following|given the text|given the passage|given the data",
)
_OPEN_ENDED = _Lexicon(
    "story poem poetry haiku lyrics song blog essay email letter speech tweet slogan imagine character dialogue "
    "fiction creative describe opinion feel favorite favourite recommend suggest tips ideas brainstorm "
    "persuasive rewrite rephrase translate polish friendly casual hello hi thanks",
    "thank you",
    "advert motivat summar",
)
# Role-play framing: the model answers in a persona, where fluency matters more than rigour.
_PERSONA = _Lexicon(
    "pretend roleplay role-play persona embrace impersonate",
    "act as|you are a|you are an|you are now|now you are|imagine you are|imagine yourself|picture yourself|"
    "suppose you are|role of|play the role|in the style of|as if you were|speak like|talk like|stay in character",
)


def _sat(count: float, scale: float) -> float:
    """A count squashed into [0, 1): 1 - exp(-count/scale)."""
    return 1.0 - math.exp(-count / scale) if count > 0 else 0.0


FEATURE_NAMES = (
    "length",
    "quantities",
    "sentences",
    "math",
    "arith",
    "rates",
    "reasoning",
    "code",
    "stem",
    "constraints",
    "extraction",
    "open_ended",
    "persona",
    "questions",
)


def extract(prompt: str, system: str | None = None) -> dict[str, float]:
    """The features of a prompt. The system prompt is context for the demanding task types (math,
    reasoning, code, STEM, constraints, extraction) only: deployments put "You are a friendly
    assistant" there, which says nothing about how hard this request is."""
    text = prompt if len(prompt) <= _MAX_CHARS else prompt[: _MAX_CHARS - 2000] + "\n" + prompt[-2000:]
    doc = _Doc(text)
    ctx = _Doc(f"{system}\n{text}") if system else doc
    numbers = _count(_NUMBER, text) + 0.5 * _WORD_NUMBER.count(doc)
    if_then = min(doc.unigrams.get("if", 0), doc.unigrams.get("then", 0))
    return {
        "length": _sat(len(prompt.split()), 150.0),
        "quantities": _sat(numbers, 5.0),
        "sentences": _sat(_count(_SENTENCE, text), 5.0),
        "math": _sat(_MATH_WORDS.count(ctx), 2.0),
        "arith": _sat(_count(_ARITH, text), 2.0),
        "rates": _sat(_RATE.count(doc), 3.0),
        "reasoning": _sat(_REASONING.count(ctx) + if_then, 2.0),
        "code": _sat(_CODE.count(ctx), 2.0),
        "stem": _sat(_STEM.count(ctx), 2.0),
        "constraints": _sat(_CONSTRAINTS.count(ctx), 2.0),
        "extraction": _sat(_EXTRACT.count(ctx), 2.0),
        "open_ended": _sat(_OPEN_ENDED.count(doc), 2.0),
        "persona": _sat(_PERSONA.count(doc), 1.0),
        "questions": _sat(_count(_QUESTION, text), 2.0),
    }
