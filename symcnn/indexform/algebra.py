"""Index formulas and their algebra: reads, sums, conditions, elimination and tight bounds.

A :class:`Formula` is ``T[free] = sum over parts of coefficient * Σ_{sums} [conditions] Π reads``,
every index an integer expression (SymPy integer symbols, integers, ``floor``, ``ceiling``,
``Max``, ``Min``, ``Mod``), 0-based. A read outside its tensor is zero (the padding); a *tight*
formula has no such read: its bounds and conditions are exactly those under which a term is
present.

:func:`gradient` derives ``dL/dT`` from the forward formula by the chain rule at the level of
indices: ``dL/dT[t] = Σ_{out, sums} dL/dO[out] · (the part without its read of T) · [read = t]``,
and the index equations ``read = t`` eliminate one summation variable per axis (an output index
first, dividing by its coefficient under a divisibility condition when it is the stride).
:func:`tighten` turns every range a variable must stay in (its own, and every tensor axis it
reads) into bounds on the one summation variable it involves, then drops the bounds and
conditions that the layer's numbers make redundant, by checking them at every point of their
finite domain.

>>> from sympy import Symbol
>>> i, p = (Symbol(name, integer=True) for name in "ip")
>>> bounds_of(0, 2 * i - 1 + p, 4, i)  # 0 <= 2i - 1 + p <= 4
(ceiling(1/2 - p/2), floor(5/2 - p/2))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from sympy import (
    And,
    Basic,
    Eq,
    Expr,
    Integer,
    Max,
    Min,
    Mod,
    S,
    Symbol,
    ceiling,
    floor,
    sympify,
)
from sympy.logic.boolalg import BooleanTrue


def index_symbol(name: str) -> Symbol:
    """An index variable: an integer SymPy symbol (so ``ceiling(h + 1)`` is ``h + 1``)."""
    return Symbol(name, integer=True)


@dataclass(frozen=True)
class Read:
    """``tensor[index]``: one factor of a term (``X``, ``W``, ``B`` or ``G``, the upstream)."""

    tensor: str
    index: tuple[Expr, ...]

    def subs(self, mapping: Mapping) -> Read:
        return Read(self.tensor, tuple(sympify(e).xreplace(mapping) for e in self.index))


@dataclass(frozen=True)
class Limit:
    """``var`` runs over ``low..high`` (inclusive, 0-based)."""

    var: Symbol
    low: Expr
    high: Expr

    def subs(self, mapping: Mapping) -> Limit:
        return Limit(self.var, _subs(self.low, mapping), _subs(self.high, mapping))


@dataclass(frozen=True)
class TieRule:
    """Which extreme a window takes (``max``, ``min``) and who wins a tie (``first``, ...)."""

    extreme: str
    ties: str


@dataclass(frozen=True)
class Share:
    """The tie rule's share of ``cell`` in the extreme of its window: a factor on *values*.

    The window is ``window`` (a read in the bound variables of ``limits``) over ``limits``, in
    row-major order (the first limit outer). Under ``first`` the share is 1 when ``cell`` is the
    first read of the window at the extreme value, else 0; under ``split`` it is ``1/t`` when
    ``cell`` holds the extreme, ``t`` the window's reads that hold it; under ``all`` it is 1
    when ``cell`` holds the extreme. Only its index expressions take part in the algebra; the
    value condition is decided when an entry is instantiated.
    """

    rule: TieRule
    cell: Read
    window: Read
    limits: tuple[Limit, ...]

    @property
    def bound(self) -> tuple[Symbol, ...]:
        return tuple(limit.var for limit in self.limits)

    def subs(self, mapping: Mapping) -> Share:
        mapping = {k: v for k, v in mapping.items() if k not in self.bound}
        return Share(
            self.rule,
            self.cell.subs(mapping),
            self.window.subs(mapping),
            tuple(limit.subs(mapping) for limit in self.limits),
        )


@dataclass(frozen=True)
class Part:
    """``coefficient · Σ_{sums} [conditions] Π reads · Π shares``: one summand of a formula.

    With ``extreme`` set (the forward pass of max or min pooling) the part is instead the
    extreme of its one read over its sums; its gradient's parts carry a :class:`Share`.
    """

    coefficient: Expr
    reads: tuple[Read, ...]
    sums: tuple[Limit, ...] = ()
    conditions: tuple[Basic, ...] = ()
    shares: tuple[Share, ...] = ()
    extreme: TieRule | None = None

    def subs(self, mapping: Mapping) -> Part:
        return Part(
            _subs(self.coefficient, mapping),
            tuple(read.subs(mapping) for read in self.reads),
            tuple(limit.subs(mapping) for limit in self.sums),
            tuple(_subs(c, mapping) for c in self.conditions),
            tuple(share.subs(mapping) for share in self.shares),
            self.extreme,
        )


@dataclass(frozen=True)
class Formula:
    """``tensor[free] = Σ parts``: the forward pass (``O``) or a gradient (``X``, ``W``, ``B``)."""

    tensor: str
    free: tuple[Limit, ...]
    parts: tuple[Part, ...]

    @property
    def variables(self) -> tuple[Symbol, ...]:
        return tuple(limit.var for limit in self.free)


def _subs(expr, mapping: Mapping):
    return sympify(expr).xreplace(mapping)


# -- the chain rule at the level of indices ----------------------------------------------------


def gradient(
    forward: Formula,
    tensor: str,
    free: Iterable[Symbol],
    scale: Expr = S.One,
) -> Formula:
    """``dL/d tensor[free]`` from the (untightened) forward formula, not yet tightened.

    Every read of ``tensor`` in a part gives one part of the gradient: the upstream gradient at
    the output index times the part's other reads, summed over the output index and the part's
    sums, with the read's index set equal to ``free``, one axis at a time.

    An extreme part (max or min over its sums) gives the upstream gradient times the tie rule's
    :class:`Share` of the cell in its window; its equations eliminate the window's taps rather
    than the output index, so that the gradient sums over the windows that hold the cell.
    """
    free = tuple(free)
    outputs = forward.variables
    taken = {v.name for v in free}
    parts = []
    for part in forward.parts:
        for position, read in enumerate(part.reads):
            if read.tensor != tensor:
                continue
            # Fresh names for the forward's variables: the gradient's free indices may reuse them.
            fresh = {
                v: index_symbol(v.name + "_")
                for v in (*outputs, *(limit.var for limit in part.sums))
            }
            ranges = [
                Limit(fresh[limit.var], _subs(limit.low, fresh), _subs(limit.high, fresh))
                for limit in (*forward.free, *part.sums)
            ]
            reads = (
                Read("G", tuple(fresh[v] for v in outputs)),
                *(r.subs(fresh) for j, r in enumerate(part.reads) if j != position),
            )
            target = read.subs(fresh)
            conditions = [_subs(c, fresh) for c in part.conditions]
            coefficient = scale * _subs(part.coefficient, fresh)
            preference = [fresh[v] for v in outputs] + [fresh[limit.var] for limit in part.sums]
            shares: tuple[Share, ...] = ()
            if part.extreme is not None:
                # the window keeps the forward's tap names, bound inside the share
                window = read.subs({v: fresh[v] for v in outputs})
                bounded = tuple(limit.subs({v: fresh[v] for v in outputs}) for limit in part.sums)
                shares = (Share(part.extreme, Read(tensor, free), window, bounded),)
                taken_by_window = {limit.var.name for limit in part.sums}
                if taken_by_window & taken:
                    raise ValueError("a free index has the name of a window's tap")
                preference = preference[len(outputs) :] + preference[: len(outputs)]
            solved = _eliminate(target.index, free, preference)
            mapping = {var: value for var, value, _ in solved}
            conditions += [cond for _, _, cond in solved if cond is not None]
            left = [r for r in ranges if r.var not in mapping]
            # Each eliminated variable keeps its range, now a condition on the others.
            for r in ranges:
                if r.var in mapping:
                    value = mapping[r.var]
                    conditions.append(And(r.low <= value, value <= r.high))
            part_out = Part(
                _subs(coefficient, mapping),
                tuple(r.subs(mapping) for r in reads),
                tuple(left),
                tuple(_subs(c, mapping) for c in conditions),
                tuple(share.subs(mapping) for share in shares),
            )
            bound = {v.name for share in shares for v in share.bound}
            parts.append(_rename(part_out, taken | bound))
    limits = ()  # the free ranges are the tensor's: filled in by the caller
    return Formula(tensor, limits, tuple(parts))


def _eliminate(
    index: tuple[Expr, ...], free: tuple[Symbol, ...], preference: list[Symbol]
) -> list[tuple[Symbol, Expr, Basic | None]]:
    """Solve ``index[a] = free[a]`` for one variable per axis: ``(var, value, condition)``.

    The variable is the first of ``preference`` that the axis's expression holds linearly (an
    output index before a summation index); with a coefficient other than ±1 the solution is a
    quotient, exact only under the divisibility condition returned with it.
    """
    solved: list[tuple[Symbol, Expr, Basic | None]] = []
    mapping: dict[Symbol, Expr] = {}
    for axis, target in zip(index, free, strict=True):
        expr = _subs(axis, mapping) - target
        var = next((v for v in preference if v not in mapping and _linear(expr, v)), None)
        if var is None:
            raise ValueError(f"cannot solve {axis} = {target}: no variable occurs linearly")
        coefficient = expr.coeff(var)
        rest = (expr - coefficient * var).expand()
        value = (-rest / coefficient).expand()
        condition = None
        if coefficient not in (1, -1):
            condition = Eq(Mod(rest, coefficient), 0)
        mapping = {v: _subs(e, {var: value}) for v, e in mapping.items()}
        mapping[var] = value
        solved = [(v, _subs(e, {var: value}), c) for v, e, c in solved]
        solved.append((var, value, condition))
    return solved


def _linear(expr: Expr, var: Symbol) -> bool:
    """``expr`` is ``a*var + rest`` with a nonzero number ``a`` and ``var`` absent from ``rest``."""
    expr = sympify(expr).expand()
    if var not in expr.free_symbols:
        return False
    coefficient = expr.coeff(var)
    rest = (expr - coefficient * var).expand()
    return coefficient.is_number and coefficient != 0 and var not in rest.free_symbols


#: The letters the gradient's summation variables take, in order of preference, by the
#: forward's variable they come from (``i_`` becomes ``i``, unless the result already uses it).
def _rename(part: Part, taken: set[str]) -> Part:
    """Give the part's summation variables their forward names back, avoiding ``taken``."""
    mapping = {}
    used = set(taken)
    for limit in part.sums:
        base = limit.var.name.rstrip("_")
        name = (
            base
            if base not in used
            else next(f"{base}{k}" for k in itertools.count(2) if f"{base}{k}" not in used)
        )
        used.add(name)
        mapping[limit.var] = index_symbol(name)
    renamed = part.subs(mapping)
    return replace(renamed, sums=tuple(Limit(mapping[s.var], s.low, s.high) for s in renamed.sums))


