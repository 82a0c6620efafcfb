"""The catalog expression language: small, safe, vectorized.

An expression is parsed once (Python's :mod:`ast` in ``eval`` mode, checked against a strict
whitelist) and compiled into a tree of closures over numpy. Evaluating it takes an
*environment* ``env: dict[str, np.ndarray]`` holding one value per design, shape ``(n,)`` (or a
scalar, broadcast), and returns an array: a whole population in one call, no per-row loop.
Text is never passed to ``eval``/``exec``; nothing in an expression can run code.

Grammar (everything else is refused with its line and column)::

    numbers, True, False
    names                 wall, board_length, pi           (resolved by a Scope)
    lookups               screw.boss, material.density     (exactly NAME.NAME)
    arithmetic            + - * / // % **   unary - +
    comparisons           < <= > >= == !=   (chains allowed: 0 < x <= 5)
    logic                 and, or, not      (element-wise, on truth values)
    conditional           a if condition else b            (element-wise, np.where)
    functions             min(a, b, ...) max(a, b, ...) abs sqrt floor ceil round
                          sin cos tan (radians) atan2(y, x) exp log
    host functions        print_seconds(volume, area, bbox_x, bbox_y, height, ...)
                          print_grams(volume, area, bbox_x, bbox_y, height, ...)
    strings               only compared with a choice: screw == "M3"

A :class:`Scope` tells the compiler which names exist and how to fetch them; unknown names,
wrong arity, attribute chains, subscripts, calls to anything else, lambdas, comprehensions,
imports, walrus, f-strings and names starting with ``_`` raise
:class:`~configurator.errors.ExpressionError` (1-based line/col within the text).

*Host functions* are answered by an object the caller binds into the environment under
:data:`ESTIMATOR_KEY` (``"@estimator"``, which no catalog name can be): a print estimator
with ``predict(material, *, volume, area, bbox_x, bbox_y, height, **optional) ->
(seconds (n,), grams (n,))`` (see :mod:`configurator.core.design.estimator`). The arguments are
the whole print plate's closed-form quantities (mm³, mm², mm, in :data:`HOST_ARGS` order; the
last five optional); the material is the design's ``material`` (an index into the catalog's
materials, scalar or ``(n,)``): designs are grouped by material and each group is one
vectorized ``predict`` call. Rows with a non-finite or negative argument give NaN (such a
design is infeasible anyway) and never reach the estimator.

Constraint expressions additionally compile to a *margin* (:func:`compile_margin`): for
``a <= b`` the margin is ``b - a`` (>= 0 is satisfied), ``and`` takes the minimum, ``or``
the maximum, ``not`` negates, ``x if c else y`` selects; a bare truth value gives 0 when true
and -1 when false.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from configurator.errors import ExpressionError

Env = Mapping[str, np.ndarray]
Fn = Callable[[Env], np.ndarray]

#: longest accepted expression text (characters); protects the parser from abuse.
MAX_LENGTH = 2000
#: deepest accepted nesting of the syntax tree.
MAX_DEPTH = 60

CONSTANTS = {"pi": math.pi}


def _min(*xs: np.ndarray) -> np.ndarray:
    out = xs[0]
    for x in xs[1:]:
        out = np.minimum(out, x)
    return out


def _max(*xs: np.ndarray) -> np.ndarray:
    out = xs[0]
    for x in xs[1:]:
        out = np.maximum(out, x)
    return out


#: name -> (function, min arity, max arity or None for unbounded)
FUNCTIONS: dict[str, tuple[Callable[..., np.ndarray], int, int | None]] = {
    "min": (_min, 2, None),
    "max": (_max, 2, None),
    "abs": (np.abs, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "floor": (np.floor, 1, 1),
    "ceil": (np.ceil, 1, 1),
    "round": (np.round, 1, 1),
    "sin": (np.sin, 1, 1),
    "cos": (np.cos, 1, 1),
    "tan": (np.tan, 1, 1),
    "atan2": (np.arctan2, 2, 2),
    "exp": (np.exp, 1, 1),
    "log": (np.log, 1, 1),
}

#: arguments of the host functions, in order (the first five required; units mm³, mm², mm,
#: count): the names of :func:`configurator.core.estimate.features.analytic_features`.
HOST_ARGS: tuple[str, ...] = (
    "volume",
    "area",
    "bbox_x",
    "bbox_y",
    "height",
    "side_area",
    "bottom_area",
    "overhang_area",
    "hull_volume",
    "bodies",
)
HOST_REQUIRED = 5
#: host function -> index of its value in the estimator's ``(seconds, grams)``
HOST_FUNCTIONS: dict[str, int] = {"print_seconds": 0, "print_grams": 1}
#: environment key of the bound estimator (``@`` cannot start a catalog name)
ESTIMATOR_KEY = "@estimator"
#: the environment name holding each design's material index
MATERIAL_KEY = "material"

#: names a catalog may not define. Function names stay free (``floor`` may be a parameter:
#: ``floor`` reads it, ``floor(x)`` calls the function).
RESERVED = frozenset(CONSTANTS) | {"True", "False", "None", "and", "or", "not", "if", "else"}

_BINOPS: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.mod,
    ast.Pow: np.power,
}
_CMPOPS: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_OP_WORDS = {
    ast.BitXor: "'^' (use ** for powers)",
    ast.BitAnd: "'&' (use 'and')",
    ast.BitOr: "'|' (use 'or')",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.MatMult: "'@'",
    ast.Invert: "'~' (use 'not')",
    ast.Is: "'is' (use ==)",
    ast.IsNot: "'is not' (use !=)",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
}
_NODE_WORDS = {
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Subscript: "subscripts",
    ast.NamedExpr: "assignment (:=)",
    ast.JoinedStr: "f-strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


class Scope(Protocol):
    """What an expression may refer to.

    ``getter(name)`` returns a function ``env -> array`` for a plain name or a lookup
    ``"screw.boss"``, or None when the name is unknown. ``options(name)`` returns the option
    labels of a choice name (for ``screw == "M3"``) or None when ``name`` is not a choice.
    ``describe(name)`` gives a short hint for an unknown name (e.g. the known columns).
    """

    def getter(self, name: str) -> Fn | None: ...

    def options(self, name: str) -> tuple[str, ...] | None: ...

    def describe(self, name: str) -> str: ...


@dataclass(frozen=True)
class Parsed:
    """A whitelisted syntax tree and the names it references (name -> (line, col))."""

    text: str
    tree: ast.expr
    names: dict[str, tuple[int, int]] = field(default_factory=dict)
    hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Compiled:
    """A compiled expression: ``fn(env) -> array``; ``names`` it reads; ``text`` as written;
    ``hosts``: the host functions it calls (it then also depends on ``material``)."""

    text: str
    fn: Fn
    names: frozenset[str]
    hosts: frozenset[str] = frozenset()

    def __call__(self, env: Env) -> np.ndarray:
        return self.fn(env)


def _pos(node: ast.AST) -> tuple[int, int]:
    # the text is wrapped as "(\n" + text + "\n)" so line 2 of the tree is line 1 of the text
    return max(getattr(node, "lineno", 2) - 1, 1), getattr(node, "col_offset", 0) + 1


def _fail(node: ast.AST, message: str) -> ExpressionError:
    line, col = _pos(node)
    return ExpressionError(message, line=line, col=col)


def _symbol(node: ast.expr) -> str | None:
    """``NAME`` or ``NAME.NAME`` as a dotted string; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def parse(text: str) -> Parsed:
    """Parse and whitelist ``text``; ExpressionError (line/col in ``text``) when refused."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ExpressionError(f"an expression must be text or a number, not {type(text).__name__}")
    text = str(text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError("empty expression")
    if "\x00" in text:
        raise ExpressionError("expression contains a NUL character")
    try:
        tree = ast.parse("(\n" + text + "\n)", mode="eval").body
    except SyntaxError as exc:
        line = max((exc.lineno or 2) - 1, 1)
        col = exc.offset or 1
        msg = (exc.msg or "invalid syntax").split(" (")[0]
        raise ExpressionError(f"syntax error: {msg}", line=line, col=col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression is too deeply nested") from None
    names: dict[str, tuple[int, int]] = {}
    _check(tree, names, depth=0)
    hosts = frozenset(n.func.id for n in _host_calls(tree))  # type: ignore[attr-defined]
    return Parsed(text=text, tree=tree, names=names, hosts=hosts)


def _host_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in HOST_FUNCTIONS
    ]


def host_call_positions(parsed: Parsed) -> list[tuple[str, int, int]]:
    """``(function, line, col)`` of every host-function call in ``parsed`` (text order)."""
    calls = [(n.func.id, *_pos(n)) for n in _host_calls(parsed.tree)]  # type: ignore[attr-defined]
    return sorted(calls, key=lambda c: (c[1], c[2]))


def _check(node: ast.AST, names: dict[str, tuple[int, int]], *, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _fail(node, f"expression is nested deeper than {MAX_DEPTH} levels")
    d = depth + 1
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float):
            if isinstance(node.value, float | int) and not isinstance(node.value, bool):
                try:
                    value = float(node.value)
                except OverflowError:
                    raise _fail(node, "number is too large") from None
                if not math.isfinite(value):
                    raise _fail(node, "number is not finite")
            return
        if isinstance(node.value, str):
            return  # legal only beside a choice in a comparison; checked when compiling
        raise _fail(node, f"constant {node.value!r} is not allowed in expressions")
    if isinstance(node, ast.Name):
        _check_identifier(node, node.id)
        if node.id not in CONSTANTS and node.id not in ("True", "False"):
            names.setdefault(node.id, _pos(node))
        return
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise _fail(node, "only NAME.NAME lookups are allowed (no attribute chains)")
        _check_identifier(node.value, node.value.id)
        _check_identifier(node, node.attr)
        names.setdefault(f"{node.value.id}.{node.attr}", _pos(node))
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _fail(
                node,
                f"operator {_OP_WORDS.get(type(node.op), type(node.op).__name__)} is not allowed",
            )
        _check(node.left, names, depth=d)
        _check(node.right, names, depth=d)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise _fail(
                node,
                f"operator {_OP_WORDS.get(type(node.op), type(node.op).__name__)} is not allowed",
            )
        _check(node.operand, names, depth=d)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, names, depth=d)
        return
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise _fail(
                    node, f"comparison {_OP_WORDS.get(type(op), type(op).__name__)} is not allowed"
                )
        _check(node.left, names, depth=d)
        for c in node.comparators:
            _check(c, names, depth=d)
        return
    if isinstance(node, ast.IfExp):
        for part in (node.test, node.body, node.orelse):
            _check(part, names, depth=d)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(node, "only calls of the built-in math functions are allowed")
        fname = node.func.id
        if fname not in FUNCTIONS and fname not in HOST_FUNCTIONS:
            _check_identifier(node.func, fname)
            raise _fail(
                node,
                f"unknown function {fname!r} (allowed: {', '.join(sorted(FUNCTIONS))}; "
                f"host: {', '.join(sorted(HOST_FUNCTIONS))})",
            )
        if node.keywords:
            raise _fail(node, f"{fname}() takes no keyword arguments")
        if fname in HOST_FUNCTIONS:
            lo, hi = HOST_REQUIRED, len(HOST_ARGS)
        else:
            _, lo, hi = FUNCTIONS[fname]
        n = len(node.args)
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise _fail(a, "starred arguments are not allowed")
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if hi == lo else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise _fail(
                node, f"{fname}() takes {want} argument{'s' if want != '1' else ''}, got {n}"
            )
        for a in node.args:
            _check(a, names, depth=d)
        return
    word = _NODE_WORDS.get(type(node), type(node).__name__)
    raise _fail(node, f"{word} not allowed in expressions")


def _check_identifier(node: ast.AST, name: str) -> None:
    if name.startswith("_"):
        raise _fail(node, f"name {name!r} is not allowed (names may not start with '_')")


# ---------------------------------------------------------------------------- compiling


def compile_expression(parsed: Parsed | str, scope: Scope) -> Compiled:
    """Compile to ``env -> array`` closures; unknown names raise ExpressionError."""
    p = parsed if isinstance(parsed, Parsed) else parse(parsed)
    fn = _compile(p.tree, scope)
    return Compiled(text=p.text, fn=fn, names=frozenset(p.names), hosts=p.hosts)


def compile_margin(parsed: Parsed | str, scope: Scope) -> Compiled:
    """Compile a constraint to its *margin* (>= 0 satisfied; units of the compared values).

    The expression must be a comparison, or ``and``/``or``/``not``/conditional of
    comparisons or truth values; a plain number is refused (it has no sense of direction).
    """
    p = parsed if isinstance(parsed, Parsed) else parse(parsed)
    fn = _margin(p.tree, scope)
    return Compiled(text=p.text, fn=fn, names=frozenset(p.names), hosts=p.hosts)


def _const(value: float) -> Fn:
    v = np.float64(value)
    return lambda env: v


def _compile(node: ast.expr, scope: Scope) -> Fn:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str):
            raise _fail(
                node, 'text is only allowed when compared with a choice, e.g. screw == "M3"'
            )
        return _const(float(node.value))
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return _const(CONSTANTS[node.id])
    name = _symbol(node)
    if name is not None:
        getter = scope.getter(name)
        if getter is None:
            raise _fail(node, f"unknown name {name!r}{scope.describe(name)}")
        return getter
    if isinstance(node, ast.BinOp):
        op = _BINOPS[type(node.op)]
        left, right = _compile(node.left, scope), _compile(node.right, scope)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, scope)
        if isinstance(node.op, ast.USub):
            return lambda env: np.negative(operand(env))
        if isinstance(node.op, ast.Not):
            return lambda env: np.logical_not(operand(env))
        return operand
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, scope) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolop(env: Env) -> np.ndarray:
            out = parts[0](env)
            for part in parts[1:]:
                out = combine(out, part(env))
            return out

        return boolop
    if isinstance(node, ast.Compare):
        pairs = _compare_pairs(node, scope)

        def compare(env: Env) -> np.ndarray:
            out = None
            for op, a, b in pairs:
                r = op(a(env), b(env))
                out = r if out is None else np.logical_and(out, r)
            return out

        return compare
    if isinstance(node, ast.IfExp):
        test = _compile(node.test, scope)
        body, orelse = _compile(node.body, scope), _compile(node.orelse, scope)
        return lambda env: np.where(test(env), body(env), orelse(env))
    if isinstance(node, ast.Call) and node.func.id in HOST_FUNCTIONS:  # type: ignore[union-attr]
        labels = scope.options(MATERIAL_KEY)
        if not labels:
            raise _fail(node, f"{node.func.id}() needs the catalog's materials")  # type: ignore[union-attr]
        args = [_compile(a, scope) for a in node.args]
        return _host_call(HOST_FUNCTIONS[node.func.id], args, labels)  # type: ignore[union-attr]
    if isinstance(node, ast.Call):
        func = FUNCTIONS[node.func.id][0]  # type: ignore[union-attr]
        args = [_compile(a, scope) for a in node.args]
        if len(args) == 1:
            (a0,) = args
            return lambda env: func(a0(env))
        if len(args) == 2:
            a0, a1 = args
            return lambda env: func(a0(env), a1(env))
        return lambda env: func(*[a(env) for a in args])
    raise _fail(node, f"{type(node).__name__} not allowed in expressions")  # pragma: no cover


def _host_call(output: int, args: list[Fn], labels: tuple[str, ...]) -> Fn:
    """``env -> (n,)``: output ``output`` (0 seconds, 1 grams) of the bound estimator."""

    def call(env: Env) -> np.ndarray:
        estimator = env.get(ESTIMATOR_KEY)
        if estimator is None:
            raise ExpressionError(
                "print_seconds()/print_grams() need a print estimator bound to the evaluation"
            )
        values = [a(env) for a in args]
        return host_predict(estimator, labels, env[MATERIAL_KEY], values)[output]

    return call


def host_predict(
    estimator: object, labels: tuple[str, ...], material: np.ndarray, values: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds, grams)`` of ``estimator`` for host-function arguments ``values`` (in
    :data:`HOST_ARGS` order) and material indices ``material`` into ``labels``, all broadcast
    together (result shape = broadcast shape). Grouped by material: one ``predict`` per
    material present. Rows with a non-finite or negative argument are NaN."""
    arrays = np.broadcast_arrays(
        np.asarray(material), *(np.asarray(v, dtype=np.float64) for v in values)
    )
    shape = arrays[0].shape
    mat = np.atleast_1d(arrays[0]).astype(np.intp).reshape(-1)
    cols = [np.atleast_1d(a).reshape(-1) for a in arrays[1:]]
    ok = np.ones(mat.shape, dtype=bool)
    for c in cols:
        ok &= np.isfinite(c) & (c >= 0)
    seconds = np.full(mat.shape, np.nan)
    grams = np.full(mat.shape, np.nan)
    present = np.unique(mat[ok])
    for m in present:
        rows = ok & (mat == m) if len(present) > 1 or not ok.all() else slice(None)
        kwargs = {name: c[rows] for name, c in zip(HOST_ARGS, cols, strict=False)}
        s, g = estimator.predict(labels[int(m)], **kwargs)  # type: ignore[attr-defined]
        seconds[rows], grams[rows] = s, g
    return seconds.reshape(shape), grams.reshape(shape)


