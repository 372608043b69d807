"""Storage of an asynchronous endpoint as its own construct: the key, the results bucket and
its access-log bucket, the success and error topics, their cdk-nag reasons, and the IAM
statements that SageMaker and callers need on them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from aws_cdk import Annotations, CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from ._compat import keep_children_logical_ids
from ._validation import Problems, fmt, is_token, to_seconds
from .nag import acknowledge_rules, acknowledge_wildcard, hipaa_and_nist

DEFAULT_RESULT_EXPIRATION = Duration.days(30)
# Immutable values made once per process rather than once per endpoint: each is a round
# trip to the jsii kernel (make bench-synth).
_LOG_EXPIRATION = Duration.days(365)
_NONCURRENT_LOG_EXPIRATION = Duration.days(30)
_ABORT_UPLOADS_AFTER = Duration.days(1)
_BLOCK_ALL = s3.BlockPublicAccess.BLOCK_ALL
_NO_REPLICATION = ("Cross-region replication needs a destination bucket in another region "
                   "that only the deploying account can choose; ")


@dataclass(frozen=True, kw_only=True)
class StoragePrefixes:
    """Where callers upload audio and where SageMaker writes results and failures; each a
    key prefix ending in ``/``, all three different."""

    input: str = "input/"
    output: str = "output/"
    failure: str = "failure/"

    def check(self, problems: Problems) -> None:
        named = {"input_prefix": self.input, "output_prefix": self.output,
                 "failure_prefix": self.failure}
        for prop, prefix in named.items():
            if not isinstance(prefix, str) or not prefix.endswith("/") \
                    or prefix.startswith("/") or "//" in prefix:
                problems.add(f"{prop} must be a key prefix ending in '/' without a leading "
                             f"'/', e.g. 'output/', got {fmt(prefix)}")
        if len(set(named.values())) < 3:
            problems.add("input_prefix, output_prefix and failure_prefix must differ, got "
                         f"{list(named.values())}")


def check_storage_props(
    problems: Problems,
    *,
    bucket: s3.IBucket | None,
    encryption_key: kms.IKey | None,
    result_expiration: Duration | None,
    access_logs_bucket: s3.IBucket | None,
    bucket_removal_policy: RemovalPolicy | None,
) -> None:
    """The storage props' rules: options for a created bucket only, whole days, and an
    imported bucket's key."""
    if bucket is not None:
        if encryption_key is None and getattr(bucket, "encryption_key", None) is None \
                and not isinstance(bucket, s3.Bucket):
            problems.add(
                "bucket is imported, so the construct cannot see the key that encrypts it, "
                "and SageMaker would fail to read inputs or write results under an unseen KMS "
                "key; pass encryption_key= (the bucket's key, or for an SSE-S3 bucket a key "
                "for the results), or import the bucket with "
                "s3.Bucket.from_bucket_attributes(..., encryption_key=...), got "
                f"bucket={fmt(bucket)} with no key")
        for prop, value in (("result_expiration", result_expiration),
                            ("access_logs_bucket", access_logs_bucket),
                            ("bucket_removal_policy", bucket_removal_policy)):
            if value is not None:
                problems.add(f"{prop} only applies to a bucket the construct creates; "
                             f"configure the bucket you passed yourself, or drop bucket, got "
                             f"{prop}={fmt(value)}")
    elif result_expiration is not None and problems.duration(
        "result_expiration", result_expiration, minimum_s=86_400,
        why="(at least 1 day: S3 lifecycle rules count whole days)",
    ):
        days = to_seconds(result_expiration)
        if not is_token(days) and days % 86_400:
            problems.add(f"result_expiration must be whole days, got {fmt(result_expiration)}")


