"""Capacity-aware scaling signals for mixed instance pools, as CloudWatch metric math.

Pure functions: the query builder and an evaluator for the subset of metric math it emits.
What they rely on (docs/aws-behaviour.md#metric-math-missing-values,
docs/aws-behaviour.md#instance-pools):

- each pool publishes ``ConcurrentRequestsPerModel`` with the dimensions ``EndpointName``,
  ``VariantName`` and ``InstanceType``; a pool without instances publishes nothing;
- arithmetic and comparisons between time series treat a missing value as 0 when another
  operand has a value; with every operand missing there is no value; a division by zero
  drops the datapoint;
- ``IF(c, a, b)``: no value where ``c`` is missing; ``c`` true and ``a`` missing gives 0;
  ``c`` false and ``b`` missing drops the point;
- ``FILL(m, v)`` fills gaps with ``v``.

The signal, by default, is the utilization of the most loaded pool,
``max_i(concurrency_i / capacity_i)``, written as nested ``IF(a >= b, a, b)``. By the rules
above an empty pool neither dilutes nor inflates it (AWS's weighted sum
``0.5*cr_g6 + 0.5*cr_g6e`` reports half the load while the g6e pool is empty). Under
least-outstanding-requests routing every instance carries about the same number of
requests, so the pool with the smallest capacity reaches its latency bound first: holding
its utilization at the target keeps every instance within its bound.

With explicit weights the signal is AWS's weighted form, normalized by the weights of the
pools that report: ``sum(w_i * u_i) / sum(w_i * IF(u_i, 1, 1))``. ``IF(m, 1, 1)`` is 1 where
``m`` has a value (zero included) and missing where it has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

#: Statistic of each pool's concurrency: Deepgram documents Minimum/Maximum, AWS's pool
#: example uses Average (docs/aws-behaviour.md#concurrency-metric); Maximum is valid for both.
POOL_STATISTIC = "Maximum"
RESULT_ID = "fleet_utilization"
WEIGHTED_CONCURRENCY_ID = "fleet_concurrency"


@dataclass(frozen=True)
class PoolSignal:
    """One pool's part of the signal: its capacity per instance and optional weight."""

    instance_type: str
    capacity: float | None = None
    weight: float | None = None


@dataclass(frozen=True)
class MetricQuery:
    """One query of a metric-math specification. ``instance_type`` marks a MetricStat on
    that pool's ``ConcurrentRequestsPerModel``; otherwise ``expression`` is set."""

    id: str
    expression: str | None = None
    instance_type: str | None = None
    return_data: bool = False