def _compare_pairs(node: ast.Compare, scope: Scope) -> list[tuple[Callable, Fn, Fn]]:
    operands = [node.left, *node.comparators]
    pairs = []
    for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
        fa, fb = _choice_sides(a, b, scope, node)
        pairs.append((_CMPOPS[type(op)], fa, fb))
    return pairs


def _choice_sides(a: ast.expr, b: ast.expr, scope: Scope, node: ast.Compare) -> tuple[Fn, Fn]:
    """Compile one comparison's sides, turning ``choice == "label"`` into index arithmetic."""
    a_str = isinstance(a, ast.Constant) and isinstance(a.value, str)
    b_str = isinstance(b, ast.Constant) and isinstance(b.value, str)
    if not (a_str or b_str):
        return _compile(a, scope), _compile(b, scope)
    if a_str and b_str:
        raise _fail(node, "comparing two texts is not allowed")
    name_node, str_node = (b, a) if a_str else (a, b)
    name = _symbol(name_node)
    options = scope.options(name) if name else None
    if options is None:
        raise _fail(
            str_node, 'text is only allowed when compared with a choice, e.g. screw == "M3"'
        )
    label = str_node.value  # type: ignore[attr-defined]
    if label not in options:
        raise _fail(
            str_node, f"{label!r} is not an option of {name!r} (options: {', '.join(options)})"
        )
    index = _const(float(options.index(label)))
    getter = _compile(name_node, scope)
    return (index, getter) if a_str else (getter, index)


