#!/usr/bin/env python3
"""The source tree keeps its layering (src/DESIGN.md, "Components").

Every concern is a folder, src/<concern>/ mirrored by include/ordertune/<concern>/, whose
README.md names the concerns it may include ("May include:") and the restricted third-party
libraries it may use ("Third-party:"). This check reads those lines and fails, naming the file
and line, when
  - a file includes a concern its folder's README does not allow,
  - a file includes a restricted library (LibTorch, sentencepiece, NCCL, MPI, HDF5) its
    folder's README does not allow (base ... plan never LibTorch or sentencepiece),
  - the allowed includes form a cycle (every concern must sit below the ones it includes),
  - anything below sweep includes sweep,
  - a header has no source twin or a source no header (apps excepted),
  - a file of the tree refers to the folder beside the checkout that a developer's machine has
    and a user's clone does not (its name is assembled below, so this file does not name it).
Usage: layering.py [CHECKOUT]   (default: the checkout this file is in)
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
inc_root = root / "include" / "ordertune"

# Restricted third-party libraries, by the include paths that reveal them.
LIBRARIES = {
    "torch": re.compile(r"^(torch|ATen|c10|caffe2)/"),
    "sentencepiece": re.compile(r"^sentencepiece"),
    "nccl": re.compile(r"^nccl\.h$"),
    "mpi": re.compile(r"^mpi\.h$"),
    "hdf5": re.compile(r"^(hdf5|H5[A-Za-z]*)\.h$"),
}
# No LibTorch or sentencepiece below these (the rule, kept even if a README is edited).
TORCH_FREE = {"base", "config", "data", "scoring", "plan"}

problems = []


def rule_line(text, key, readme):
    m = re.search(rf"^{key}:\s*(.*)$", text, re.M)
    if not m:
        problems.append(f"{readme}: no '{key}:' line")
        return set()
    value = m.group(1).strip()
    if value.startswith("("):
        return set()
    return {v.strip() for v in value.split(",") if v.strip()}


concerns = sorted(p.name for p in inc_root.iterdir() if p.is_dir())
src_concerns = sorted(p.name for p in (root / "src").iterdir() if p.is_dir() and p.name != "apps")
if concerns != src_concerns:
    problems.append(f"include/ordertune/ has {concerns}, src/ has {src_concerns}: the folders must mirror")

allowed, libraries = {}, {}
for c in concerns:
    readme = inc_root / c / "README.md"
    if not readme.exists():
        problems.append(f"{readme.relative_to(root)}: missing (what the folder is for, what it may include)")
        continue
    text = readme.read_text()
    allowed[c] = rule_line(text, "May include", readme.relative_to(root))
    libraries[c] = rule_line(text, "Third-party", readme.relative_to(root))
    for d in allowed[c]:
        if d not in concerns:
            problems.append(f"{readme.relative_to(root)}: 'May include' names '{d}', which is no concern")
    for lib in libraries[c]:
        if lib not in LIBRARIES:
            problems.append(f"{readme.relative_to(root)}: 'Third-party' names '{lib}'; known: {sorted(LIBRARIES)}")
    if c in TORCH_FREE and libraries[c] & {"torch", "sentencepiece"}:
        problems.append(f"{readme.relative_to(root)}: {c} must stay free of LibTorch and sentencepiece")

# The allowed graph must be acyclic: then every include runs from a higher concern to a lower one.
state = {}


def visit(c, path):
    if state.get(c) == "done":
        return
    if state.get(c) == "open":
        problems.append("concerns include each other in a cycle: " + " -> ".join(path + [c]))
        return
    state[c] = "open"
    for d in sorted(allowed.get(c, ())):
        visit(d, path + [c])
    state[c] = "done"


for c in concerns:
    visit(c, [])

include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
files = 0
for folder in (root / "src", inc_root):
    for f in sorted(folder.rglob("*")):
        if f.suffix not in (".h", ".cpp"):
            continue
        rel = f.relative_to(folder)
        concern = rel.parts[0] if len(rel.parts) > 1 else None
        if concern is None:
            problems.append(f"{f.relative_to(root)}: outside every concern folder")
            continue
        files += 1
        is_app = folder.name == "src" and concern == "apps"
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = include_re.match(line)
            if not m:
                continue
            target = m.group(2)
            where = f"{f.relative_to(root)}:{n}"
            if target.startswith("ordertune/"):
                parts = target.split("/")
                d = parts[1] if len(parts) > 2 else None
                if d not in concerns:
                    problems.append(f"{where}: includes {target}, which is in no concern folder")
                elif not is_app and d != concern and d not in allowed.get(concern, set()):
                    problems.append(f"{where}: {concern} includes {target}; "
                                    f"include/ordertune/{concern}/README.md allows {sorted(allowed.get(concern, ()))}")
                if not is_app and d == "sweep" and concern != "sweep":
                    problems.append(f"{where}: {concern} is below sweep and includes {target}")
                continue
            if is_app:
                continue
            for lib, pattern in LIBRARIES.items():
                if pattern.match(target) and lib not in libraries.get(concern, set()):
                    problems.append(f"{where}: {concern} includes <{target}> ({lib}); "
                                    f"include/ordertune/{concern}/README.md allows {sorted(libraries.get(concern, ())) or 'none'}")

# Twins: each header's source and each source's header (a source may also implement a header of
# its concern under another name, e.g. readers declared in task_reader.h: listed here).
NO_HEADER = {"data/readers_intermediate", "data/readers_xtreme"}
# Headers that are templates only, so no source (named here, not guessed from their text).
HEADER_ONLY = {"base/choice"}
headers = {str(p.relative_to(inc_root).with_suffix("")) for p in inc_root.rglob("*.h")}
sources = {str(p.relative_to(root / "src").with_suffix("")) for p in (root / "src").rglob("*.cpp")
           if p.relative_to(root / "src").parts[0] != "apps"}
for h in sorted(headers - sources - HEADER_ONLY):
    problems.append(f"include/ordertune/{h}.h: no source twin src/{h}.cpp")
for s in sorted(sources - headers - NO_HEADER):
    problems.append(f"src/{s}.cpp: no header twin include/ordertune/{s}.h")

# A user's clone has only itself: nothing in the tree may point beside it.
outside = re.compile(r"\.\./" + "sha" + r"red\b")  # the sibling folder, spelt in pieces
for f in sorted(root.rglob("*")):
    top = f.relative_to(root).parts[0]
    if not f.is_file() or ".git" in f.parts or top.startswith("build") or top == ".venv":
        continue
    if f.suffix not in (".h", ".cpp", ".py", ".sh", ".txt", ".md", ".toml", ".sbatch", ".json", ".cmake", "") :
        continue
    try:
        text = f.read_text()
    except (UnicodeDecodeError, OSError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        if outside.search(line):
            problems.append(f"{f.relative_to(root)}:{n}: refers to {outside.search(line).group(0)}, a folder beside the checkout that a clone does not have")

for p in problems:
    print(p)
print(f"layering: {files} files in {len(concerns)} concerns, {len(problems)} problems")
sys.exit(1 if problems else 0)
