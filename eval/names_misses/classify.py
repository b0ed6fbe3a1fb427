#!/usr/bin/env python3
"""Classify the name-comparison errors of a pairs file into causes.

Usage: eval/names_misses/classify.py [--build build] [--threshold 0.82]
           [--list] PAIRS.tsv...

Compiles names_dump.c against BUILD/libhuella.so, scores every pair with
the library (the same comparison `huella eval names` uses), and sorts each
miss (`same` pair below the threshold) and each false positive
(`different` pair at or above it) into one cause, by the first rule that
applies:

  d  data error: the alias carries words that are not a name (born,
     passport, listed, birth name...), or a miss whose two names are
     equal after normalisation.
  a  spelling / transliteration: no script transform (the pair does not
     parse), or every word of both names aligned and the score is held
     down only by spelling edits, or a word left over on each side whose
     spellings are close (difflib ratio >= 0.67, or one sound by the
     library's phonetic key).
  b  structural: one name contained in the other (missing middle name,
     second surname, patronymic, ancestor of a nasab chain, extra given
     name), a left-over word that is a compound of, or part of, one on
     the other side (Abdurrahman / Rahman), or left-over words that are
     only a kunya (Abu X), "son of", or patronymics; for false positives
     also a pure reordering.
  c  alias: a word on each side that meets nothing and resembles nothing
     (another given name, a nickname, a tribal or family name), or no
     word in common at all.

Within (a), "aligned-edit" rows are further split by whether the edit is a
known romanisation alternation (the library already scored it `phonetic`)
or an arbitrary letter change (a typo: Merkur / Merkel), which no general
rule can accept without accepting the `different` rows one letter apart.

The ceiling F1 assumes every (a) and (b) miss fixed with no new false
positive; it is an upper bound (the ratio test in (a) is generous).
"""
import argparse
import difflib
import os
import re
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
NOISE = {"born", "passport", "listed", "previously", "birth", "issue", "expiry",
         "date", "dob", "pob", "nationality", "name", "formerly", "number"}
KUNYA = {"abu", "abou", "abo", "aboo", "umm", "um", "om"}
PATRONYMIC = re.compile(r"(ovich|evich|ovna|evna|ich|ogly|oglu|ugli|uly|kyzy|qizi)$")


def build_dump(build):
    exe = os.path.join("/tmp", "huella_names_dump")
    lib = os.path.abspath(build)
    inc = os.path.join(HERE, "..", "..", "include")
    subprocess.run(["cc", "-O2", "-std=c17", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-I", inc, os.path.join(HERE, "names_dump.c"),
                    "-o", exe, "-L", lib, "-lhuella", "-Wl,-rpath," + lib], check=True)
    return exe


def similar(x, y):
    if difflib.SequenceMatcher(None, x, y).ratio() >= 0.67:
        return True
    return False


def part_of(x, y):
    """x is a part of compound y or y of x (at least 3 letters)."""
    s, l = (x, y) if len(x) <= len(y) else (y, x)
    return len(s) >= 3 and len(l) > len(s) and s in l


def classify(row, threshold):
    a, b, label, kind, score, la_latin, lb_latin, aligned, left_a, left_b = row
    left_a = left_a.split() if left_a else []
    left_b = left_b.split() if left_b else []
    words = set(left_a) | set(left_b)
    if score == "ERR":
        return "a", "no-transliteration"
    if words & NOISE or any(w.isdigit() for w in words):
        return "d", "noise-in-alias"
    if label == "same" and la_latin == lb_latin:
        return "d", "equal-names"
    al = [x.rsplit(":", 2) for x in aligned.split("|")] if aligned else []
    if label == "different":
        if not left_a and not left_b:
            if all(h == "exact" for _, _, h in al):
                return "b", "reordered-or-homophone"
            return "a", "aligned-edit"
        if not left_a or not left_b:
            return "b", "contained"
        return "c", "other"
    if not al:
        if kind == "original_script":
            return "a", "script-no-word-met"
        return "c", "nothing-in-common"
    if not left_a and not left_b:
        if any(h in ("edit",) for _, _, h in al):
            return "a", "aligned-edit-letter"
        return "a", "aligned-edit-convention"
    if not left_a or not left_b:
        return "b", "contained"
    for x in left_a:
        for y in left_b:
            if part_of(x, y):
                return "b", "compound"
    joined_a, joined_b = "".join(left_a), "".join(left_b)
    for x in left_a:
        if similar(x, joined_b) and len(left_b) > 1:
            return "b", "compound"
    for y in left_b:
        if similar(y, joined_a) and len(left_a) > 1:
            return "b", "compound"
    for x in left_a:
        for y in left_b:
            if similar(x, y):
                return "a", "leftover-variant"
    for side in (left_a, left_b):
        if all(w in KUNYA for w in side[::2]) and side[0] in KUNYA:
            return "b", "kunya"
        if side[:2] == ["son", "of"] or side[:2] == ["daughter", "of"]:
            return "b", "son-of"
        if all(PATRONYMIC.search(w) for w in side):
            return "b", "patronymic"
    return "c", "alias-other-name"


def f1(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threshold", type=float, default=0.82)
    ap.add_argument("--list", action="store_true", help="print every classified row")
    ap.add_argument("pairs", nargs="+")
    args = ap.parse_args()
    exe = build_dump(args.build)
    for path in args.pairs:
        out = subprocess.run([exe, path], check=True, capture_output=True, text=True).stdout
        rows = [line.split("\t") for line in out.splitlines()]
        tp = fp = fn = tn = 0
        miss, fpos = Counter(), Counter()
        miss_sub, fp_sub = Counter(), Counter()

        def tally(label, by_cause, by_sub, r):
            c, sub = classify(r, args.threshold)
            by_cause[c] += 1
            by_sub[c + ":" + sub] += 1
            if args.list:
                print(label, c, sub, r[4], r[0], "||", r[1], sep="\t")

        for r in rows:
            r += [""] * (10 - len(r))
            same = r[2] == "same"
            ok = r[4] != "ERR" and float(r[4]) >= args.threshold
            if same and ok:
                tp += 1
            elif same:
                fn += 1
                tally("MISS", miss, miss_sub, r)
            elif ok:
                fp += 1
                tally("FP", fpos, fp_sub, r)
            else:
                tn += 1
        fixable = miss["a"] + miss["b"]
        print(f"== {path}: same {tp + fn}, different {fp + tn}, threshold {args.threshold}")
        print(f"   TP {tp} FN {fn} FP {fp} TN {tn}: F1 {f1(tp, fp, fn):.3f}, FPR {fp / max(1, fp + tn):.1%}")
        print("   misses by cause:", {k: miss[k] for k in "abcd"})
        print("   misses by sub-cause:", dict(sorted(miss_sub.items())))
        print("   false positives by cause:", {k: fpos[k] for k in "abcd"})
        print("   false positives by sub-cause:", dict(sorted(fp_sub.items())))
        print(f"   ceiling F1 if every (a)+(b) miss were fixed with no new false positive: "
              f"{f1(tp + fixable, fp, fn - fixable):.3f}")
        typo = miss_sub.get("a:aligned-edit-letter", 0)
        print(f"   ... and without the {typo} (a) rows held by a letter edit the key does not explain: "
              f"{f1(tp + fixable - typo, fp, fn - fixable + typo):.3f}")
        print(f"   ceiling F1 if also every (d) miss were fixed: "
              f"{f1(tp + fixable + miss['d'], fp, fn - fixable - miss['d']):.3f}")


if __name__ == "__main__":
    sys.exit(main())
