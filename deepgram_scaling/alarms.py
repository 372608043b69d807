"""The alarms of each endpoint type, defined once.

One table per endpoint type gives each alarm's metric (a helper of the type's metric
factory), its default evaluation, comparison, missing-data treatment and description. The
``*AlarmOptions`` defaults and the code that builds the alarms both read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from ._validation import Problems, is_token, to_seconds
from .metric_math import MetricQuery, number
from .metrics import EndpointMetrics

GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING
#: InvokeEndpoint gives up after 60 s; a p99 above 50 s means requests are about to fail
#: (docs/aws-behaviour.md#invoke-timeout).
LATENCY_ALARM_MICROSECONDS = 50_000_000
#: Our default bound for the first streamed result: 3 s at p99 (tune it to your product).
FIRST_CHUNK_ALARM_MICROSECONDS = 3_000_000


@dataclass(frozen=True, kw_only=True)
class AlarmOptions:
    """How one alarm evaluates its metric. Pass ``None`` instead to switch the alarm off.

    :param threshold: The value compared with the metric. Default: None, the alarm's own
        default (see the endpoint's alarm options).
    :param period: Length of one datapoint, a multiple of 60 s. Default: 1 minute.
    :param evaluation_periods: Datapoints looked at. Default: 3.
    :param datapoints_to_alarm: Breaching datapoints, among them, that raise the alarm.
        Default: equal to ``evaluation_periods``.
    """

    threshold: float | None = None
    period: Duration = Duration.minutes(1)
    evaluation_periods: int = 3
    datapoints_to_alarm: int | None = None

    def __post_init__(self) -> None:
        problems = Problems()
        self.check(problems, "AlarmOptions")
        problems.raise_if_any()

    def check(self, problems: Problems, prop: str) -> None:
        """Add every problem with these options to ``problems``, naming them ``prop``."""
        if self.threshold is not None:
            problems.number(f"{prop}.threshold", self.threshold)
        period_ok = problems.duration(f"{prop}.period", self.period, minimum_s=60,
                                      why="(the endpoint metrics are published per minute)")
        seconds = to_seconds(self.period) if period_ok else None
        if is_token(seconds):  # a period known only at deploy time: no range to check here
            seconds = None
        if isinstance(seconds, (int, float)) and seconds % 60:
            period_ok = False
            problems.add(f"{prop}.period must be a multiple of 60 seconds (the endpoint "
                         f"metrics are published per minute), got "
                         f"{self.period.to_human_string()}")
        if problems.number(f"{prop}.evaluation_periods", self.evaluation_periods, minimum=1,
                           integer=True) and period_ok and isinstance(seconds, (int, float)) \
                and seconds * self.evaluation_periods > 86_400:
            problems.add(f"{prop}: evaluation_periods x period must be at most one day "
                         f"(CloudWatch's limit), got {self.evaluation_periods} x "
                         f"{self.period.to_human_string()}")
        if self.datapoints_to_alarm is not None:
            problems.number(
                f"{prop}.datapoints_to_alarm", self.datapoints_to_alarm, minimum=1,
                maximum=self.evaluation_periods, integer=True,
                why="(no more than evaluation_periods)",
            )


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm of an endpoint type.

    :param name: Its key in ``endpoint.alarms`` and its field in the alarm options.
    :param metric: The metric factory helper it watches.
    :param defaults: Its default evaluation; ``threshold`` None means ``max_capacity``.
    """

    name: str
    metric: str
    defaults: AlarmOptions
    description: str
    treat_missing_data: cloudwatch.TreatMissingData = NOT_BREACHING

    @property
    def construct_id(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_")) + "Alarm"


def _errors(name: str, metric: str, description: str, *, threshold: float = 1,
            evaluation_periods: int = 5, datapoints: int | None = 3) -> AlarmSpec:
    return AlarmSpec(name, metric, AlarmOptions(threshold=threshold,
                                                evaluation_periods=evaluation_periods,
                                                datapoints_to_alarm=datapoints), description)


def _capacity_at_max(description: str) -> AlarmSpec:
    return AlarmSpec("capacity_at_max", "instance_count", AlarmOptions(evaluation_periods=15),
                     description)



REALTIME_ALARMS: tuple[AlarmSpec, ...] = (
    _capacity_at_max("Deepgram real-time endpoint is pinned at max_capacity: it cannot add "
                     "instances for more load."),
    _errors("invocation_5xx_errors", "invocation_5xx_errors",
            "Deepgram real-time endpoint returns 5XX errors."),
    _errors("model_errors", "model_errors",
            "Deepgram model answers requests with errors or times out.", threshold=5),
    AlarmSpec("model_latency", "model_latency",
              AlarmOptions(threshold=LATENCY_ALARM_MICROSECONDS, evaluation_periods=3),
              "Deepgram real-time endpoint p99 model latency is close to the 60 s "
              "InvokeEndpoint timeout."),
    AlarmSpec("first_chunk_latency", "first_chunk_latency",
              AlarmOptions(threshold=FIRST_CHUNK_ALARM_MICROSECONDS, evaluation_periods=3),
              "Streaming sessions wait too long for their first result."),
    AlarmSpec("mid_stream_errors", "mid_stream_errors",
              AlarmOptions(threshold=1, evaluation_periods=5, datapoints_to_alarm=3),
              "Streaming sessions fail after they started."),
)

ASYNC_ALARMS: tuple[AlarmSpec, ...] = (
    AlarmSpec("oldest_request_age", "age_of_oldest_request",
              AlarmOptions(threshold=900, evaluation_periods=3),
              "Requests wait too long at the Deepgram asynchronous endpoint."),
    AlarmSpec("backlog_without_capacity", "has_backlog_without_capacity",
              AlarmOptions(threshold=1, evaluation_periods=15),
              "Work has waited without any instance for too long: the wake-up from zero is "
              "failing (quota, capacity or scaling)."),
    _errors("invocation_failures", "invocation_failures", "Deepgram asynchronous requests fail."),
    _capacity_at_max("Deepgram asynchronous endpoint is pinned at max_capacity."),
    # The failure signals of docs/aws-behaviour.md#async-failure-metrics: the first one alarms.
    _errors("request_download_failures", "request_download_failures",
            "SageMaker cannot read request inputs from S3: check the execution role's S3 and "
            "KMS permissions and the VPC's route to S3.", evaluation_periods=1, datapoints=None),
    _errors("response_upload_failures", "response_upload_failures",
            "SageMaker cannot write results to S3: check the execution role's S3 and KMS "
            "permissions.", evaluation_periods=1, datapoints=None),
    _errors("notification_failures", "notification_failures",
            "SageMaker cannot publish to the success or error topic: check sns:Publish and "
            "the topic key's permissions.", evaluation_periods=1, datapoints=None),
)


def defaults_of(table: Sequence[AlarmSpec]) -> Mapping[str, AlarmOptions]:
    return {spec.name: spec.defaults for spec in table}


_REALTIME = defaults_of(REALTIME_ALARMS)
_ASYNC = defaults_of(ASYNC_ALARMS)


class _AlarmOptionsSet:
    """What both alarm-option classes share: every field is ``AlarmOptions`` or None."""

    def __post_init__(self) -> None:
        problems = Problems()
        for field in fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if value is not None and not isinstance(value, AlarmOptions):
                problems.add(f"{field.name} must be an AlarmOptions or None, got {value!r}")
        problems.raise_if_any()

    def selected(self) -> Mapping[str, AlarmOptions | None]:
        return {field.name: getattr(self, field.name) for field in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class RealtimeAlarmOptions(_AlarmOptionsSet):
    """The alarms of a real-time endpoint. Set one to ``None`` to switch it off.

    :param capacity_at_max: The instance count stays at ``max_capacity``. Default: >=
        ``max_capacity`` for 15 of 15 minutes.
    :param invocation_5xx_errors: ``Invocation5XXErrors`` (Sum). Default: >= 1 in 3 of 5
        minutes.
    :param model_errors: ``InvocationModelErrors`` (Sum), timeouts included. Default: >= 5 in
        3 of 5 minutes.
    :param model_latency: ``ModelLatency`` p99 in microseconds (synchronous requests only).
        Default: >= 50,000,000 (50 s; InvokeEndpoint times out at 60 s) for 3 of 3 minutes.
    :param first_chunk_latency: ``FirstChunkLatency`` p99 in microseconds, one sample per
        streaming session. Default: >= 3,000,000 (3 s) for 3 of 3 minutes.
    :param mid_stream_errors: ``MidStreamErrors`` (Sum). Default: >= 1 in 3 of 5 minutes.

    The streaming metrics are sparse by design (docs/aws-behaviour.md#streaming-metrics):
    ``FirstChunkLatency`` has one sample per new session and ``MidStreamErrors`` appears only
    when errors happen, so, as Deepgram advises, missing data counts as not breaching.
    """

    capacity_at_max: AlarmOptions | None = _REALTIME["capacity_at_max"]
    invocation_5xx_errors: AlarmOptions | None = _REALTIME["invocation_5xx_errors"]
    model_errors: AlarmOptions | None = _REALTIME["model_errors"]
    model_latency: AlarmOptions | None = _REALTIME["model_latency"]
    first_chunk_latency: AlarmOptions | None = _REALTIME["first_chunk_latency"]
    mid_stream_errors: AlarmOptions | None = _REALTIME["mid_stream_errors"]


@dataclass(frozen=True, kw_only=True)
class AsyncAlarmOptions(_AlarmOptionsSet):
    """The alarms of an asynchronous endpoint. Set one to ``None`` to switch it off.

    :param oldest_request_age: ``ApproximateAgeOfOldestRequest`` (Maximum, seconds).
        Default: >= 900 s for 3 of 3 minutes.
    :param backlog_without_capacity: ``HasBacklogWithoutCapacity`` stays 1: the wake-up is
        failing. Default: >= 1 for 15 of 15 minutes.
    :param invocation_failures: ``InvocationFailures`` (Sum). Default: >= 1 in 3 of 5
        minutes.
    :param capacity_at_max: Instance count >= ``max_capacity``. Default: 15 of 15 minutes.
    :param request_download_failures: ``RequestDownloadFailures`` (Sum). Default: >= 1 in 1
        of 1 minute.
    :param response_upload_failures: ``ResponseUploadFailures`` (Sum). Default: >= 1 in 1 of
        1 minute.
    :param notification_failures: ``NotificationFailures`` (Sum). Default: >= 1 in 1 of 1
        minute.

    The last three reveal IAM, KMS and SNS mistakes that no request error shows
    (docs/aws-behaviour.md#async-failure-metrics).
    """

    oldest_request_age: AlarmOptions | None = _ASYNC["oldest_request_age"]
    backlog_without_capacity: AlarmOptions | None = _ASYNC["backlog_without_capacity"]
    invocation_failures: AlarmOptions | None = _ASYNC["invocation_failures"]
    capacity_at_max: AlarmOptions | None = _ASYNC["capacity_at_max"]
    request_download_failures: AlarmOptions | None = _ASYNC["request_download_failures"]
    response_upload_failures: AlarmOptions | None = _ASYNC["response_upload_failures"]
    notification_failures: AlarmOptions | None = _ASYNC["notification_failures"]


def _notify(topic: sns.ITopic | None) -> cw_actions.SnsAction | None:
    """One action for every alarm of a call: an ``SnsAction`` only names its topic (its
    ``bind`` returns the topic ARN), so sharing it renders the same ``AlarmActions`` and
    ``OKActions`` without a kernel object per alarm and state (``make bench-synth``)."""
    return cw_actions.SnsAction(topic) if topic is not None else None


def create_alarms(
    scope: Construct,
    table: Sequence[AlarmSpec],
    selected: Mapping[str, AlarmOptions | None],
    *,
    metrics: EndpointMetrics,
    topic: sns.ITopic | None,
    max_capacity: float,
    name_prefix: str | None = None,
) -> dict[str, cloudwatch.Alarm]:
    """Create the table's alarms that ``selected`` keeps, each notifying ``topic`` on ALARM
    and OK. A spec's threshold applies when the options give none; None means
    ``max_capacity``. With ``name_prefix``, each alarm gets the fixed name
    ``<prefix>-<ConstructId>``."""
    created: dict[str, cloudwatch.Alarm] = {}
    action = _notify(topic)
    for spec in table:
        options = selected.get(spec.name)
        if options is None:
            continue
        threshold = options.threshold
        if threshold is None:
            threshold = spec.defaults.threshold
        created[spec.name] = _notifying_alarm(
            scope, spec, options, action,
            metric=getattr(metrics, spec.metric)(period=options.period),
            threshold=max_capacity if threshold is None else threshold,
            comparison_operator=GTE,
            treat_missing_data=spec.treat_missing_data,
            alarm_name=f"{name_prefix}-{spec.construct_id}" if name_prefix else None,
        )
    return created


def _notifying_alarm(
    scope: Construct,
    spec: AlarmSpec | RollbackSpec,
    options: AlarmOptions,
    action: cloudwatch.IAlarmAction | None,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison_operator: cloudwatch.ComparisonOperator,
    treat_missing_data: cloudwatch.TreatMissingData,
    alarm_name: str | None,
) -> cloudwatch.Alarm:
    """One alarm of a table, on the evaluation window ``options`` set, that invokes
    ``action`` (when given) on ALARM and on OK."""
    alarm = cloudwatch.Alarm(
        scope,
        spec.construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=options.evaluation_periods,
        datapoints_to_alarm=options.datapoints_to_alarm or options.evaluation_periods,
        comparison_operator=comparison_operator,
        treat_missing_data=treat_missing_data,
        alarm_description=spec.description,
        alarm_name=alarm_name,
    )
    if action is not None:
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarm


# --- rollback alarms -----------------------------------------------------------------------
#
# The alarms that roll a guarded update back are their own alarms, apart from the monitoring
# alarms above (docs/aws-behaviour.md#rollback-alarms). An alarm over both fleets trips on
# the old fleet's errors and stops the update, so each one either watches the new fleet alone
# (the EndpointConfigName dimension, where AWS shows that the metric carries it) or an error
# rate rather than a count. Each judges a datapoint only when enough requests stand behind
# it, and treats missing data (no traffic yet) as healthy.

#: The default error rate above which a release rolls back: 5 % of requests.
ROLLBACK_ERROR_RATE = 0.05
#: Requests a datapoint needs before it is judged. At the default rate, one error among the
#: fewest requests judged is 1/20 = 5 %, which is not above 5 %: a single error never rolls
#: back.
ROLLBACK_MINIMUM_REQUESTS = 20
#: Query ids of a rollback alarm's metric math.
JUDGED_ID = "judged"
REQUESTS_ID = "requests"
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


@dataclass(frozen=True, kw_only=True)
class RollbackAlarmOptions(AlarmOptions):
    """How one default rollback alarm judges a release. Pass ``None`` instead to leave it
    out. A datapoint breaches when the judged statistic is above ``threshold`` and at least
    ``minimum_requests`` requests stand behind it; fewer requests, or none (the new fleet has
    no traffic yet), count as healthy.

    :param threshold: For a rate, the fraction of requests that fail, in (0, 1); for a
        latency, microseconds. Default: the alarm's own (see the endpoint's rollback options).
    :param minimum_requests: Requests per period below which a datapoint is not judged.
        Default: 20 (with the default 5 % rate, one error alone never rolls back).
    :param period: Default: 1 minute.
    :param evaluation_periods: Default: 3.
    :param datapoints_to_alarm: Default: equal to ``evaluation_periods``.
    """

    minimum_requests: float = ROLLBACK_MINIMUM_REQUESTS

    def check(self, problems: Problems, prop: str) -> None:
        super().check(problems, prop)
        problems.number(f"{prop}.minimum_requests", self.minimum_requests, minimum=1,
                        why="(requests per period behind a judged datapoint)")


@dataclass(frozen=True)
class RollbackSpec:
    """One default rollback alarm of an endpoint type.

    :param name: Its field in the rollback options and its key in
        ``endpoint.default_rollback_alarms``.
    :param metric: The metric factory helper it watches.
    :param statistic: The statistic judged: ``Average`` of a metric with one 0-or-1 value per
        request is the error rate.
    :param new_fleet: Whether it watches the new fleet alone (``EndpointConfigName``).
    :param rate: Whether ``threshold`` is a fraction of requests, in (0, 1).
    """

    name: str
    metric: str
    statistic: str
    new_fleet: bool
    rate: bool
    defaults: RollbackAlarmOptions
    description: str

    @property
    def construct_id(self) -> str:
        return "Rollback" + "".join(p.capitalize() for p in self.name.split("_")) + "Alarm"


def rollback_queries(minimum_requests: float) -> list[MetricQuery]:
    """The rollback alarm's metric math: the judged statistic where at least
    ``minimum_requests`` requests (the SampleCount of the same metric) stand behind it, 0
    where fewer do, and no value where there were none (then the alarm treats the datapoint
    as missing, which is not breaching; docs/aws-behaviour.md#metric-math-missing-values)."""
    return [
        MetricQuery(JUDGED_ID, instance_type=JUDGED_ID),
        MetricQuery(REQUESTS_ID, instance_type=REQUESTS_ID),
        MetricQuery("judged_with_traffic", return_data=True,
                    expression=f"IF({REQUESTS_ID} >= {number(minimum_requests)}, "
                               f"{JUDGED_ID}, 0)"),
    ]


def _error_rate(name: str, metric: str, what: str) -> RollbackSpec:
    return RollbackSpec(name, metric, "Average", new_fleet=False, rate=True,
                        defaults=RollbackAlarmOptions(threshold=ROLLBACK_ERROR_RATE),
                        description=f"Rolls a guarded update back: {what} above the threshold "
                                    "rate, over both fleets.")


REALTIME_ROLLBACK_ALARMS: tuple[RollbackSpec, ...] = (
    _error_rate("error_rate", "invocation_5xx_errors", "the share of requests answered 5XX"),
    _error_rate("model_error_rate", "model_errors",
                "the share of requests the model fails (InvocationModelErrors)"),
    RollbackSpec("new_fleet_latency", "model_latency", "p99", new_fleet=True, rate=False,
                 defaults=RollbackAlarmOptions(threshold=LATENCY_ALARM_MICROSECONDS),
                 description="Rolls a guarded update back: the new fleet's p99 model latency "
                             "is close to the 60 s InvokeEndpoint timeout."),
)

ASYNC_ROLLBACK_ALARMS: tuple[RollbackSpec, ...] = (
    _error_rate("error_rate", "invocation_5xx_errors", "the share of requests answered 5XX"),
)


class _RollbackOptionsSet:
    """What both rollback-option classes share: every field is ``RollbackAlarmOptions`` or
    None, and a rate lies in (0, 1)."""

    _table: ClassVar[tuple[RollbackSpec, ...]] = ()

    def __post_init__(self) -> None:
        problems = Problems()
        for spec in self._table:
            value = getattr(self, spec.name)
            if value is None:
                continue
            if not isinstance(value, RollbackAlarmOptions):
                problems.add(f"{spec.name} must be a RollbackAlarmOptions or None, got "
                             f"{value!r}")
                continue
            threshold = value.threshold
            if spec.rate and isinstance(threshold, (int, float)) and not is_token(threshold) \
                    and not 0 < threshold < 1:
                problems.add(f"{spec.name}.threshold must be a fraction of requests between 0 "
                             f"and 1 (0.05 is 5 %), got {threshold}")
        problems.raise_if_any()

    def selected(self) -> Mapping[str, RollbackAlarmOptions | None]:
        return {spec.name: getattr(self, spec.name) for spec in self._table}


_REALTIME_ROLLBACK = {spec.name: spec.defaults for spec in REALTIME_ROLLBACK_ALARMS}


@dataclass(frozen=True, kw_only=True)
class RealtimeRollbackAlarmOptions(_RollbackOptionsSet):
    """The default rollback alarms of a real-time endpoint under ``deployment=``. Set one to
    ``None`` to leave it out; pass ``rollback_alarms=`` instead for full control.

    :param error_rate: ``Invocation5XXErrors`` Average (each request sends 1 on a 5XX, else
        0, so the Average is the error rate) over both fleets. Default: above 0.05 (5 %) in 3
        of 3 one-minute datapoints with at least 20 requests each.
    :param model_error_rate: ``InvocationModelErrors`` Average, likewise. Default: as
        ``error_rate``.
    :param new_fleet_latency: ``ModelLatency`` p99 of the new fleet alone (``EndpointName``,
        ``VariantName`` and ``EndpointConfigName``, as in AWS's example). Default: above
        50,000,000 microseconds (50 s; InvokeEndpoint times out at 60 s) in 3 of 3 minutes
        with at least 20 requests each.

    ``MidStreamErrors`` is not among them: no source says whether it carries the new fleet's
    dimension, and it is published only on errors, so no rate can be formed
    (docs/aws-behaviour.md#rollback-alarms).
    """

    _table: ClassVar[tuple[RollbackSpec, ...]] = REALTIME_ROLLBACK_ALARMS
    error_rate: RollbackAlarmOptions | None = _REALTIME_ROLLBACK["error_rate"]
    model_error_rate: RollbackAlarmOptions | None = _REALTIME_ROLLBACK["model_error_rate"]
    new_fleet_latency: RollbackAlarmOptions | None = _REALTIME_ROLLBACK["new_fleet_latency"]


@dataclass(frozen=True, kw_only=True)
class AsyncRollbackAlarmOptions(_RollbackOptionsSet):
    """The default rollback alarm of an asynchronous endpoint under ``deployment=``. Set it
    to ``None`` to leave it out; pass ``rollback_alarms=`` instead for full control.

    :param error_rate: ``Invocation5XXErrors`` Average over both fleets. Default: above 0.05
        (5 %) in 3 of 3 one-minute datapoints with at least 20 requests each.

    ``RequestDownloadFailures`` and ``NotificationFailures`` (the caller's input, SNS) say
    nothing about the model, nor does ``ResponseUploadFailures`` (an S3 write). AWS publishes
    a request count, ``InvocationsProcesssed`` (its spelling), so an ``InvocationFailures``
    rate could be formed, but ``InvocationFailures`` counts an invocation that fails for any
    reason, a caller's missing or unreadable S3 input and IAM or KMS mistakes included: such
    a rate would roll a good release back for a bad upload. They stay monitoring alarms
    (docs/aws-behaviour.md#rollback-alarms).
    """

    _table: ClassVar[tuple[RollbackSpec, ...]] = ASYNC_ROLLBACK_ALARMS
    error_rate: RollbackAlarmOptions | None = ASYNC_ROLLBACK_ALARMS[0].defaults


def create_rollback_alarms(
    scope: Construct,
    table: Sequence[RollbackSpec],
    selected: Mapping[str, RollbackAlarmOptions | None],
    *,
    metrics: EndpointMetrics,
    new_fleet_metrics: EndpointMetrics,
    topic: sns.ITopic | None,
    name_prefix: str,
) -> dict[str, cloudwatch.Alarm]:
    """Create the rollback alarms ``selected`` keeps, each with the fixed name
    ``<prefix>-<ConstructId>`` that the endpoint's deployment config names without a
    reference (a ``Ref`` would be a cycle: the alarm's dimension names the endpoint)."""
    created: dict[str, cloudwatch.Alarm] = {}
    action = _notify(topic)
    for spec in table:
        options = selected.get(spec.name)
        if options is None:
            continue
        source = new_fleet_metrics if spec.new_fleet else metrics
        using = {
            JUDGED_ID: source.named(spec.metric, statistic=spec.statistic,
                                    period=options.period),
            REQUESTS_ID: source.named(spec.metric, statistic="SampleCount",
                                      period=options.period),
        }
        (result,) = [q for q in rollback_queries(options.minimum_requests) if q.return_data]
        assert result.expression is not None
        threshold = options.threshold if options.threshold is not None \
            else spec.defaults.threshold
        created[spec.name] = _notifying_alarm(
            scope, spec, options, action,
            metric=cloudwatch.MathExpression(expression=result.expression,
                                             using_metrics=using, period=options.period,
                                             label=f"{spec.name} with traffic"),
            threshold=threshold if threshold is not None else 0,
            comparison_operator=GT,
            treat_missing_data=NOT_BREACHING,
            alarm_name=f"{name_prefix}-{spec.construct_id}",
        )
    return created