@dataclass(frozen=True, kw_only=True)
class StorageProps:
    """The storage props of an asynchronous endpoint, as its constructor received them."""

    bucket: s3.IBucket | None = None
    encryption_key: kms.IKey | None = None
    result_expiration: Duration | None = None
    access_logs_bucket: s3.IBucket | None = None
    removal_policy: RemovalPolicy | None = None
    success_topic: sns.ITopic | None = None
    error_topic: sns.ITopic | None = None
    prefixes: StoragePrefixes = StoragePrefixes()

    def check(self, problems: Problems, *, storage_given: bool = False) -> None:
        if storage_given and any(getattr(self, name) is not None for name in (
                "bucket", "encryption_key", "result_expiration", "access_logs_bucket",
                "removal_policy", "success_topic", "error_topic")):
            problems.add("storage is a whole AsyncStorage: configure the bucket, key and "
                         "topics on it, not beside it, got storage with storage props")
        self.prefixes.check(problems)
        check_storage_props(problems, bucket=self.bucket, encryption_key=self.encryption_key,
                            result_expiration=self.result_expiration,
                            access_logs_bucket=self.access_logs_bucket,
                            bucket_removal_policy=self.removal_policy)


class AsyncStorage(Construct):
    """Where an asynchronous endpoint's requests, results and notices live.

    :param bucket: Default: a new bucket, encrypted with ``encryption_key``, SSL enforced,
        public access blocked, versioned, access-logged, results and failures expiring.
    :param encryption_key: Default: a new key with rotation.
    :param prefixes: Default: ``input/``, ``output/``, ``failure/``.
    :param result_expiration: Only for a created bucket. Default: 30 days.
    :param access_logs_bucket: Only for a created bucket. Default: a new SSE-S3 bucket.
    :param removal_policy: Of the created buckets and key. Default: ``RETAIN``.
    :param success_topic: Default: a new encrypted, SSL-only topic.
    :param error_topic: Default: a new encrypted, SSL-only topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        prefixes: StoragePrefixes | None = None,
        result_expiration: Duration | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        removal_policy: RemovalPolicy | None = None,
        success_topic: sns.ITopic | None = None,
        error_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        #: What this construct created itself, by construct id (see keep_legacy_ids).
        self._created: dict[str, IConstruct] = {}
        #: ARN pattern of the objects under each prefix, asked of the kernel once.
        self._object_arns: dict[str, str] = {}
        self.prefixes = prefixes or StoragePrefixes()
        removal_policy = removal_policy or RemovalPolicy.RETAIN
        # A bucket you pass with a visible key keeps it for the results, so its readers can
        # read them too.
        encryption_key = encryption_key or (bucket.encryption_key if bucket else None)
        if encryption_key is None:
            encryption_key = kms.Key(
                self, "Key", enable_key_rotation=True, removal_policy=removal_policy,
                description="Encrypts a Deepgram asynchronous endpoint's audio, results and "
                            "notifications")
            self._created["Key"] = encryption_key
        #: The key protecting inputs, results and notifications.
        self.encryption_key: kms.IKey = encryption_key
        #: The bucket the created bucket logs to (None for a bucket you passed).
        self.access_logs_bucket: s3.IBucket | None = None
        if bucket is None:
            self.access_logs_bucket = access_logs_bucket or self._log_bucket(removal_policy)
            bucket = self._results_bucket(result_expiration or DEFAULT_RESULT_EXPIRATION,
                                          removal_policy)
        #: Bucket holding inputs, results and failures.
        self.bucket: s3.IBucket = bucket
        self.success_topic: sns.ITopic = success_topic or self._topic("SuccessTopic")
        self.error_topic: sns.ITopic = error_topic or self._topic("ErrorTopic")
        for name, topic in (("success_topic", success_topic), ("error_topic", error_topic)):
            if topic is not None and not isinstance(topic, sns.Topic) and topic.master_key is None:
                Annotations.of(self).add_info(
                    f"{name} is imported without its key: if it is encrypted, grant the "
                    "execution role kms:GenerateDataKey and kms:Decrypt on its key, or import "
                    "it with sns.Topic.from_topic_attributes(..., key_arn=...). A missing grant "
                    "shows as NotificationFailures.")

    # --- what the construct creates ----------------------------------------------------

    @staticmethod
    def from_props(scope: Construct, construct_id: str, props: StorageProps) -> AsyncStorage:
        """The storage an endpoint's storage props describe."""
        return AsyncStorage(
            scope, construct_id, bucket=props.bucket, encryption_key=props.encryption_key,
            prefixes=props.prefixes, result_expiration=props.result_expiration,
            access_logs_bucket=props.access_logs_bucket, removal_policy=props.removal_policy,
            success_topic=props.success_topic, error_topic=props.error_topic)

    def _log_bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        logs = s3.Bucket(
            self, "AccessLogsBucket",
            # Server access logging only delivers to SSE-S3 buckets, not SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=_BLOCK_ALL,
            versioned=True,
            removal_policy=removal_policy,
            lifecycle_rules=[s3.LifecycleRule(
                id="ExpireLogs", expiration=_LOG_EXPIRATION,
                noncurrent_version_expiration=_NONCURRENT_LOG_EXPIRATION)],
        )
        self._created["AccessLogsBucket"] = logs
        acknowledge_rules(logs, "This bucket receives the results bucket's server access "
                          "logs; logging it too would only log the log deliveries.",
                          "AwsSolutions-S1", *hipaa_and_nist("S3BucketLoggingEnabled"))
        acknowledge_rules(logs, "S3 server access logging delivers only to buckets encrypted "
                          "with SSE-S3; SSE-KMS is not supported on a log target bucket.",
                          *hipaa_and_nist("S3DefaultEncryptionKMS"))
        acknowledge_rules(logs, _NO_REPLICATION + "pass your own access_logs_bucket with "
                          "replication to satisfy this control.",
                          *hipaa_and_nist("S3BucketReplicationEnabled"))
        # The same exception for checkov, which reads skip reasons from resource metadata.
        cast(CfnResource, logs.node.default_child).add_metadata("checkov", {"skip": [{
            "id": "CKV_AWS_18",
            "comment": "This bucket is the target of the results bucket's server access logs; "
                       "logging it too would only log the log deliveries."}]})
        return logs

    def _results_bucket(self, expiration: Duration, removal_policy: RemovalPolicy) -> s3.Bucket:
        output, failure = self.prefixes.output, self.prefixes.failure
        bucket = s3.Bucket(
            self, "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=_BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="deepgram-async/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireResults", prefix=output, expiration=expiration),
                s3.LifecycleRule(id="ExpireFailures", prefix=failure, expiration=expiration),
                # Versioning keeps overwritten and expired objects as noncurrent versions:
                # bound them too.
                s3.LifecycleRule(id="ExpireNoncurrentVersions",
                                 noncurrent_version_expiration=expiration,
                                 abort_incomplete_multipart_upload_after=_ABORT_UPLOADS_AFTER),
                s3.LifecycleRule(id="RemoveExpiredDeleteMarkers",
                                 expired_object_delete_marker=True),
            ],
        )
        self._created["Bucket"] = bucket
        acknowledge_rules(bucket, _NO_REPLICATION + "results are derived from the inputs and "
                          "can be recomputed. Pass your own bucket with replication to satisfy "
                          "this control.", *hipaa_and_nist("S3BucketReplicationEnabled"))
        return bucket

    def _topic(self, construct_id: str) -> sns.Topic:
        topic = sns.Topic(self, construct_id, master_key=self.encryption_key, enforce_ssl=True)
        self._created[construct_id] = topic
        return topic

    # --- IAM -----------------------------------------------------------------------------

    def object_arns(self, *prefixes: str) -> list[str]:
        """ARN patterns of the objects under each prefix."""
        for prefix in prefixes:
            if prefix not in self._object_arns:
                self._object_arns[prefix] = self.bucket.arn_for_objects(f"{prefix}*")
        return [self._object_arns[prefix] for prefix in prefixes]

    def key_arns(self, *, topics: bool = False) -> list[str]:
        """The keys of the bucket and the results, and with ``topics`` the keys of the two
        topics: publishing to an encrypted topic needs its key
        (docs/aws-behaviour.md#async-sns-publish)."""
        # What this construct created is encrypted with encryption_key: no need to ask the
        # kernel for the bucket's or a topic's key, nor twice for the same key's ARN.
        def key_of(name: str, ask: Callable[[], kms.IKey | None]) -> kms.IKey | None:
            return self.encryption_key if name in self._created else ask()

        holders = [self.encryption_key, key_of("Bucket", lambda: self.bucket.encryption_key)]
        if topics:
            holders += [key_of("SuccessTopic", lambda: self.success_topic.master_key),
                        key_of("ErrorTopic", lambda: self.error_topic.master_key)]
        asked: list[kms.IKey] = []
        arns: list[str] = []
        for key in holders:
            if key is None or any(key is other for other in asked):
                continue
            asked.append(key)
            arn = key.key_arn
            if arn not in arns:
                arns.append(arn)
        return arns

    def execution_statements(self) -> list[iam.PolicyStatement]:
        """What SageMaker needs: read inputs, write results and failures, announce them.
        SageMaker publishes with the execution role; same-account topics need no topic
        policy statement for it (docs/aws-behaviour.md#async-sns-publish)."""
        return [
            iam.PolicyStatement(actions=["s3:GetObject"],
                                resources=self.object_arns(self.prefixes.input)),
            # With ListBucket a missing input is a 404 rather than a 403 that reads like an
            # IAM mistake; AWS's async prerequisites list it
            # (docs/aws-behaviour.md#async-s3-permissions).
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn],
                                conditions={"StringLike": {
                                    "s3:prefix": f"{self.prefixes.input}*"}}),
            iam.PolicyStatement(actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                                resources=self.object_arns(self.prefixes.output,
                                                           self.prefixes.failure)),
            iam.PolicyStatement(actions=["sns:Publish"],
                                resources=[self.success_topic.topic_arn,
                                           self.error_topic.topic_arn]),
            iam.PolicyStatement(actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                resources=self.key_arns(topics=True)),
        ]

    def acknowledge_prefix_wildcards(self, policy: IConstruct) -> None:
        """Acknowledge, on ``policy`` alone, the per-request object wildcards."""
        for prefix, use in ((self.prefixes.input, "reads the audio callers upload"),
                            (self.prefixes.output, "writes results"),
                            (self.prefixes.failure, "writes failures")):
            (objects,) = self.object_arns(prefix)
            acknowledge_wildcard(policy, objects,
                                 f"SageMaker {use} under the prefix {prefix!r}; each request "
                                 "has its own object key, so the prefix is the narrowest form.")

    def grant_caller(self, grantee: iam.IGrantable) -> None:
        """Uploads to the input prefix, reads of the output and failure prefixes, and the
        keys of the bucket and the results."""
        iam.Grant.add_to_principal(grantee=grantee, actions=["s3:PutObject"],
                                   resource_arns=self.object_arns(self.prefixes.input))
        iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"],
                                   resource_arns=self.object_arns(self.prefixes.output,
                                                                  self.prefixes.failure))
        keys = self.key_arns()
        if keys:
            iam.Grant.add_to_principal(grantee=grantee,
                                       actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                       resource_arns=keys)

    def keep_legacy_ids(self, owner_path: Sequence[str]) -> None:
        """Keep the 0.1 logical ids of what this construct created directly under the
        endpoint (``<owner>/Key``, ``/Bucket``, ``/AccessLogsBucket``, ``/SuccessTopic``,
        ``/ErrorTopic``, with their policies), so that upgrading keeps the objects, the
        subscriptions and the policies (see ``_compat``). The children are the ones this
        construct kept as it made them: asking the node for each costs two kernel calls
        (``make bench-synth``)."""
        keep_children_logical_ids(self, owner_path, [
            (self._created[name], name)
            for name in ("Key", "Bucket", "AccessLogsBucket", "SuccessTopic", "ErrorTopic")
            if name in self._created])
