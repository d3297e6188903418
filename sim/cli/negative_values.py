"""Negative-looking option values: ``--until -1s`` reads as ``--until=-1s``.

argparse takes a word that starts with ``-`` for an option unless it is a plain
negative number (``-1``, ``-0.5``), so ``--until -1s`` or ``--freq-hz -1e9``
failed with argparse's "expected one argument" while ``--until=-1s`` reached
our own check and its message naming the allowed range.  No option of ours
starts with ``-`` and a digit, so such a word after a ``--long`` option can
only be meant as that option's value; joining the two with ``=`` (argparse's
documented spelling of an option's value) makes both spellings give the same
message.  After a flag that takes no value, argparse then says so itself.
"""
from __future__ import annotations

import re

#: A word argparse would take for an option but that reads as a (negative) number or duration: -1s, -1e9, -.5ms
_NEGATIVE = re.compile(r"-\.?\d")


def join_negative_values(argv) -> list[str]:
    """*argv* with every ``--option -VALUE`` pair whose value starts with a digit written ``--option=-VALUE``.

    Words after a bare ``--`` (the end of options) are left as they are.

    Parameters
    ----------
    argv : sequence of str
        Command-line words without the program name.

    Returns
    -------
    list of str
        The words to give argparse.
    """
    out: list[str] = []
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            out.extend(words[i:])
            break
        if (word.startswith("--") and "=" not in word and i + 1 < len(words)
                and _NEGATIVE.match(words[i + 1])):
            out.append(f"{word}={words[i + 1]}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out