def _margin(node: ast.expr, scope: Scope) -> Fn:
    if isinstance(node, ast.Compare):
        pairs = _compare_pairs(node, scope)
        parts = [_pair_margin(op, a, b) for op, a, b in pairs]
        if len(parts) == 1:
            return parts[0]
        return lambda env: _min(*[p(env) for p in parts])
    if isinstance(node, ast.BoolOp):
        parts = [_margin(v, scope) for v in node.values]
        reduce = _min if isinstance(node.op, ast.And) else _max
        return lambda env: reduce(*[p(env) for p in parts])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _margin(node.operand, scope)
        return lambda env: np.negative(inner(env))
    if isinstance(node, ast.IfExp):
        test = _compile(node.test, scope)
        body, orelse = _margin(node.body, scope), _margin(node.orelse, scope)
        return lambda env: np.where(test(env), body(env), orelse(env))
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return _const(0.0 if node.value else -1.0)
    raise _fail(
        node,
        "a constraint must be a comparison such as 'a <= b' (or and/or/not of comparisons)",
    )


def _pair_margin(op: Callable, a: Fn, b: Fn) -> Fn:
    if op is np.less_equal or op is np.less:
        return lambda env: np.subtract(b(env), a(env))
    if op is np.greater_equal or op is np.greater:
        return lambda env: np.subtract(a(env), b(env))
    if op is np.equal:
        return lambda env: np.where(np.equal(a(env), b(env)), 0.0, -1.0)
    return lambda env: np.where(np.not_equal(a(env), b(env)), 0.0, -1.0)