# -- tight bounds -----------------------------------------------------------------------------


def bounds_of(low, expr, high, var: Symbol) -> tuple[Expr, Expr] | None:
    """``low <= expr <= high`` as bounds on ``var``, or None when ``expr`` is not of that form.

    ``expr`` must be ``a*var + rest`` or ``a*floor(var/m) + rest`` (a group's channel), ``rest``
    free of ``var``, ``a`` a nonzero number.
    """
    expr = sympify(expr).expand()
    atom, m = var, None
    for candidate in expr.atoms(floor):
        if candidate.free_symbols == {var}:
            inner = candidate.args[0]
            q = inner.coeff(var)
            if inner == q * var and q.is_Rational and q.p == 1:
                atom, m = candidate, q.q
    coefficient = expr.coeff(atom)
    rest = (expr - coefficient * atom).expand()
    if not coefficient.is_number or coefficient == 0 or var in rest.free_symbols:
        return None
    if coefficient > 0:
        lo, hi = ceiling((low - rest) / coefficient), floor((high - rest) / coefficient)
    else:
        lo, hi = ceiling((high - rest) / coefficient), floor((low - rest) / coefficient)
    if m is None:
        return lo, hi
    return m * lo, m * hi + m - 1  # floor(var/m) in lo..hi


def _ranges(part: Part, shapes: Mapping[str, tuple[int, ...]]) -> Iterator[tuple]:
    """Every ``(low, expr, high)`` a present term must satisfy: its sums and its reads."""
    for limit in part.sums:
        yield limit.low, limit.var, limit.high
    for read in part.reads:
        for axis, size in zip(read.index, shapes[read.tensor], strict=True):
            yield 0, axis, size - 1
    for condition in part.conditions:
        yield from _condition_ranges(condition)


