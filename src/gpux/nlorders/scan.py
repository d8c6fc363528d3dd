"""The text being parsed: a lowercased copy, the spans read so far and what they meant.

Every recognizer searches the working copy, in which the characters of spans already read
are blanked with a mark no pattern matches, so no word is read twice and no pattern reaches
across a span read by another. The copy has the length of the original text, so any span
quotes the user's own words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

READ = "\x01"

_SAME_LENGTH = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2019": "'",
                              "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def _lower(text: str) -> str:
    lowered = text.translate(_SAME_LENGTH).lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters grow when lowercased (e.g. U+0130); keep them as they were.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text.translate(_SAME_LENGTH))


@dataclass(frozen=True, slots=True)
class Mention:
    """One span of the text read as one thing: its kind, its value, where it is."""

    kind: str
    value: object
    start: int
    end: int


@dataclass(slots=True)
class Scan:
    """Original text, its working copy and the mentions found in it."""

    text: str
    work: str = ""
    mentions: list[Mention] = field(default_factory=list)

    low: str = ""

    def __post_init__(self) -> None:
        self.low = _lower(self.text)
        self.work = self.low

    def work_low(self, start: int, end: int) -> str:
        """The lowercased original text in [start, end) (read or not)."""
        return self.low[start:end]

    def words(self, start: int, end: int) -> str:
        """The user's own words in [start, end), spaces squeezed."""
        return " ".join(self.text[start:end].split())

    def take(self, start: int, end: int, kind: str, value: object) -> Mention:
        """Record [start, end) as read, meaning `value` of `kind`."""
        self.work = self.work[:start] + READ * (end - start) + self.work[end:]
        mention = Mention(kind, value, start, end)
        self.mentions.append(mention)
        return mention

    def find(self, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
        """Matches of `pattern` in the unread text, first to last (the text may change)."""
        pos = 0
        while True:
            m = pattern.search(self.work, pos)
            if m is None:
                return
            yield m
            pos = max(m.end(), pos + 1) if m.end() > m.start() else m.start() + 1

    def of(self, *kinds: str) -> list[Mention]:
        """Mentions of the given kinds, in the order they appear in the text."""
        return sorted((m for m in self.mentions if m.kind in kinds), key=lambda m: m.start)
