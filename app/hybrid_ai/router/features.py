"""Explainable prompt features for the learned router: what kind of task a prompt is and how
many moving parts it has. Pure Python and regular expressions (about 0.1 ms per prompt).

Why these: open models of the size a box serves locally trail frontier models most on
multi-step arithmetic, formal reasoning and code, and least on open-ended writing, role-play
and chat; inside one task type, more quantities, steps and constraints mean more ways to fail.
Every feature is in [0, 1].
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"(?<![\w.])[$€£]?\d+(?:[.,]\d+)*(?:%|st|nd|rd|th)?(?![\w])")
_WORD_NUMBER = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|dozen|half|twice|thrice|double|triple|quarter|third)\b",
    re.I,
)
_SENTENCE = re.compile(r"[.!?](?:\s|$)")
_MATH_WORDS = re.compile(
    r"\b(?:calculate|compute|solve|equation|equations|integer|integers|prime|probability|percent|percentage|"
    r"average|mean|median|sum|product|total|how many|how much|how long|how far|how old|ratio|fraction|"
    r"remainder|divisible|derivative|integral|matrix|vector|polynomial|area|volume|perimeter|radius|"
    r"triangle|circle|square root|sqrt|log|exponent|factorial|digits?|geometric|arithmetic|expected value|"
    r"minimum|maximum|optimi[sz]e|proof|prove|theorem|lemma|formula)\b",
    re.I,
)
_ARITH = re.compile(r"\d\s*[-+*/^×÷=<>]\s*\d|[a-z]\s*\^\s*\d|\b[xyzn]\s*[=+\-*/]|[=≤≥≠∑∫√π]", re.I)
_RATE = re.compile(
    r"%|\bpercent|\bper\b|\beach\b|\bevery\b|\bremaining\b|\bleft\b|\brest of\b|\btimes (?:as|more|less)\b|"
    r"\bhalf\b|\btwice\b|\bdouble|\btriple|\bthird\b|\bquarter\b|\bdiscount|\binterest\b|\bprofit\b|\bspeed\b|"
    r"\brate\b|\baverage\b|\bfraction\b|/\d",
    re.I,
)
_REASONING = re.compile(
    r"\b(?:puzzle|riddle|logic(?:al)?|deduce|infer|therefore|implies|true or false|which (?:one|of)|"
    r"who (?:is|was|will)|if .{0,60}\bthen\b|assume|suppose|given that|paradox|contradiction|step[- ]by[- ]step|"
    r"reason(?:ing)?|justify|explain your answer|brain ?teaser|trick question|sequence|pattern|next number|"
    r"constraint|consistent|possible|impossible|order|rank(?:ing)?|arrange)\b",
    re.I,
)
_CODE = re.compile(
    r"```|\bdef\s+\w+\(|\bclass\s+\w+|#include|\bfunction\b|\bprogram\b|\bimplement|\balgorithm|\bcode\b|"
    r"\bpython\b|\bjava(?:script)?\b|\bc\+\+|\brust\b|\bgolang\b|\bsql\b|\bregex|\bregular expression|"
    r"\bbug\b|\bdebug|\bcompile|\bruntime\b|time complexity|space complexity|\bO\(|\bapi\b|\bhtml\b|\bcss\b|"
    r"\bscript\b|\bdata structure|\barray\b|\blinked list|\bbinary|\brecursi|\bdynamic programming|\bunit test",
    re.I,
)
_STEM = re.compile(
    r"\b(?:physics|chemistry|chemical|reaction|molecule|quantum|thermodynamic|velocity|acceleration|"
    r"electr\w*|satellite|orbit|gravity|enzyme|protein|dna|genetic|statistic\w*|econom\w*|gdp|inflation|"
    r"engineering|circuit|voltage|entropy|equilibrium)\b",
    re.I,
)
_CONSTRAINTS = re.compile(
    r"\bexactly\b|\bmust\b|\bat least\b|\bat most\b|\bno more than\b|\bonly\b|\bwithout\b|\bdo not\b|"
    r"\bdon't\b|\bin \d+ words\b|\bunder \d+ words\b|\bformat\b|\bjson\b|\byaml\b|\bcsv\b|\btable\b|"
    r"\bstart (?:each|every|with)\b|\bend with\b|\bone sentence\b|\brhym\w*|\bacrostic\b|\balphabetical\b",
    re.I,
)
_EXTRACT = re.compile(
    r"\bextract\b|\bidentify\b|\bparse\b|\bclassify\b|\bcategori[sz]e\b|\bsort\b|\breturn (?:the|a|only)\b|"
    r"\bfrom the (?:following|text|passage|data)\b|\bgiven the (?:following|text|passage|data)\b",
    re.I,
)
_OPEN_ENDED = re.compile(
    r"\b(?:story|poem|poetry|haiku|lyrics|song|blog|essay|email|letter|speech|tweet|slogan|advert\w*|"
    r"imagine|pretend|role[- ]?play|act as|you are a|character|dialogue|fiction|creative|describe|"
    r"opinion|feel|favorite|favourite|recommend|suggest|tips|ideas|brainstorm|motivat\w*|persuasive|"
    r"summar\w*|rewrite|rephrase|translate|polish|friendly|casual|hello|hi|thanks|thank you)\b",
    re.I,
)
_QUESTION = re.compile(r"\?")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in pattern.finditer(text))


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
    "questions",
)


def extract(prompt: str, system: str | None = None) -> dict[str, float]:
    """The features of a prompt (the system prompt counts as context for task type only)."""
    text = prompt
    context = f"{system}\n{prompt}" if system else prompt
    words = len(text.split())
    numbers = _count(_NUMBER, text) + 0.5 * _count(_WORD_NUMBER, text)
    return {
        "length": _sat(words, 150.0),
        "quantities": _sat(numbers, 5.0),
        "sentences": _sat(_count(_SENTENCE, text), 5.0),
        "math": _sat(_count(_MATH_WORDS, context), 2.0),
        "arith": _sat(_count(_ARITH, text), 2.0),
        "rates": _sat(_count(_RATE, text), 3.0),
        "reasoning": _sat(_count(_REASONING, context), 2.0),
        "code": _sat(_count(_CODE, context), 2.0),
        "stem": _sat(_count(_STEM, context), 2.0),
        "constraints": _sat(_count(_CONSTRAINTS, context), 2.0),
        "extraction": _sat(_count(_EXTRACT, context), 2.0),
        "open_ended": _sat(_count(_OPEN_ENDED, context), 2.0),
        "questions": _sat(_count(_QUESTION, text), 2.0),
    }
