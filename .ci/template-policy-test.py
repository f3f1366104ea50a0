#!/usr/bin/env python3
"""Shows each check of template-policy.py failing: template.yaml passes, and each mutation below
(template.yaml without one thing the policy requires) fails with the expected problem."""
import copy
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("policy", os.path.join(here, "template-policy.py"))
policy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(policy)


def res(t, name):
    return t["Resources"][name]["Properties"]


def statement(t, fn, action):
    for s in res(t, fn)["Policies"][0]["Statement"]:
        if isinstance(s, dict) and action in policy.as_list(s.get("Action", [])):
            return s
    raise KeyError(f"{fn} has no statement for {action}")


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
}


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    base = policy.yaml_parse(open(path).read())
    failures = []
    baseline = policy.check(copy.deepcopy(base))
    if baseline:
        failures.append(f"{path} itself fails: {baseline}")
    for name, (mutate, want) in MUTATIONS.items():
        t = copy.deepcopy(base)
        mutate(t)
        problems = policy.check(t)
        if not any(want in p for p in problems):
            failures.append(f"{name}: the check did not fail with {want!r} (problems: {problems})")
    if failures:
        print("template policy self-test failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"template policy self-test: {path} passes; each of {len(MUTATIONS)} templates lacking a required part fails")


if __name__ == "__main__":
    main()