def number(value: float) -> str:
    """A number as metric math reads it: ``8`` rather than ``8.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def pool_id(instance_type: str) -> str:
    """A readable query id: ``ml.g6e.2xlarge`` -> ``g6e_2xlarge``."""
    return re.sub(r"[^a-z0-9]+", "_", instance_type.lower().removeprefix("ml.")).strip("_")


def mixed_fleet_queries(pools: Sequence[PoolSignal]) -> list[MetricQuery]:
    """The queries of the mixed-fleet signal; exactly one returns data.

    With capacities on every pool the result is a utilization (``fleet_utilization``);
    with weights but no capacities it is a weighted concurrency (``fleet_concurrency``).
    """
    if len(pools) < 2:
        raise ValueError("a mixed-fleet signal needs two or more pools")
    with_capacity = all(p.capacity is not None for p in pools)
    weighted = all(p.weight is not None for p in pools)
    if not with_capacity and not weighted:
        raise ValueError("declare a capacity on every pool, or a weight on every pool")
    queries: list[MetricQuery] = []
    terms: list[str] = []
    for pool in pools:
        name = pool_id(pool.instance_type)
        queries.append(MetricQuery(id=f"cr_{name}", instance_type=pool.instance_type))
        if with_capacity:
            assert pool.capacity is not None
            queries.append(MetricQuery(id=f"util_{name}",
                                       expression=f"cr_{name} / {number(pool.capacity)}"))
            terms.append(f"util_{name}")
        else:
            terms.append(f"cr_{name}")
    result_id = RESULT_ID if with_capacity else WEIGHTED_CONCURRENCY_ID
    if weighted:
        weights = [number(p.weight) for p in pools if p.weight is not None]
        numerator = " + ".join(f"{w} * {t}" for w, t in zip(weights, terms, strict=True))
        present = " + ".join(f"{w} * IF({t}, 1, 1)" for w, t in zip(weights, terms, strict=True))
        queries.append(MetricQuery(id=result_id, expression=f"({numerator}) / ({present})",
                                   return_data=True))
        return queries
    # max(t1, max(t2, ...)) from the right, one readable query per step
    running = terms[-1]
    for index in range(len(terms) - 2, -1, -1):
        expression = f"IF({terms[index]} >= {running}, {terms[index]}, {running})"
        rest = "_".join(pool_id(p.instance_type) for p in pools[index:])
        query_id = result_id if index == 0 else f"max_{rest}"
        queries.append(MetricQuery(id=query_id, expression=expression, return_data=index == 0))
        running = query_id
    return queries


# --- evaluator ---------------------------------------------------------------------------

#: A value at one timestamp: (number or None when missing, whether it is a time series).
Value = tuple[float | None, bool]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)"
                    r"|(>=|<=|==|!=|[-+*/(),<>]))")


class MetricMathError(ValueError):
    """An expression outside the supported subset."""


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise MetricMathError(f"cannot read {expression[position:]!r}")
        tokens.append(match.group(0).strip())
        position = match.end()
    return tokens


def _binary(op: str, left: Value, right: Value) -> Value:
    (a, a_series), (b, b_series) = left, right
    series = a_series or b_series
    if a is None and b is None:
        return None, series
    # A missing series counts as 0 only when the other operand is a series with a value.
    if a is None:
        if not (a_series and b_series):
            return None, series
        a = 0.0
    if b is None:
        if not (a_series and b_series):
            return None, series
        b = 0.0
    if op == "+":
        return a + b, series
    if op == "-":
        return a - b, series
    if op == "*":
        return a * b, series
    if op == "/":
        return (None if b == 0 else a / b), series
    compare = {">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b, "==": a == b, "!=": a != b}
    return (1.0 if compare[op] else 0.0), series


class _Compiler:
    """Parses an expression once into closures, so that evaluating it many times (the
    simulator does once per simulated minute) costs no parsing."""

    def __init__(self, expression: str, known: set[str]) -> None:
        self.tokens = _tokens(expression)
        self.position = 0
        self.known = known

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise MetricMathError(f"expected {expected or 'a token'}, got {token!r}")
        self.position += 1
        return token

    def compile(self) -> Callable[[Mapping[str, Value]], Value]:
        node = self.comparison()
        if self.peek() is not None:
            raise MetricMathError(f"unexpected {self.peek()!r}")
        return node

    def _binary(self, op: str, left: Callable[[Mapping[str, Value]], Value],
                right: Callable[[Mapping[str, Value]], Value]
                ) -> Callable[[Mapping[str, Value]], Value]:
        return lambda env: _binary(op, left(env), right(env))

    def comparison(self) -> Callable[[Mapping[str, Value]], Value]:
        left = self.additive()
        if self.peek() in (">=", "<=", "==", "!=", ">", "<"):
            left = self._binary(self.take(), left, self.additive())
        return left

    def additive(self) -> Callable[[Mapping[str, Value]], Value]:
        node = self.term()
        while self.peek() in ("+", "-"):
            node = self._binary(self.take(), node, self.term())
        return node

    def term(self) -> Callable[[Mapping[str, Value]], Value]:
        node = self.unary()
        while self.peek() in ("*", "/"):
            node = self._binary(self.take(), node, self.unary())
        return node

    def unary(self) -> Callable[[Mapping[str, Value]], Value]:
        if self.peek() == "-":
            self.take()
            inner = self.unary()

            def negate(env: Mapping[str, Value]) -> Value:
                value, series = inner(env)
                return (None if value is None else -value), series
            return negate
        return self.primary()

    def primary(self) -> Callable[[Mapping[str, Value]], Value]:
        token = self.take()
        if token == "(":
            node = self.comparison()
            self.take(")")
            return node
        if token[0].isdigit():
            constant: Value = (float(token), False)
            return lambda env: constant
        if token in ("IF", "FILL"):
            self.take("(")
            args = [self.comparison()]
            while self.peek() == ",":
                self.take(",")
                args.append(self.comparison())
            self.take(")")
            function = _if if token == "IF" else _fill
            return lambda env: function([arg(env) for arg in args])
        if token in self.known:
            return lambda env: env[token]
        raise MetricMathError(f"unknown query id or function {token!r}")


def _if(args: list[Value]) -> Value:
    if len(args) not in (2, 3):
        raise MetricMathError("IF takes 2 or 3 arguments")
    (condition, _), then = args[0], args[1]
    otherwise: Value = args[2] if len(args) == 3 else (None, True)
    if condition is None:
        return None, True
    if condition != 0:
        return (0.0 if then[0] is None else then[0]), True
    return otherwise[0], True


def _fill(args: list[Value]) -> Value:
    if len(args) != 2:
        raise MetricMathError("FILL takes 2 arguments")
    (value, _), (fill, _) = args
    return (fill if value is None else value), True


def compile_queries(
    queries: Sequence[MetricQuery],
) -> Callable[[Mapping[str, float | None]], float | None]:
    """Compile the queries once; the result maps each pool's value (by instance type, None
    or absent when it published nothing) to the returning query's value."""
    steps: list[tuple[str, str | None, Callable[[Mapping[str, Value]], Value] | None]] = []
    known: set[str] = set()
    result_id = None
    for query in queries:
        if query.instance_type is not None:
            steps.append((query.id, query.instance_type, None))
        else:
            assert query.expression is not None
            steps.append((query.id, None, _Compiler(query.expression, known).compile()))
        known.add(query.id)
        if query.return_data:
            result_id = query.id
    if result_id is None:
        raise MetricMathError("no query returns data")

    def run(pool_values: Mapping[str, float | None]) -> float | None:
        env: dict[str, Value] = {}
        for query_id, pool, node in steps:
            if node is None:
                env[query_id] = (pool_values.get(pool or ""), True)
            else:
                env[query_id] = node(env)
        return env[result_id][0]

    return run