def _condition_ranges(condition: Basic) -> Iterator[tuple]:
    """A conjunction of ``a <= e`` and ``e <= b`` as ranges; anything else is kept whole."""
    for clause in condition.args if isinstance(condition, And) else (condition,):
        if clause.is_Relational and clause.rel_op in ("<=", ">="):
            small, big = (
                (clause.lhs, clause.rhs) if clause.rel_op == "<=" else (clause.rhs, clause.lhs)
            )
            if small.is_number:
                yield small, big, S.Infinity
                continue
            if big.is_number:
                yield S.NegativeInfinity, small, big
                continue
            yield S.NegativeInfinity, small - big, 0
        else:
            yield None, clause, None  # a condition kept as it is (divisibility)


def tighten(
    part: Part,
    free: tuple[Limit, ...],
    shapes: Mapping[str, tuple[int, ...]],
) -> Part:
    """The part with bounds exactly those under which a term is present, none redundant.

    Every range a term needs (its sums' own, and each read inside its tensor) involving exactly
    one summation variable becomes a bound on it; one involving none is a condition on the free
    indices; anything else (divisibility) stays a condition. Then every bound that another one
    implies over the layer's finite index ranges, and every condition that always holds there, is
    dropped (:func:`prune`).
    """
    sums = [limit.var for limit in part.sums]
    lows: dict[Symbol, list] = {v: [] for v in sums}
    highs: dict[Symbol, list] = {v: [] for v in sums}
    conditions: list[Basic] = []
    for low, expr, high in _ranges(part, shapes):
        if low is None:
            conditions.append(expr)
            continue
        involved = [v for v in sums if v in sympify(expr).free_symbols]
        solved = bounds_of(low, expr, high, involved[0]) if len(involved) == 1 else None
        if solved is None:
            conditions.append(_range_condition(low, expr, high))
            continue
        lo, hi = solved
        # a one-sided range bounds one side only (which one: the coefficient's sign says)
        if lo.is_finite is not False:
            lows[involved[0]].append(lo)
        if hi.is_finite is not False:
            highs[involved[0]].append(hi)
    limits = tuple(Limit(v, Max(*lows[v]), Min(*highs[v])) for v in sums)
    tightened = prune(replace(part, sums=_ordered(limits), conditions=tuple(conditions)), free)
    if not tightened.shares:
        return tightened
    return replace(
        tightened, shares=tuple(_tight_window(s, tightened, free, shapes) for s in tightened.shares)
    )


