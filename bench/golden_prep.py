#!/usr/bin/env python3
"""Input preparation for bench/golden.sh (the before/after behaviour snapshot).

  golden_prep.py split-corpus TSV OUT_DIR
      Split a bench corpus (bench/gen_corpus.py's TSV) by location, keeping the order of the
      events: OUT_DIR/NN.txt holds the event texts of the NN-th location met, one per line, for
      tld-logtest (which takes one --location per run). Prints "NN<TAB>location" per group.

  golden_prep.py ini-logs INI_DIR OUT_DIR
      Every log line of every Wazuh-format .ini test file, in file, section and key order:
      OUT_DIR/<name>.log (one event per line, for tld-logtest) and OUT_DIR/all.tsv (the same
      events as a bench corpus at location "stdin", for bench_engine). Lines are cut and trimmed
      the way tld-logtest --test reads them (RawConfigParser continuation lines, then one event
      per non-empty line of a `log ...` key).

  golden_prep.py tests-ruleset RULESET_DIR DEST_DIR
      The ruleset set up as tests/conformance/run-wazuh-tests sets it up, as a folder a
      `--ruleset` option can take: DEST_DIR/{decoders,rules,lists} copied, rule 60000 patched by
      that script's own function; prints the extra --decoders/--rules options for the
      testing/ruleset files, one per line, in the order run-wazuh-tests passes them.
"""
import glob
import importlib.machinery
import importlib.util
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SPACE = b" \t\r\n\v\f"


def split_corpus(tsv, out):
    os.makedirs(out, exist_ok=True)
    groups = {}
    files = []
    with open(tsv, "rb") as f:
        for raw in f:
            cols = raw.rstrip(b"\n").split(b"\t", 4)
            if len(cols) < 5:
                continue
            if cols[0] not in groups:
                groups[cols[0]] = len(groups)
                files.append(open(os.path.join(out, f"{groups[cols[0]]:02d}.txt"), "wb"))
            files[groups[cols[0]]].write(cols[4] + b"\n")
    for f in files:
        f.close()
    for loc, n in groups.items():
        sys.stdout.write(f"{n:02d}\t{loc.decode('utf-8', 'surrogateescape')}\n")


def ini_keys(data):
    """(section, key, value) of an .ini text, continuation lines joined with newlines."""
    keys = []  # [section, key, [lines]]
    index = {}
    section = None
    current = None
    indent = 0
    for line in data.split(b"\n"):
        value = line.strip(SPACE)
        if not value or value[:1] in (b"#", b";"):
            if not value and section is not None and current is not None:
                current[2].append(b"")
            continue
        cur_indent = len(line) - len(line.lstrip(SPACE))
        if section is not None and current is not None and cur_indent > indent:
            current[2].append(value)
            continue
        indent = cur_indent
        close = value.rfind(b"]")
        if value[:1] == b"[" and close > 1:
            section = value[1:close]
            current = None
            continue
        if section is None:
            continue
        m = re.match(rb"[^=:]*", value)
        name = m.group(0).strip(SPACE).lower()
        if m.end() == len(value) or not name:
            current = None
            continue
        rest = value[m.end() + 1:].strip(SPACE)
        if (section, name) in index:
            current = index[(section, name)]
            current[2].append(rest)
        else:
            current = [section, name, [rest]]
            index[(section, name)] = current
            keys.append(current)
    order = {}
    for sec, _, _ in keys:
        order.setdefault(sec, len(order))
    return sorted(keys, key=lambda k: order[k[0]])  # sections in order, as tld-logtest runs them


def ini_logs(ini_dir, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "all.tsv"), "wb") as tsv:
        for path in sorted(glob.glob(os.path.join(ini_dir, "*.ini"))):
            with open(path, "rb") as f:
                keys = ini_keys(f.read())
            name = os.path.splitext(os.path.basename(path))[0]
            with open(os.path.join(out, name + ".log"), "wb") as log:
                for _, key, lines in keys:
                    if not key.startswith(b"log "):
                        continue
                    for text in b"\n".join(lines).split(b"\n"):
                        text = text.strip(SPACE)
                        if text:
                            log.write(text + b"\n")
                            tsv.write(b"stdin\t-\t-\t-\t" + text + b"\n")


def tests_ruleset(ruleset, dest):
    loader = importlib.machinery.SourceFileLoader(
        "run_wazuh_tests", os.path.join(ROOT, "tests", "conformance", "run-wazuh-tests"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    rwt = importlib.util.module_from_spec(spec)
    loader.exec_module(rwt)
    for sub in ("decoders", "rules", "lists"):
        if os.path.isdir(os.path.join(ruleset, sub)):
            shutil.copytree(os.path.join(ruleset, sub), os.path.join(dest, sub))
    win = os.path.join(dest, "rules", "0575-win-base_rules.xml")
    if os.path.exists(win):
        with open(win, encoding="utf-8", errors="surrogateescape") as f:
            text = rwt.patch_rule_60000(f.read())
        with open(win, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
    for path in sorted(glob.glob(os.path.join(ruleset, "testing", "ruleset", "*.xml"))):
        m = rwt.TEST_FILE.match(os.path.basename(path))
        if m:
            print("--rules" if m.group(2) == "rules" else "--decoders")
            print(path)


def main(argv):
    if len(argv) == 3 and argv[0] == "split-corpus":
        split_corpus(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "ini-logs":
        ini_logs(argv[1], argv[2])
    elif len(argv) == 3 and argv[0] == "tests-ruleset":
        tests_ruleset(argv[1], argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
