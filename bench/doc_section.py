#!/usr/bin/env python3
"""Write one benchmark's section into docs/performance.md.

    bench/doc_section.py NAME TITLE < markdown

The section sits between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`: an existing one is
replaced, a new one goes before "## How to reproduce" (or at the end). bench/report.py, which
rewrites the document for the engine figures, keeps these sections, so each benchmark of
`make bench` updates its own part and leaves the others as they were.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "performance.md")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench/doc_section.py NAME TITLE < markdown")
    name, title = sys.argv[1], sys.argv[2]
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n## {title}\n\n{sys.stdin.read().strip()}\n{end}\n"
    doc = open(DOC).read() if os.path.exists(DOC) else "# Performance\n"
    if begin in doc and end in doc:
        a, b = doc.index(begin), doc.index(end) + len(end)
        doc = doc[:a] + block.rstrip("\n") + doc[b:]
    elif "## How to reproduce" in doc:
        a = doc.index("## How to reproduce")
        doc = doc[:a] + block + "\n" + doc[a:]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    with open(DOC, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