def _tight_window(share: Share, part: Part, free: tuple[Limit, ...], shapes) -> Share:
    """The share with its window's taps bounded to the cells inside the tensor (a max over
    the padding takes no padded cell), tightened like a sum over the part's domain."""
    window = tighten(Part(S.One, (share.window,), share.limits), (*free, *part.sums), shapes)
    if window.conditions:
        raise ValueError(f"the window {share.window} has conditions beyond its bounds")
    return replace(share, limits=window.sums)


def _range_condition(low, expr, high) -> Basic:
    clauses = []
    if low != S.NegativeInfinity:
        clauses.append(low <= expr)
    if high != S.Infinity:
        clauses.append(expr <= high)
    return And(*clauses)


def _ordered(limits: tuple[Limit, ...]) -> tuple[Limit, ...]:
    """The sums in an order where each one's bounds use only the free indices and outer sums."""
    left, done = list(limits), []
    names = {limit.var for limit in limits}
    while left:
        for limit in left:
            needs = (limit.low.free_symbols | limit.high.free_symbols) & names
            if needs <= {d.var for d in done}:
                done.append(limit)
                left.remove(limit)
                break
        else:
            raise ValueError("the bounds of the sums depend on each other")
    return tuple(done)


# -- redundancy, decided on the finite index ranges -------------------------------------------


def points(
    needed: set[Symbol], limits: tuple[Limit, ...], cap: int = 200_000
) -> Iterator[dict[Symbol, int]]:
    """Every assignment of the ``needed`` variables (and what their bounds need) in range.

    ``limits`` are the free indices then the sums, outer first; a variable's bounds may use the
    ones before it. Stops with ValueError past ``cap`` points (a bound on the time spent).
    """
    by_var = {limit.var: limit for limit in limits}
    closure = set(needed)
    for limit in reversed(limits):
        if limit.var in closure:
            closure |= (limit.low.free_symbols | limit.high.free_symbols) & set(by_var)
    order = [limit for limit in limits if limit.var in closure]
    count = 0

    def walk(position: int, env: dict) -> Iterator[dict]:
        nonlocal count
        if position == len(order):
            count += 1
            if count > cap:
                raise ValueError(f"more than {cap} index points to check")
            yield dict(env)
            return
        limit = order[position]
        low, high = int(_subs(limit.low, env)), int(_subs(limit.high, env))
        for value in range(low, high + 1):
            env[limit.var] = Integer(value)
            yield from walk(position + 1, env)
        env.pop(limit.var, None)

    yield from walk(0, {})


