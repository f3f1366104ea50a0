#!/usr/bin/env python3
"""Shows each check of template-policy.py failing: template.yaml passes, and each mutation below
(template.yaml without one thing the policy requires) fails with the expected problem."""
import copy
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("policy", os.path.join(here, "template-policy.py"))
policy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(policy)
spec = importlib.util.spec_from_file_location("managed", os.path.join(here, "managed-instances.py"))
managed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(managed)


def res(t, name):
    return t["Resources"][name]["Properties"]


def statement(t, fn, action):
    for s in res(t, fn)["Policies"][0]["Statement"]:
        if isinstance(s, dict) and action in policy.as_list(s.get("Action", [])):
            return s
    raise KeyError(f"{fn} has no statement for {action}")


def alarm_metric(t, alarm, metric_id):
    for m in res(t, alarm)["Metrics"]:
        if m["Id"] == metric_id:
            return m
    raise KeyError(f"{alarm} has no metric {metric_id}")


def set_board(t, edit):
    props = res(t, "Dashboard")
    props["DashboardBody"]["Fn::Sub"] = edit(props["DashboardBody"]["Fn::Sub"])


def set_pattern(t, pattern):
    for p in policy.PREFIXES:
        t["Parameters"][p]["AllowedPattern"] = pattern


MUTATIONS = {
    # The API reads references only.
    "the API reads the whole bucket": (
        lambda t: statement(t, "ApiFunction", "s3:GetObject").__setitem__("Resource", {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}),
        "ApiFunctionRole reads outside the references prefix"),
    "the API lists the whole bucket": (
        lambda t: statement(t, "ApiFunction", "s3:ListBucket").pop("Condition"),
        "ApiFunctionRole: s3:ListBucket is not limited"),
    # item 2: stored answers apart.
    "the API writes under the results prefix": (
        lambda t: statement(t, "ApiFunction", "s3:PutObject").__setitem__("Resource", {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/${ResultsPrefix}*"}),
        "ApiFunctionRole writes outside the store prefix"),
    # item 3: overlapping prefixes refused at deploy time.
    "no Rules": (lambda t: t.pop("Rules"), "(overlapping) is not refused"),
    "a rule missing": (lambda t: t["Rules"]["PrefixesApart"]["Assertions"].pop(), "StorePrefix=data/ and ReferencesPrefix=data/ (overlapping) is not refused"),
    "nested prefixes allowed": (lambda t: set_pattern(t, "[^/].*/"), "ResultsPrefix=data/out/ (overlapping) is not refused"),
    # item 7: hardening.
    "no TLS-only bucket policy": (lambda t: t["Resources"].pop("ImagesBucketPolicy"), "no bucket policy denies requests without TLS"),
    "TLS policy without its condition": (
        lambda t: res(t, "ImagesBucketPolicy")["PolicyDocument"]["Statement"][0].pop("Condition"),
        "no bucket policy denies requests without TLS"),
    "TLS policy on the bucket only": (
        lambda t: res(t, "ImagesBucketPolicy")["PolicyDocument"]["Statement"][0].__setitem__("Resource", {"Fn::GetAtt": ["ImagesBucket", "Arn"]}),
        "no bucket policy denies requests without TLS"),
    "API function without its log group": (
        lambda t: res(t, "ApiFunction")["LoggingConfig"].pop("LogGroup"),
        "ApiFunction: does not log to a log group of its own"),
    "S3 function's log group without retention": (
        lambda t: res(t, "S3EventFunctionLogGroup").pop("RetentionInDays"),
        "S3EventFunction: does not log to a log group of its own"),
    "retention default not 30": (
        lambda t: t["Parameters"]["LogRetentionInDays"].__setitem__("Default", 7),
        "LogRetentionInDays parameter missing or its default is not 30"),
    "no access logs": (lambda t: res(t, "HttpApiStage").pop("AccessLogSettings"), "HttpApiStage: no access logs"),
    "access logs not JSON": (
        lambda t: res(t, "HttpApiStage")["AccessLogSettings"].__setitem__("Format", "$context.requestId $context.status"),
        "the access log format is not a JSON object"),
    "no reserved concurrency for the S3 function": (
        lambda t: res(t, "S3EventFunction").pop("ReservedConcurrentExecutions"),
        "S3EventFunction: no reserved concurrency"),
    "reserved concurrency set by default": (
        lambda t: t["Parameters"]["ApiReservedConcurrency"].__setitem__("Default", "5"),
        "ApiFunction: no reserved concurrency"),
    "S3 function lists the whole bucket": (
        lambda t: statement(t, "S3EventFunction", "s3:ListBucket").pop("Condition"),
        "S3EventFunctionRole: s3:ListBucket is not limited"),
    "S3 function lists another prefix": (
        lambda t: statement(t, "S3EventFunction", "s3:ListBucket")["Condition"]["StringLike"].__setitem__("s3:prefix", {"Fn::Sub": "*"}),
        "S3EventFunctionRole: s3:ListBucket is not limited"),
    "no lifecycle": (lambda t: res(t, "ImagesBucket").pop("LifecycleConfiguration"), "no lifecycle rule expiring ReferencesPrefix"),
    "the API writes its Idempotency-Key records elsewhere": (
        lambda t: [s for s in res(t, "ApiFunction")["Policies"][0]["Statement"] if isinstance(s, dict) and "${IdempotencyPrefix}" in json.dumps(s.get("Resource"))][0]
        .__setitem__("Resource", {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}),
        "ApiFunctionRole reads outside the references prefix"),
    "the API may delete Idempotency-Key records": (
        lambda t: [s for s in res(t, "ApiFunction")["Policies"][0]["Statement"] if isinstance(s, dict) and "${IdempotencyPrefix}" in json.dumps(s.get("Resource"))][0]
        .__setitem__("Action", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
        "the Idempotency-Key records' prefix is granted"),
    "the S3 function reaches the Idempotency-Key records": (
        lambda t: statement(t, "S3EventFunction", "s3:GetObject").__setitem__("Resource", {"Fn::Sub": "arn:${AWS::Partition}:s3:::b/${IdempotencyPrefix}*"}),
        "S3EventFunctionRole reaches the Idempotency-Key records"),
    "IdempotencyPrefix may equal another prefix": (lambda t: t["Rules"].pop("IdempotencyPrefixApart"), "IdempotencyPrefix=data/ (overlapping) is not refused"),
    "no expiry of Idempotency-Key records": (
        lambda t: res(t, "ImagesBucket")["LifecycleConfiguration"]["Rules"].pop(0),
        "no unconditional lifecycle rule expiring IdempotencyPrefix"),
    "Idempotency-Key records expire only by choice": (
        lambda t: res(t, "ImagesBucket")["LifecycleConfiguration"]["Rules"].__setitem__(
            0, {"Fn::If": ["ExpireReferences", res(t, "ImagesBucket")["LifecycleConfiguration"]["Rules"][0], {"Ref": "AWS::NoValue"}]}),
        "no unconditional lifecycle rule expiring IdempotencyPrefix"),
    "Idempotency-Key records deleted before their TTL": (
        lambda t: t["Mappings"]["IdempotencyExpiry"]["48h"].__setitem__("Days", 1),
        "IdempotencyTtl=48h would be deleted before it expires"),
    "IdempotencyTtl default not 24h": (
        lambda t: t["Parameters"]["IdempotencyTtl"].__setitem__("Default", "1h"),
        "IdempotencyTtl parameter missing or its default is not 24h"),
    "the function's TTL is not the parameter": (
        lambda t: res(t, "ApiFunction")["Environment"]["Variables"].__setitem__("IDEMPOTENCY_TTL", "24h"),
        "IDEMPOTENCY_TTL and IDEMPOTENCY_PREFIX are not"),
    "expiry on by default": (
        lambda t: t["Parameters"]["StoredAnswersExpirationDays"].__setitem__("Default", 30),
        "StoredAnswersExpirationDays parameter missing or its default is not 0"),
    # The id secret, wherever ids are issued.
    "no id secret for forwarded reports in IAM mode": (
        lambda t: t["Resources"]["TaskIdSecret"].__setitem__("Condition", "UseKeys"),
        "AuthMode=iam ForwardReports=on issues ids without the id secret"),
    "the id secret not named to the function": (
        lambda t: res(t, "ApiFunction")["Environment"]["Variables"].__setitem__("TASK_ID_SECRET_ID", {"Fn::If": ["UseKeys", {"Ref": "TaskIdSecret"}, ""]}),
        "AuthMode=iam ForwardReports=on issues ids without the id secret"),
    "the id secret unreadable": (
        lambda t: [s for s in res(t, "ApiFunction")["Policies"][0]["Statement"] if isinstance(s, dict) and "Fn::If" in s
                   and "TaskIdSecret" in json.dumps(s)][0]["Fn::If"].__setitem__(0, "UseKeys"),
        "AuthMode=iam ForwardReports=on issues ids without the id secret"),
    # Routes: authorization per mode, the one integration, throttling.
    "the API's route open in IAM mode": (
        lambda t: res(t, "RecognizeRoute").__setitem__("AuthorizationType", "NONE"),
        "RecognizeRoute: AuthorizationType NONE does not follow AuthMode"),
    "a protocol route in IAM mode": (
        lambda t: t["Resources"]["ProtocolCreateTaskRoute"].pop("Condition"),
        "ProtocolCreateTaskRoute: AuthorizationType NONE does not follow AuthMode"),
    "a protocol route signed in keys mode": (
        lambda t: res(t, "ProtocolInGetRoute").__setitem__("AuthorizationType", "AWS_IAM"),
        "ProtocolInGetRoute: a keys-only route with AuthorizationType AWS_IAM"),
    "the API's route in keys mode only": (
        lambda t: t["Resources"]["UpstreamCompatibleRoute"].__setitem__("Condition", "UseKeys"),
        "UpstreamCompatibleRoute: not a route in both modes"),
    "a route under another condition": (
        lambda t: t["Resources"]["ProtocolResPostRoute"].__setitem__("Condition", "UseIam"),
        "ProtocolResPostRoute: exists under UseIam"),
    "payload format 1.0": (
        lambda t: res(t, "HttpApiIntegration").__setitem__("PayloadFormatVersion", "1.0"),
        "HttpApiIntegration is not ApiFunction's AWS_PROXY integration with payload format 2.0"),
    "a route to nowhere": (
        lambda t: res(t, "ProtocolGetBalanceRoute").pop("Target"), "ProtocolGetBalanceRoute: its target is not HttpApiIntegration"),
    "routes not throttled": (
        lambda t: res(t, "HttpApiStage").pop("DefaultRouteSettings"), "HttpApiStage: the routes are not throttled"),
    # Alarms and the dashboard.
    "no dead-letter queue alarm": (lambda t: t["Resources"].pop("DeadLetterQueueAlarm"), "no alarm on the dead-letter queue's messages"),
    "5xx counted, not a rate": (
        lambda t: res(t, "ApiServerErrorRateAlarm")["Metrics"].__setitem__(-1, dict(alarm_metric(t, "ApiServerErrorRateAlarm", "errorrate"), Expression="FILL(errors, 0)")),
        "no alarm on the API's 5xx rate"),
    "no API function errors alarm": (lambda t: t["Resources"].pop("ApiFunctionErrorsAlarm"), "no alarm on ApiFunction's Errors"),
    "no S3 function errors alarm": (lambda t: t["Resources"].pop("S3EventFunctionErrorsAlarm"), "no alarm on S3EventFunction's Errors"),
    "no API function throttles alarm": (lambda t: t["Resources"].pop("ApiFunctionThrottlesAlarm"), "no alarm on ApiFunction's Throttles"),
    "no S3 function throttles alarm": (lambda t: t["Resources"].pop("S3EventFunctionThrottlesAlarm"), "no alarm on S3EventFunction's Throttles"),
    "one provider without its alarm": (lambda t: t["Resources"].pop("ProviderErrorsCapMonsterAlarm"), "no alarm on capmonster's failures"),
    "a provider alarm reading one function only": (
        lambda t: res(t, "ProviderErrorsYesCaptchaAlarm")["Metrics"].__setitem__(1, alarm_metric(t, "ProviderErrorsYesCaptchaAlarm", "errorsapi")),
        "no alarm on yescaptcha's failures"),
    "no breaker alarm": (lambda t: t["Resources"].pop("BreakerOpenAlarm"), "no alarm on a breaker open"),
    "no S3 error results alarm": (lambda t: t["Resources"].pop("S3ErrorResultsAlarm"), "no alarm on the S3 path's error results"),
    "S3 error results counting duplicates": (
        lambda t: res(t, "S3ErrorResultsAlarm")["Metrics"].pop(2), "no alarm on the S3 path's error results"),
    "an alarm telling no one": (lambda t: res(t, "BreakerOpenAlarm").pop("AlarmActions"), "BreakerOpenAlarm: its action is not AlarmTopic"),
    "an alarm on a quiet hour": (
        lambda t: res(t, "DeadLetterQueueAlarm").__setitem__("TreatMissingData", "breaching"), "DeadLetterQueueAlarm: no data"),
    "topic without AlarmEmail": (lambda t: t["Resources"]["AlarmTopic"].pop("Condition"), "not one SNS topic AlarmTopic"),
    "no subscription": (lambda t: t["Resources"].pop("AlarmEmailSubscription"), "AlarmEmail is not subscribed"),
    "someone told by default": (
        lambda t: t["Parameters"]["AlarmEmail"].__setitem__("Default", "ops@example.com"), "AlarmEmail parameter missing or not empty"),
    "no dashboard": (lambda t: t["Resources"].pop("Dashboard"), "not one dashboard"),
    "dashboard without requests by code": (
        lambda t: set_board(t, lambda b: b.replace("{Recognizer,Function,Code}", "{Recognizer,Function}")), "the dashboard does not show requests by code"),
    "dashboard without p99": (lambda t: set_board(t, lambda b: b.replace('"p99"', '"p90"')), "the dashboard does not show api latency p99"),
    "dashboard without hedges": (
        lambda t: set_board(t, lambda b: b.replace('MetricName=\\"Hedges\\"', 'MetricName=\\"Failovers\\"')), "the dashboard does not show Hedges by provider"),
    "dashboard without breakers": (
        lambda t: set_board(t, lambda b: b.replace("BreakerOpen", "ProviderCalls")), "the dashboard does not show BreakerOpen by provider"),
    "dashboard without the dead-letter queue": (
        lambda t: set_board(t, lambda b: b.replace("ApproximateNumberOfMessagesVisible", "NumberOfMessagesSent")), "the dashboard does not show the dead-letter queue"),
}


# The managed-instances variant (.ci/managed-instances.py applied to the template) lacking a part.
MANAGED_MUTATIONS = {
    "one function left on demand": (
        lambda t: res(t, "S3EventFunction").pop("CapacityProviderConfig"), "S3EventFunction: not on the capacity provider"),
    "a fixed concurrency": (
        lambda t: res(t, "ApiFunction")["CapacityProviderConfig"].__setitem__("PerExecutionEnvironmentMaxConcurrency", 64),
        "ApiFunction: not on the capacity provider"),
}


def check_managed(base, failures):
    """The variant passes the policy, cfn-lint and the SAM transform; each mutation of it fails."""
    variant = managed.managed(copy.deepcopy(base))
    problems = policy.check(copy.deepcopy(variant))
    if problems:
        failures.append(f"the managed-instances variant fails: {problems}")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(variant, f)
        f.flush()
        lint = subprocess.run(["cfn-lint", f.name], capture_output=True, text=True)
        if lint.returncode != 0:
            failures.append(f"cfn-lint refuses the managed-instances variant:\n{lint.stdout}{lint.stderr}")
    for name, (mutate, want) in MANAGED_MUTATIONS.items():
        t = copy.deepcopy(variant)
        mutate(t)
        problems = policy.check(t)
        if not any(want in p for p in problems):
            failures.append(f"managed: {name}: the check did not fail with {want!r} (problems: {problems})")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    base = policy.yaml_parse(open(path).read())
    failures = []
    baseline = policy.check(copy.deepcopy(base))
    if baseline:
        failures.append(f"{path} itself fails: {baseline}")
    if any(r["Type"] == "AWS::Serverless::CapacityProvider" for r in base["Resources"].values()):
        failures.append(f"{path} deploys on a capacity provider: managed instances are an option, off by default")
    check_managed(base, failures)
    for name, (mutate, want) in MUTATIONS.items():
        t = copy.deepcopy(base)
        mutate(t)
        problems = policy.check(t)
        if not any(want in p for p in problems):
            failures.append(f"{name}: the check did not fail with {want!r} (problems: {problems})")
    if failures:
        print("template policy self-test failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"template policy self-test: {path} passes; each of {len(MUTATIONS)} templates lacking a required part fails; "
          f"its managed-instances variant passes the policy and cfn-lint, and each of {len(MANAGED_MUTATIONS)} variants lacking a part fails")


if __name__ == "__main__":
    main()
