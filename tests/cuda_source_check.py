#!/usr/bin/env python3
"""Source checks of the CUDA backend's host side that need no GPU (run by meson test):

1. Every kernel launch `kernel<<<...>>>(...);` in backends/cuda is followed at once by
   a statement that calls cu_launched(): cudaGetLastError read right after the launch,
   so a launch error is reported against the op that made it.
2. Every entry of the op table (cuda_backend.cu, generated from glow/ops.def) that touches
   the device makes the backend's device current first: ops through CU_ENTRY (cu_on_device,
   cuda_host.h, which also runs them through a step graph's capture or replay), core entries
   through CU_CORE_ENTRY (cu_core_entry, which refuses them inside a captured step); only
   destroy (which does it itself) and memory_usage (host counters) are exempt.
3. No device memory is allocated or freed outside cuda_backend.cu (its core entries, open,
   destroy and the scratch region, which refuses to grow inside a step capture), so no op
   allocates inside a captured or replayed training step.

Usage: cuda_source_check.py BACKENDS_CUDA_DIR. Prints every violation as file:line."""
import pathlib
import re
import sys


def statements_after_launches(text):
    """Yields (line of the launch, the next statement's text) for every <<<...>>> launch."""
    for m in re.finditer(r"<<<", text):
        # end of the launch statement: the first ';' at parenthesis depth 0 after '>>>'
        i = text.index(">>>", m.end()) + 3
        depth = 0
        while i < len(text):
            ch = text[i]
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == ";" and depth == 0:
                break
            i += 1
        nxt = text.index(";", i + 1)
        yield text.count("\n", 0, m.start()) + 1, text[i + 1 : nxt + 1]


def main():
    root = pathlib.Path(sys.argv[1])
    problems = []
    launches = 0
    for path in sorted(list(root.glob("*.cu")) + list(root.glob("*.h"))):
        text = path.read_text()
        for line, following in statements_after_launches(text):
            launches += 1
            if "cu_launched(" not in following:
                problems.append(f"{path.name}:{line}: kernel launch not followed by cu_launched(): {following.strip()[:80]}")
    backend = (root / "cuda_backend.cu").read_text()
    # The table is generated from glow/ops.def: every op through the GLOW_OP
    # expansion, every core entry through its CU_CORE_<name> definition.
    entries = 0
    op_macro = re.search(r"#define GLOW_OP\(name, ret, params\) ([^\n]+)", backend)
    if op_macro is None:
        problems.append("cuda_backend.cu: no GLOW_OP expansion for the op table")
    else:
        entries += 1
        if not op_macro.group(1).strip().startswith("CU_ENTRY("):
            problems.append(f"cuda_backend.cu: ops expand to {op_macro.group(1).strip()}: not through CU_ENTRY")
    for m in re.finditer(r"#define CU_CORE_(\w+) ([^\n]+)", backend):
        entries += 1
        name, value = m.group(1), m.group(2).strip()
        if name in ("destroy", "memory_usage"):
            continue
        if not value.startswith("CU_CORE_ENTRY("):
            line = backend.count("\n", 0, m.start()) + 1
            problems.append(f"cuda_backend.cu:{line}: {name} = {value}: not through CU_CORE_ENTRY (device not made "
                            "current, or not refused inside a captured step)")
    for macro, template in (("CU_ENTRY", "cu_on_device"), ("CU_CORE_ENTRY", "cu_core_entry")):
        if re.search(rf"#define {macro}\(f\) {template}<f>::entry\n", backend) is None:
            problems.append(f"cuda_backend.cu: {macro}(f) is not {template}<f>::entry")
    allocations = 0
    for path in sorted(list(root.glob("*.cu")) + list(root.glob("*.h"))):
        text = path.read_text()
        for m in re.finditer(r"\bcuda(Malloc|MallocHost|MallocAsync|MallocManaged|Free|FreeHost|FreeAsync)\s*\(", text):
            allocations += 1
            if path.name != "cuda_backend.cu":
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.name}:{line}: cuda{m.group(1)} outside cuda_backend.cu (an op must not "
                                "allocate: it may run inside a captured step)")
    for p in problems:
        print(p)
    print(f"{launches} kernel launches, {entries} op table entries, {allocations} allocation calls checked; "
          f"{len(problems)} problem(s)")
    if launches == 0 or entries == 0 or allocations == 0:
        print("nothing found to check: has the source layout changed?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