def evaluate(
    queries: Sequence[MetricQuery], pool_values: Mapping[str, float | None]
) -> float | None:
    """The value the returning query has at one timestamp.

    :param pool_values: Each pool's concurrency by instance type; None (or absent) means the
        pool published no datapoint (no instances of that type).
    """
    return compile_queries(queries)(pool_values)


def queries_from_template(metrics: Sequence[Mapping[str, object]]) -> list[MetricQuery]:
    """Queries from a synthesized ``CustomizedMetricSpecification.Metrics`` list, so that a
    template's own expression can be evaluated. A MetricStat becomes a pool query keyed by
    its ``InstanceType`` dimension (or the metric name when it has none)."""
    queries = []
    for item in metrics:
        query_id = str(item["Id"])
        stat = item.get("MetricStat")
        if isinstance(stat, Mapping):
            metric = stat["Metric"]
            assert isinstance(metric, Mapping)
            dimensions = {str(d["Name"]): d["Value"] for d in metric.get("Dimensions", [])}
            key = dimensions.get("InstanceType", metric["MetricName"])
            queries.append(MetricQuery(id=query_id, instance_type=str(key),
                                       return_data=bool(item.get("ReturnData", True))))
        else:
            queries.append(MetricQuery(id=query_id, expression=str(item["Expression"]),
                                       return_data=bool(item.get("ReturnData", True))))
    return queries


def signal_kind(pools: Sequence[PoolSignal]) -> str:
    """Which policy a pool list gets.

    - ``"predefined"``: one pool, no declarations, or the same capacity everywhere: the
      predefined high-resolution concurrency metric is exact;
    - ``"pool-utilization"``: capacities that differ: the most loaded pool's utilization;
    - ``"weighted-utilization"`` / ``"weighted-concurrency"``: explicit weights, with or
      without capacities.
    """
    if len(pools) >= 2 and all(p.weight is not None for p in pools):
        return ("weighted-utilization" if all(p.capacity is not None for p in pools)
                else "weighted-concurrency")
    capacities = {p.capacity for p in pools}
    if len(pools) >= 2 and None not in capacities and len(capacities) > 1:
        return "pool-utilization"
    return "predefined"
