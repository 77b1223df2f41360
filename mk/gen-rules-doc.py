#!/usr/bin/env python3
"""Write the rule tables of docs/rules.md from ruleset/rules/*.xml.

The tables sit between the lines "<!-- rules table: begin -->" and "<!-- rules table: end -->";
everything else in docs/rules.md is hand-written and kept. One table per rule file, one row per
rule in file order: id, level, description, groups, MITRE ATT&CK (ids with names from the
engine's table in src/engine/alert/mitre_data.c) and compliance (pci_dss, gdpr, hipaa, nist_800_53,
tsc, gpg13, cis), plus what the rule hangs under.

  mk/gen-rules-doc.py            rewrite docs/rules.md
  mk/gen-rules-doc.py --check    exit 1 (and say so) if docs/rules.md is not up to date
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "rules.md")
BEGIN, END = "<!-- rules table: begin -->", "<!-- rules table: end -->"
COMPLIANCE = [("pci_dss_", "PCI DSS"), ("cis_", "CIS"), ("gdpr_", "GDPR"), ("gpg13_", "GPG13"),
              ("hipaa_", "HIPAA"), ("nist_800_53_", "NIST 800-53"), ("tsc_", "TSC")]


def mitre_names():
    text = open(os.path.join(ROOT, "src", "engine", "alert", "mitre_data.c"), encoding="utf-8").read()
    return dict(re.findall(r'\{"(T\d{4}(?:\.\d{3})?)", "([^"]*)"', text))


def text_of(body, tag):
    """Concatenated texts of every <tag> element (the dialect concatenates repeats)."""
    return "".join(re.findall(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", body, re.S))


def rules_of(path):
    text = re.sub(r"<!--.*?-->", "", open(path, encoding="utf-8").read(), flags=re.S)
    for group in re.finditer(r'<group\s+name="([^"]*)"\s*>(.*?)</group>\s*(?=<group|\Z)', text,
                             re.S):
        gname, gbody = group.group(1), group.group(2)
        for m in re.finditer(r"<rule\s([^>]*)>(.*?)</rule>", gbody, re.S):
            attrs = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', m.group(1)))
            body = m.group(2)
            desc = text_of(body, "description").replace("\n", " ")
            groups = (gname + text_of(body, "group").replace("\n", "")).split(",")
            yield attrs, body, desc, [g for g in groups if g]


def cell(s):
    return s.replace("|", "\\|").replace("\\<", "<")


def row(attrs, body, desc, groups, names):
    plain, comp = [], {}
    for g in groups:
        for prefix, label in COMPLIANCE:
            if g.startswith(prefix):
                comp.setdefault(label, []).append(g[len(prefix):])
                break
        else:
            plain.append(g)
    mitre = [f"{t} {names.get(t, '(unknown)')}" for t in re.findall(r"<id>\s*(T[\d.]+)\s*</id>",
                                                                       text_of(body, "mitre"))]
    parent = []
    for tag, label in (("if_sid", "under"), ("if_matched_sid", "after"), ("if_group", "group"),
                       ("decoded_as", "decoder"), ("category", "category")):
        v = text_of(body, tag).strip()
        if v:
            parent.append(f"{label} {v}")
    level = attrs["level"]
    notes = []
    if attrs.get("noalert") == "1":
        notes.append("noalert")
    if "frequency" in attrs:
        notes.append(f"{attrs['frequency']} events in {attrs.get('timeframe', '360')} s")
    if "maxsize" in attrs:
        notes.append(f"log >= {attrs['maxsize']} bytes")
    compiled = text_of(body, "compiled_rule").strip()
    if compiled:
        notes.append(f"compiled {compiled}")
    return "| {} | {} | {} | {} | {} | {} | {} |".format(
        attrs["id"], level, cell(desc), ", ".join(plain), "; ".join(mitre),
        "; ".join(f"{k} {', '.join(v)}" for k, v in comp.items()),
        cell("; ".join(parent + notes)))


def tables():
    names = mitre_names()
    out = []
    total = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "ruleset", "rules", "*.xml"))):
        rows = [row(*r, names) for r in rules_of(path)]
        total += len(rows)
        out.append(f"\n### {os.path.basename(path)} ({len(rows)} rules)\n")
        out.append("| id | level | description | groups | MITRE ATT&CK | compliance | matches |")
        out.append("|---|---|---|---|---|---|---|")
        out.extend(rows)
    return f"\n{total} rules.\n" + "\n".join(out) + "\n"


def main():
    doc = open(DOC, encoding="utf-8").read()
    if BEGIN not in doc or END not in doc:
        sys.exit(f"gen-rules-doc: {DOC} lacks the '{BEGIN}' / '{END}' lines")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + tables() + END + tail
    if "--check" in sys.argv[1:]:
        if new != doc:
            print("docs/rules.md is out of date: run mk/gen-rules-doc.py")
            return 1
        return 0
    if new != doc:
        open(DOC, "w", encoding="utf-8").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