def prune(part: Part, free: tuple[Limit, ...]) -> Part:
    """Drop every bound another bound implies and every condition that always holds.

    Decided at every point of the (finite) domain of the variables involved: the free indices
    over their ranges, the outer sums over their bounds.
    """
    sums = list(part.sums)
    for position, limit in enumerate(sums):
        outer = (*free, *sums[:position])
        low = _dominant(limit.low, Max, outer, larger=True)
        high = _dominant(limit.high, Min, outer, larger=False)
        sums[position] = Limit(limit.var, low, high)
    sums = tuple(sums)
    domain = (*free, *sums)
    conditions = []
    for condition in part.conditions:
        if isinstance(condition, BooleanTrue):
            continue
        needed = condition.free_symbols
        if all(bool(_subs(condition, env)) for env in points(needed, domain)):
            continue
        conditions.append(condition)
    return replace(part, sums=sums, conditions=tuple(conditions))


def _dominant(bound: Expr, kind, outer: tuple[Limit, ...], larger: bool) -> Expr:
    """``Max``/``Min`` of the arguments not implied by another one over the outer domain."""
    args = list(bound.args) if isinstance(bound, kind) else [bound]
    position = 0
    while position < len(args) and len(args) > 1:
        candidate = args[position]
        others = args[:position] + args[position + 1 :]
        needed = set().union(*(a.free_symbols for a in args))
        envs = list(points(needed, outer))
        # candidate is redundant when some other argument is always at least as tight
        if any(
            all(_tighter(_subs(o, e), _subs(candidate, e), larger) for e in envs) for o in others
        ):
            args.pop(position)
        else:
            position += 1
    return kind(*args)


def _tighter(a, b, larger: bool) -> bool:
    return bool(a >= b) if larger else bool(a <= b)


def collapse(part: Part) -> Part:
    """Substitute every sum that runs over one value (``n`` from 0 to 0) and drop it."""
    while True:
        single = next((s for s in part.sums if s.low == s.high), None)
        if single is None:
            return part
        rest = tuple(s for s in part.sums if s is not single)
        part = replace(part, sums=rest).subs({single.var: single.low})


def shifted(formula: Formula, base: int) -> Formula:
    """The formula with every index counted from ``base`` (1 for the notes; 0 is the same).

    A variable ``v`` of the 1-based formula is ``v0 + 1``: each read's index gains ``base`` on
    every axis, each bound gains ``base``, and every expression in ``v0`` is rewritten in ``v``.
    """
    if base == 0:
        return formula
    variables = list(formula.variables)
    for part in formula.parts:
        variables += [s.var for s in part.sums]
    mapping = {v: v - base for v in variables}

    def read(r: Read) -> Read:
        return Read(r.tensor, tuple((_subs(e, mapping) + base).expand() for e in r.index))

    def limit(lim: Limit) -> Limit:
        return Limit(lim.var, _subs(lim.low, mapping) + base, _subs(lim.high, mapping) + base)

    def share(s: Share) -> Share:
        inner = {**mapping, **{v: v - base for v in s.bound}}
        return Share(
            s.rule,
            read(s.cell),
            Read(s.window.tensor, tuple((_subs(e, inner) + base).expand() for e in s.window.index)),
            tuple(
                Limit(lim.var, _subs(lim.low, mapping) + base, _subs(lim.high, mapping) + base)
                for lim in s.limits
            ),
        )

    parts = tuple(
        replace(
            p,
            coefficient=_subs(p.coefficient, mapping),
            reads=tuple(read(r) for r in p.reads),
            sums=tuple(limit(s) for s in p.sums),
            conditions=tuple(_subs(c, mapping) for c in p.conditions),
            shares=tuple(share(s) for s in p.shares),
        )
        for p in formula.parts
    )
    return Formula(formula.tensor, tuple(limit(f) for f in formula.free), parts)
