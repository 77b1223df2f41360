#!/usr/bin/env python3
"""Regenerate the hash index of the SQL keyword table in sqli_words.c.

The table words[] (W("name", flags) rows, sorted) is the source of truth. This script reads it
and rewrites the block between the GENERATED markers with slots[]: an open-addressing index
(FNV-1a of the lower-case word, linear probing) holding 1 + the row number of each word. Run it
after editing words[]; the unit tests fail on a stale index.
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "sqli_words.c")
SLOTS = 1024


def fnv1a(word):
    h = 2166136261
    for b in word.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def main():
    src = open(PATH).read()
    words = re.findall(r'^\s+W\("([^"]+)", [^)]*\),$', src, re.M)
    assert words == sorted(words), "words[] must be sorted"
    slots = [0] * SLOTS
    for i, w in enumerate(words):
        h = fnv1a(w) & (SLOTS - 1)
        while slots[h]:
            h = (h + 1) & (SLOTS - 1)
        slots[h] = i + 1
    rows = []
    for k in range(0, SLOTS, 16):
        rows.append("    " + ", ".join("%3d" % v for v in slots[k:k + 16]) + ",")
    block = ("/* BEGIN GENERATED SLOTS (sqli_words_gen.py) */\n"
             "/* clang-format off */\n"
             "static const unsigned short slots[%d] = {\n%s\n};\n"
             "/* clang-format on */\n"
             "/* END GENERATED SLOTS */" % (SLOTS, "\n".join(rows)))
    new, n = re.subn(r"/\* BEGIN GENERATED SLOTS.*?END GENERATED SLOTS \*/", block, src,
                     flags=re.S)
    assert n == 1, "markers not found"
    open(PATH, "w").write(new)


if __name__ == "__main__":
    main()
