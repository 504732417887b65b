"""Hypothesis strategies that write random valid cascade texts."""

from __future__ import annotations

from hypothesis import strategies as st

RANKS = ["E", "F", "M", "P", "K1"]
FUNCTIONS_1 = ["exp", "tanh", "abs", "sigmoid", "relu"]
FUNCTIONS_2 = ["max", "min"]


@st.composite
def index_for(draw: st.DrawFn, rank: str) -> str:
    variable = rank.lower()
    return draw(st.sampled_from([variable, variable, f"{variable} + 1 - 1", f"2 * {variable}"]))


@st.composite
def cascade_texts(draw: st.DrawFn) -> str:
    """Return the text of a random valid cascade (reductions, filters, functions)."""
    ranks = draw(st.lists(st.sampled_from(RANKS), min_size=1, max_size=4, unique=True))
    tensors: dict[str, list[str]] = {}
    lines = [f"cascade c{draw(st.integers(0, 99))}", f"rank {', '.join(ranks)}"]
    inputs = []
    for i in range(draw(st.integers(1, 3))):
        shape = draw(st.lists(st.sampled_from(ranks), min_size=0, max_size=3, unique=True))
        tensors[f"I{i}"] = shape
        inputs.append(f"I{i}[{', '.join(shape)}]")
    lines.append(f"input {', '.join(inputs)}")
    for j in range(draw(st.integers(1, 4))):
        expr = draw(expressions(tensors, depth=2))
        out = draw(st.lists(st.sampled_from(ranks), min_size=0, max_size=2, unique=True))
        line = f"T{j}[{', '.join(r.lower() for r in out)}] = {expr}"
        if len(ranks) >= 2 and draw(st.booleans()):
            a, b = ranks[0].lower(), ranks[1].lower()
            line += f" where {a} <= {b}" + draw(st.sampled_from(["", f" or not {a} == 0"]))
        if draw(st.booleans()):
            line += " :: " + draw(st.sampled_from(["max", "min", "+", "*"]))
        tensors[f"T{j}"] = out
        lines.append(line)
    return "\n".join(lines) + "\n"


@st.composite
def expressions(draw: st.DrawFn, tensors: dict[str, list[str]], depth: int) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        choice = draw(st.integers(0, 5))
        if choice == 0:
            return draw(st.sampled_from(["1", "0.5", "-2", "inf", "1e-4"]))
        name = draw(st.sampled_from(sorted(tensors)))
        shape = tensors[name]
        if not shape:
            return name if name.startswith("I") else f"{name}[]"
        indices = [draw(index_for(rank)) for rank in shape]
        return f"{name}[{', '.join(indices)}]"
    kind = draw(st.integers(0, 3))
    left = draw(expressions(tensors, depth - 1))
    if kind == 0:
        return f"{draw(st.sampled_from(FUNCTIONS_1))}({left})"
    right = draw(expressions(tensors, depth - 1))
    if kind == 1:
        return f"{draw(st.sampled_from(FUNCTIONS_2))}({left}, {right})"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({left} {op} {right})" if kind == 2 else f"{left} {op} -{right}"
