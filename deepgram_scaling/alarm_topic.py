"""Where alarms notify: an encrypted topic CloudWatch can publish to.

A topic policy replaces SNS's default policy, so an SSL-only topic must also allow
``cloudwatch.amazonaws.com`` to publish, or every alarm action fails silently; an encrypted
topic needs a key CloudWatch may use (docs/aws-behaviour.md#alarm-topic-policy).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from ._compat import format_arn, keep_children_logical_ids, stack_env, stack_of
from .errors import DeepgramScalingConfigError

IMPORTED_TOPIC_KEY_WARNING_ID = "deepgram-scaling:alarmTopicKeyImported"


def allow_cloudwatch_to_publish(scope: IConstruct, topic: sns.ITopic) -> None:
    """Let CloudWatch alarms of this account and region publish to ``topic``, and use its
    key when it is encrypted.

    A topic of this app with a topic policy gets the statement. A topic without one keeps
    SNS's default policy, which already lets the owning account's CloudWatch publish; a
    first statement would replace that default for every other publisher, so it is left
    alone. A topic imported by ARN cannot be changed here: ``scope`` gets an info
    annotation instead.
    """
    _let_cloudwatch_use_the_key(scope, topic)
    if not isinstance(topic, sns.Topic):
        Annotations.of(scope).add_info(
            "alarm_topic is imported: make sure its topic policy (if it has one) allows "
            "cloudwatch.amazonaws.com to sns:Publish, or the alarms cannot notify it."
        )
        return
    if topic.node.try_find_child("Policy") is None:
        return
    topic.add_to_resource_policy(_publish_statement(topic, Stack.of(topic)))


def _publish_statement(topic: sns.ITopic, stack: Stack) -> iam.PolicyStatement:
    """``stack``: the topic's."""
    return iam.PolicyStatement(
        sid="AllowCloudWatchAlarmsToPublish",
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["sns:Publish"],
        resources=[topic.topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": stack_env(stack).account},
            "ArnLike": {"aws:SourceArn": format_arn(
                stack, service="cloudwatch", resource="alarm", resource_name="*", colon=True)},
        },
    )


def _let_cloudwatch_use_the_key(scope: IConstruct, topic: sns.ITopic) -> None:
    """An encrypted topic is only usable by alarms if CloudWatch may use its key: a key of
    this app gets the statement; an imported key gets a warning; the AWS-managed
    ``alias/aws/sns`` key can never work (docs/aws-behaviour.md#alarm-topic-policy)."""
    key = topic.master_key
    if key is None:
        return
    alias = getattr(key, "alias_name", None)
    if isinstance(alias, str) and alias == "alias/aws/sns":
        raise DeepgramScalingConfigError(
            "alarm_topic is encrypted with the AWS-managed key alias/aws/sns, which CloudWatch "
            "alarms cannot use; encrypt it with a customer-managed key, got alias/aws/sns")
    if isinstance(key, kms.Key):
        key.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToUseTheKey",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        ))
        return
    Annotations.of(scope).add_warning_v2(
        IMPORTED_TOPIC_KEY_WARNING_ID,
        "alarm_topic is encrypted with a key this app cannot change: its key policy must let "
        "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*, or no alarm "
        "notification is delivered.")


class AlarmTopic(Construct):
    """An SSL-only SNS topic encrypted with its own rotating key, which CloudWatch alarms of
    this account and region may publish to. Subscribe to :attr:`topic`.

    Alarms cannot publish to topics under the AWS-managed ``aws/sns`` key, so the key is a
    customer-managed one whose policy lets CloudWatch use it.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        #: The key that encrypts the notifications.
        self.key = kms.Key(
            self,
            "Key",
            enable_key_rotation=True,
            description="Encrypts a Deepgram endpoint's alarm notifications",
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        #: The topic every alarm notifies on ALARM and OK.
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        # The key policy statement above already lets CloudWatch use the key.
        self.topic.add_to_resource_policy(_publish_statement(self.topic, stack_of(scope)))

    def keep_legacy_ids(self, owner_path: Sequence[str]) -> None:
        """Keep the 0.1 logical ids (``<owner>/AlarmTopic``, ``<owner>/AlarmTopicKey``), so
        that upgrading keeps the topic, its subscriptions and its policy."""
        keep_children_logical_ids(self, owner_path,
                                  [(self.key, "AlarmTopicKey"), (self.topic, "AlarmTopic")])
