"""How long ``deepgram-scaling check`` takes, as a user (or a pre-commit hook) runs it:
``make bench-check``.

Two workloads, each run as a whole process (interpreter start-up, imports, reading,
checking, printing), once untimed to warm the bytecode cache and then ``--repeats`` times:

* a generated template of about 500 resources: endpoints of both kinds with their models,
  configs, scalable targets, policies, wake-ups, alarms and topics (:func:`big_template`);
* the corpus of public templates in ``tests/corpus/``, every item given on one command
  line (each item a file or an app of its own).

Each run is timed in wall-clock and in CPU time (user + system of the child); the machine
may be shared, so CPU time is the steadier figure. The budget is one second for each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
BUDGET = 1.0


def _att(resource_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource_id, attribute]}


def _group(n: int, *, asynchronous: bool) -> dict[str, Any]:
    """One endpoint with everything that scales and watches it (9 or 10 resources)."""
    p = f"E{n}"
    name = _att(f"{p}Endpoint", "EndpointName")
    dimension = [{"Name": "EndpointName", "Value": name}]
    config: dict[str, Any] = {"ProductionVariants": [{
        "VariantName": "AllTraffic", "ModelName": _att(f"{p}Model", "ModelName"),
        "InitialInstanceCount": 1, "InstanceType": "ml.g6.2xlarge"}]}
    if asynchronous:
        config["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://jobs/out/"}}
    resources: dict[str, Any] = {
        f"{p}Model": {"Type": "AWS::SageMaker::Model", "Properties": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"}}},
        f"{p}Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": config},
        f"{p}Endpoint": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
            "EndpointConfigName": _att(f"{p}Config", "EndpointConfigName"),
            "RetainAllVariantProperties": True}},
        f"{p}Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "MinCapacity": 0 if asynchronous else 1, "MaxCapacity": 4,
            "ResourceId": {"Fn::Join": ["", ["endpoint/", name, "/variant/AllTraffic"]]},
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ServiceNamespace": "sagemaker"}},
        f"{p}Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        f"{p}TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": f"{p}Topic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish", "Resource": {"Ref": f"{p}Topic"}}]}}},
        f"{p}Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "InvocationFailures" if asynchronous else "Invocation5XXErrors",
            "Namespace": "AWS/SageMaker", "Statistic": "Sum", "Period": 60,
            "EvaluationPeriods": 5, "DatapointsToAlarm": 3, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Dimensions": [*dimension, {"Name": "VariantName", "Value": "AllTraffic"}],
            "AlarmActions": [{"Ref": f"{p}Topic"}]}},
    }
    tracking: dict[str, Any] = {"ScaleInCooldown": 600, "ScaleOutCooldown": 60}
    if asynchronous:
        tracking |= {"TargetValue": 5, "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
            "Statistic": "Average", "Dimensions": dimension}}
        resources[f"{p}WakeUp"] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                                   "Properties": {
            "PolicyName": f"{p}-wake-up", "PolicyType": "StepScaling",
            "ScalingTargetId": {"Ref": f"{p}Target"},
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 300,
                "MetricAggregationType": "Average",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}}}
        resources[f"{p}Backlogged"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "HasBacklogWithoutCapacity", "Namespace": "AWS/SageMaker",
            "Statistic": "Average", "Period": 60, "EvaluationPeriods": 2, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Dimensions": dimension,
            "AlarmActions": [{"Ref": f"{p}WakeUp"}]}}
    else:
        tracking |= {"TargetValue": 8, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}
    resources[f"{p}Tracking"] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                                 "Properties": {
        "PolicyName": f"{p}-tracking", "PolicyType": "TargetTrackingScaling",
        "ScalingTargetId": {"Ref": f"{p}Target"},
        "TargetTrackingScalingPolicyConfiguration": tracking}}
    return resources


def big_template(resources: int = 500) -> dict[str, Any]:
    """A template of at least ``resources`` resources, half asynchronous endpoints."""
    found: dict[str, Any] = {}
    n = 0
    while len(found) < resources:
        found |= _group(n, asynchronous=n % 2 == 0)
        n += 1
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": found}


def command() -> list[str]:
    script = Path(sys.executable).with_name("deepgram-scaling")
    if script.is_file():
        return [str(script), "check"]
    return [sys.executable, "-m", "deepgram_scaling.cli", "check"]


def time_runs(argv: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """(wall, CPU) seconds of each of ``repeats`` runs, after one untimed run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([*command(), *argv], capture_output=True, env=env, check=False)
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*command(), *argv], capture_output=True, env=env, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode == 2:
            raise SystemExit(done.stderr.decode())
    return walls, cpus


def corpus_items() -> list[str]:
    return sorted(str(p) for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-check", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resources", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.template.json"
        template = big_template(args.resources)
        path.write_text(json.dumps(template, indent=1))
        workloads = [(f"{len(template['Resources'])}-resource template", [str(path)])]
        items = corpus_items()
        if items:
            workloads.append((f"corpus ({len(items)} items)", items))
        over = False
        for label, paths in workloads:
            walls, cpus = time_runs(paths, args.repeats)
            print(f"{label}: CPU best {min(cpus):.3f} s, median {sorted(cpus)[len(cpus) // 2]:.3f}"
                  f" s; wall best {min(walls):.3f} s, median "
                  f"{sorted(walls)[len(walls) // 2]:.3f} s (budget {BUDGET:.0f} s)")
            over |= min(cpus) >= BUDGET
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
