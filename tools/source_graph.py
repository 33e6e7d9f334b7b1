#!/usr/bin/env python3
"""Circles between source files: the #include graph and the call graph.

usage: tools/source_graph.py [ROOT]     (ROOT: a checkout, default: this one)

Reads every .c, .h and .cu file under include/, src/ and backends/ of ROOT.
  - include edges: A -> B when A has #include "B" (resolved by file name);
  - call edges: A -> B (A, B source files, not headers) when A's code names a
    function that B defines without `static` (comments and strings removed;
    a definition is a top-level identifier followed by a parameter list and a
    body).
Prints every strongly connected component of more than one file in each graph
(a circle: each of its files reaches every other), or "none".
"""
import os
import re
import sys

EXTS = (".c", ".h", ".cu")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else", "case"}
DIRS = ("include", "src", "backends")


def strip(code):
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    code = re.sub(r"//[^\n]*", " ", code)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', code)


def definitions(code):
    """Names of non-static functions defined at brace depth 0."""
    names, depth, i = [], 0, 0
    for m in re.finditer(r"[{}]|\b([A-Za-z_]\w*)\s*\(", code):
        tok = m.group(0)
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
        elif depth == 0 and m.start() >= i:
            # find the matching ')' and what follows it
            j, level = m.end(), 1
            while j < len(code) and level:
                level += {"(": 1, ")": -1}.get(code[j], 0)
                j += 1
            rest = code[j:j + 200].lstrip()
            line_start = code.rfind(";", 0, m.start())
            line_start = max(line_start, code.rfind("}", 0, m.start()), code.rfind("#", 0, m.start()))
            head = code[line_start + 1:m.start()]
            if (rest.startswith("{") and "static" not in head.split() and "=" not in head
                    and m.group(1) not in KEYWORDS):
                names.append(m.group(1))
            i = j
    return names


def tarjan(nodes, edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    files = {}
    for d in DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, d)):
            for n in names:
                if n.endswith(EXTS):
                    path = os.path.join(dirpath, n)
                    files[os.path.relpath(path, root)] = open(path, errors="replace").read()
    by_name = {}
    for f in files:
        by_name.setdefault(os.path.basename(f), []).append(f)

    inc = {}
    for f, text in files.items():
        for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            for target in by_name.get(os.path.basename(m.group(1)), []):
                if target != f:
                    inc.setdefault(f, set()).add(target)

    sources = [f for f in files if not f.endswith(".h")]
    code = {f: strip(files[f]) for f in sources}
    entries = {"GLOW_OP": [], "GLOW_CORE": []}
    op_list = os.path.join(root, "include", "glow", "ops.def")
    if os.path.exists(op_list):
        for m in re.finditer(r"^(GLOW_OP|GLOW_CORE)\((\w+)", strip(open(op_list).read()), re.M):
            entries[m.group(1)].append(m.group(2))
    for f in sources:
        extra = []
        for m in re.finditer(r"#define\s+(GLOW_OP|GLOW_CORE)\([^)]*\)([^\n]*)", code[f]):
            for prefix in re.findall(r"(\w+)##name", m.group(2)):
                kinds = ["GLOW_OP", "GLOW_CORE"] if m.group(1) == "GLOW_OP" else ["GLOW_CORE"]
                if m.group(1) == "GLOW_OP" and "#define GLOW_CORE" in code[f]:
                    kinds = ["GLOW_OP"]
                extra += [prefix + e for k in kinds for e in entries[k]]
        code[f] += "\n" + " ".join(extra)
    defined = {}
    for f in sources:
        for name in definitions(code[f]):
            defined.setdefault(name, set()).add(f)
    calls = {}
    for f in sources:
        for name in set(re.findall(r"\b[A-Za-z_]\w*\b", code[f])):
            for g in defined.get(name, ()):
                if g != f:
                    calls.setdefault(f, set()).add(g)

    for title, edges, nodes in (("include", inc, list(files)), ("call", calls, sources)):
        comps = tarjan(sorted(nodes), edges)
        n_edges = sum(len(v) for v in edges.values())
        print(f"{title} graph: {len(nodes)} files, {n_edges} edges, circles: {len(comps) or 'none'}")
        for c in comps:
            print("  " + " <-> ".join(c))


if __name__ == "__main__":
    main()
