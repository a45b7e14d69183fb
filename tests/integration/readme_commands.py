"""readme_commands: the shell of the README's ECS walkthrough, read as a shell reads it:
its sh code blocks (continuation lines joined, comments removed), every `aws` command in
them and in inline code, the loops and variables those commands use, and the commands
with the variables expanded as a POSIX shell would (outside single quotes). Used by
test_taskdefs.py to run each command through the AWS CLI's own validation."""
import fnmatch
import itertools
import os
import re
import shlex

WALKTHROUGHS = {"README.md": ("## ECS walkthrough", "## Benchmarks"),
                "README.ko.md": ("## ECS 따라 하기", None)}
FENCE = re.compile(r"^([ \t]*)```sh\n(.*?)^[ \t]*```", re.S | re.M)
AWS_WORD = re.compile(r"(?<![\w./:$@-])aws(?=[ \t])")
EXPANSION = re.compile(r"\$\{(\w+)(?:(##|#|%%|%)([^}]*))?\}|\$(\w+)")
COMMAND_START = ("", ";", "|", "&", "(", "$(", "`")
KEYWORDS = {"do", "then", "else", "if", "until", "while", "!"}


def walkthrough(root, doc):
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        text = f.read()
    head, tail = WALKTHROUGHS[doc]
    start = text.index(head)
    end = text.index(tail, start) if tail else len(text)
    return text[start:end]


def strip_comment(line):
    """The line without its shell comment (an unquoted # that starts a word)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line


def raw_blocks(text):
    """(offset, block) of the sh code blocks as written (a list item's indentation
    removed)."""
    out = []
    for m in FENCE.finditer(text):
        indent = len(m.group(1))
        out.append((m.start(2), "\n".join(l[indent:] if l[:indent].isspace() else l
                                          for l in m.group(2).splitlines()) + "\n"))
    return out


def shell_blocks(text):
    """(offset, block) of the sh code blocks: continuation lines joined, comments removed."""
    return [(at, "\n".join(strip_comment(l) for l in b.replace("\\\n", " ").splitlines()))
            for at, b in raw_blocks(text)]


def command_end(text, i):
    """Where the command starting at i ends: an unquoted ; | & ) < > or newline."""
    quote = None
    j = i
    while j < len(text):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in ";|&)<>\n":
            break
        elif text.startswith("$(", j):
            raise AssertionError(f"a command substitution inside an aws command: "
                                 f"{text[i:j + 20]!r}: assign it to a variable first")
        j += 1
    cmd = text[i:j]
    if j < len(text) and text[j] in "<>":
        cmd = re.sub(r"\s\d$", "", cmd)  # the file descriptor of 2>/dev/null
    return cmd.strip()


def at_command_start(text, i):
    before = text[:i].rstrip(" \t")
    line = before.rsplit("\n", 1)[-1]
    if line == "" or any(line.endswith(t) for t in COMMAND_START if t):
        return True
    words = line.split()
    return bool(words) and words[-1] in KEYWORDS


def aws_commands(block):
    """(offset, command) of every aws command of a shell block, as written (variables not
    expanded)."""
    cmds = []
    for m in AWS_WORD.finditer(block):
        if not at_command_start(block, m.start()):
            raise AssertionError(f"'aws' not at the start of a command: "
                                 f"{block[max(0, m.start() - 40):m.start() + 30]!r}")
        cmds.append((m.start(), command_end(block, m.start())))
    return cmds


def literal_loops(block):
    """{variable: words} of the block's `for NAME in words; do` with literal words."""
    loops = {}
    for m in re.finditer(r"\bfor (\w+) in ([^;\n]*);\s*do\b", block):
        if "$" not in m.group(2):
            loops[m.group(1)] = m.group(2).split()
    return loops


def inline_commands(text):
    """(span, in a table row, offset) of the inline code spans that start with "aws "."""
    fences = [m.span() for m in FENCE.finditer(text)]
    out = []
    for m in re.finditer(r"(?<!`)`([^`]+)`(?!`)", text):
        if any(a <= m.start() < b for a, b in fences):
            continue
        span = " ".join(m.group(1).split())
        if span.startswith("aws "):
            line_start = text.rfind("\n", 0, m.start()) + 1
            out.append((span, text[line_start:line_start + 1] == "|", m.start()))
    return out


def expand(cmd, values):
    """The command with $NAME, ${NAME}, ${NAME##pat} ... replaced outside single quotes."""
    out, i, quote = [], 0, None
    while i < len(cmd):
        ch = cmd[i]
        if quote == "'":
            if ch == "'":
                quote = None
            out.append(ch)
            i += 1
            continue
        if ch in "'\"":
            quote = None if quote == ch else (ch if quote is None else quote)
            out.append(ch)
            i += 1
            continue
        m = EXPANSION.match(cmd, i) if ch == "$" else None
        if not m:
            out.append(ch)
            i += 1
            continue
        name = m.group(1) or m.group(4)
        if name not in values:
            raise KeyError(name)
        v = str(values[name])
        op, pat = m.group(2), m.group(3)
        if op in ("##", "#"):
            cut = [k for k in range(len(v) + 1) if fnmatch.fnmatchcase(v[:k], pat)]
            v = v[(max(cut) if op == "##" else min(cut)) if cut else 0:]
        elif op in ("%%", "%"):
            cut = [k for k in range(len(v) + 1) if fnmatch.fnmatchcase(v[k:], pat)]
            v = v[:(min(cut) if op == "%%" else max(cut))] if cut else v
        out.append(v)
        i = m.end()
    return "".join(out)


def variables(cmd):
    return {m.group(1) or m.group(4) for m in EXPANSION.finditer(cmd)}


def argvs(cmd, values, loops=None):
    """The argument lists (without "aws") the command runs with: one per combination of
    the literal loop words it uses, other variables from values."""
    loops = loops or {}
    names = sorted(n for n in variables(cmd) if n in loops)
    out = []
    for combo in itertools.product(*(loops[n] for n in names)):
        words = shlex.split(expand(cmd, dict(values, **dict(zip(names, combo)))))
        assert words[0] == "aws", words
        out.append(words[1:])
    return out


def assignments(block):
    """(offset, variable) of every place the block sets a shell variable."""
    return [(m.start(), m.group(1) or m.group(2))
            for m in re.finditer(r"(?:\bfor (\w+) in\b|(?<![\w$-])([A-Za-z_]\w*)=)", block)]
