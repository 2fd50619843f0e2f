"""Sentence splitting for Chinese (and mixed Chinese/English) government text.

`split_sentences` returns [start, end) spans over the input. Together the spans cover every
non-whitespace character exactly once, in order; whitespace at either end of a sentence is left out.

Rules:
- A sentence ends after 。｡！？!? or ；; at every line break; and at a run of two ideographic
  spaces (U+3000 U+3000), the paragraph indent that survives when HTML is flattened to one line.
  ；is treated as a full end: in government prose it separates enumerated clauses that read on
  their own, and the chunker packs sentences back together, so the finer cut only helps packing.
- Closing quotes/brackets and repeated terminators right after a terminator stay with the
  sentence (“好。”  ……！？）).
- A terminator inside “…”, （…） and similar pairs does not end the sentence; the sentence ends
  where the pair closes right after a terminator. Two escapes keep a stray opener from swallowing
  the text: a pair still open at a line break (or the end of the text) is treated as unclosed and the
  terminators inside it count after all, and so do those inside a pair longer than _MAX_QUOTE chars.
- ASCII '.' ends a sentence only when followed by whitespace or the end of the text, so decimals
  (3.5), versions and domains stay whole, and not after a line-start list marker ("1. ", "a. ").
  ASCII !?; do not end a sentence when glued to a following ASCII word (URLs such as a.php?id=1).
- The ellipsis …… is not an end by itself (government text uses it mid-sentence); a terminator
  after it is. ASCII quotes " and ' are ignored: they cannot be paired reliably.
- Known weakness: English abbreviations ("e.g. ", "Dr. ") end a sentence.
"""

from __future__ import annotations

import re

# The same set str.splitlines() breaks on.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_CJK_TERMINATORS = "。｡！？；"
_TERMINATORS = _CJK_TERMINATORS + "!?;."
_PAIRS = dict(zip("“‘「『（(《〈【[", "”’」』）)》〉】]", strict=True))  # opener -> closer
_CLOSERS = frozenset(_PAIRS.values())
# A quoted passage longer than this is treated as ordinary text: its inner terminators count.
_MAX_QUOTE = 300
# Deeper nesting is not tracked (it only occurs in garbage and would make closers quadratic).
_MAX_DEPTH = 16

_ESC = re.escape
# Only these characters can change the splitter's state; everything else is skipped in C.
_EVENT = re.compile(f"[{_ESC(LINE_BREAKS + _TERMINATORS + ''.join(_PAIRS) + ''.join(_CLOSERS))}\u3000]")
# The run of terminators / closers / ellipsis dots that belongs to the sentence being ended.
_TAIL = re.compile(f"[{_ESC(_TERMINATORS + ''.join(_CLOSERS))}…]*")
_WHITESPACE = re.compile(r"\s*")
_LIST_MARKER = re.compile(r"\s*(?:\d{1,3}|[A-Za-z]|[IVXivx]{1,4})")
_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=&/%#_-")


def _close(stack: list[str], closer: str) -> None:
    """Pop the pair that `closer` closes; a closer that matches nothing open is ignored."""
    if stack and stack[-1] == closer:
        stack.pop()
    elif closer in stack:  # an inner pair was never closed: drop it too
        while stack.pop() != closer:
            pass


def _ascii_ends_here(text: str, i: int, ch: str, line_start: int) -> bool:
    """Whether the ASCII terminator `ch` at `i` ends a sentence (CJK ones always do)."""
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if ch == ".":
        return nxt.isspace() and not (i - line_start <= 12 and _LIST_MARKER.fullmatch(text, line_start, i))
    return nxt not in _ASCII_WORD


def _cut_points(text: str) -> list[int]:
    """Positions where one sentence ends and the next may begin (line breaks included)."""
    cuts: list[int] = []
    stack: list[str] = []  # expected closers of the open pairs
    quote_start = 0  # where the outermost open pair began
    deferred: list[int] = []  # ends found inside the open pair, used if the pair proves unclosed/long
    line_start = 0
    pos = 0
    search = _EVENT.search
    while m := search(text, pos):
        i = m.start()
        ch = text[i]
        pos = i + 1
        if ch == "\u3000" and text[pos : pos + 1] != "\u3000":
            continue  # a single ideographic space is just a space
        if ch in LINE_BREAKS or ch == "\u3000":
            if stack:  # unclosed pair: its inner terminators count after all
                cuts.extend(deferred)
                stack.clear()
                deferred.clear()
            cuts.append(i)
            # Blank lines and indentation hold nothing to cut: skip them in one step.
            # (The splitter's "line" also starts after a U+3000 U+3000 paragraph indent.)
            pos = line_start = _WHITESPACE.match(text, pos).end()
        elif ch in _PAIRS:
            if not stack:
                quote_start = i
            if len(stack) < _MAX_DEPTH:
                stack.append(_PAIRS[ch])
        elif ch in _CLOSERS:
            if stack:
                _close(stack, ch)
                if not stack:
                    if i - quote_start > _MAX_QUOTE:
                        cuts.extend(deferred)
                    deferred.clear()
        elif ch in _CJK_TERMINATORS or _ascii_ends_here(text, i, ch, line_start):
            end = _TAIL.match(text, i).end()
            was_open = bool(stack)
            for c in text[i:end]:
                if c in _CLOSERS and stack:
                    _close(stack, c)
            if stack:
                deferred.append(end)
            else:
                if was_open and i - quote_start > _MAX_QUOTE:
                    cuts.extend(deferred)
                deferred.clear()
                cuts.append(end)
            pos = end
    if stack:
        cuts.extend(deferred)
    return cuts


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentence spans [start, end), trimmed of whitespace, in order."""
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in (*_cut_points(text), len(text)):
        if cut <= prev:
            continue
        if not (text[prev].isspace() or text[cut - 1].isspace()):
            spans.append((prev, cut))  # the common case: nothing to trim
        else:
            seg = text[prev:cut]
            stripped = seg.strip()
            if stripped:
                start = prev + len(seg) - len(seg.lstrip())
                spans.append((start, start + len(stripped)))
        prev = cut
    return spans
