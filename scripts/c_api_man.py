#!/usr/bin/env python3
"""Writes vmseal(3), the C API's man page, from <vmseal/vmseal.h> itself: the
header's opening comment is the description, and each declaration marked
VMSEAL_API, with the comment above it, is one entry. So the page cannot say
anything the header does not.

usage: c_api_man.py HEADER VERSION > vmseal.3
"""
import re
import sys


def roff(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + l) if l.startswith((".", "'")) else l for l in text.split("\n"))


def comment_text(c):
    lines = [re.sub(r"\s*\*/\s*$", "", re.sub(r"^\s*/?\*+/?\s?", "", l)).rstrip() for l in c.strip().split("\n")]
    return "\n".join(l for l in lines if l != "/").strip()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src = open(sys.argv[1]).read()
    head = re.match(r"\s*/\*(.*?)\*/", src, re.S)
    entries = re.findall(r"(/\*(?:(?!\*/).)*\*/)\s*(?:enum[^;]*?\}\s*;\s*(?:/\*(?:(?!\*/).)*\*/\s*)*)?VMSEAL_API ([^;]+);", src, re.S)
    out = [f'.TH VMSEAL 3 "" "vmseal {sys.argv[2]}" "vmseal manual"',
           ".SH NAME", "vmseal \\- memory sealing (mseal) for C programs",
           ".SH SYNOPSIS", ".nf", "#include <vmseal/vmseal.h>", ""]
    for _, decl in entries:
        out.append(roff(" ".join(decl.split())) + ";")
    out += [".fi", "Link with \\fB\\-lvmseal\\fR (pkg\\-config vmseal).", ".SH DESCRIPTION",
            roff(comment_text("/*" + head.group(1) + "*/")) if head else ""]
    for comment, decl in entries:
        name = re.search(r"(vmseal_\w+)\s*\(", decl)
        out += [".SS " + (name.group(1) if name else "?"), ".nf", roff(" ".join(decl.split())) + ";", ".fi",
                roff(comment_text(comment))]
    out += [".SH SEE ALSO", "\\fBvmseal\\fR(1), \\fBmseal\\fR(2)"]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
