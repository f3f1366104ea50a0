#!/usr/bin/env python3
"""Policy checks on the expanded template (.ci/template-policy-test.py shows each one failing on a
template that lacks what it checks):

- least privilege: no IAM statement grants S3 or Secrets Manager on "*"; the S3 function reads
  only its input and results prefixes and writes only the results prefix; the API reads only the
  references prefix and writes only the store prefix, besides reading and writing the Idempotency-Key
  records' prefix, which the S3 function never touches; every s3:ListBucket is limited by an
  s3:prefix condition to the role's own prefixes;
- both routes take their authorization type from AuthMode (never plainly NONE);
- overlapping prefixes are refused at deploy time (parameter patterns and Rules);
- the bucket denies any request without TLS;
- each function logs to its own log group, and the API stage writes JSON access logs, all with
  the LogRetentionInDays parameter (default 30);
- each function has a reserved-concurrency parameter, unset by default;
- references and stored answers may expire (parameters, default keep);
- Idempotency-Key records always expire, never before IdempotencyTtl (default 24h).
"""
import json
import logging
import os
import re
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


# The translator warns about its own unpublished metrics on every transform.
logging.getLogger("samtranslator").setLevel(logging.ERROR)


class NoManagedPolicies:
    def load(self):
        return {}


def expand(template):
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://placeholder-bucket/code.zip"
    return transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, NoManagedPolicies())


def actions(s):
    a = s.get("Action", [])
    return a if isinstance(a, list) else [a]


def as_list(v):
    return v if isinstance(v, list) else [v]


def ref_name(v):
    """The logical id a Ref or GetAtt points to, or None."""
    if isinstance(v, dict):
        if "Ref" in v:
            return v["Ref"]
        if "Fn::GetAtt" in v:
            g = v["Fn::GetAtt"]
            return g[0] if isinstance(g, list) else g.split(".")[0]
    return None


PREFIXES = ["InputPrefix", "ResultsPrefix", "StorePrefix", "ReferencesPrefix", "IdempotencyPrefix"]


def evaluate(node, values):
    """Evaluates a Rules assertion for parameter values (the functions Rules may use)."""
    if isinstance(node, list):
        return [evaluate(n, values) for n in node]
    if not isinstance(node, dict):
        return node
    (fn, arg), = node.items()
    if fn == "Ref":
        return values[arg]
    arg = evaluate(arg, values)
    if fn == "Fn::Not":
        return not arg[0]
    if fn == "Fn::Equals":
        return arg[0] == arg[1]
    if fn == "Fn::Contains":
        return arg[1] in arg[0]
    if fn == "Fn::And":
        return all(arg)
    if fn == "Fn::Or":
        return any(arg)
    raise ValueError(f"rule function {fn} is not understood by this check")


def check(template):
    """Returns the list of problems of a template (as parsed from YAML)."""
    out = expand(template)
    resources = out["Resources"]
    params = out.get("Parameters", {})
    problems = []

    def statements(role):
        if role not in resources:
            problems.append(f"{role} is missing")
            return
        for policy in resources[role]["Properties"].get("Policies", []):
            stmts = policy["PolicyDocument"]["Statement"]
            for s in as_list(stmts):
                if "Fn::If" in s:  # a conditional statement: check both branches
                    for branch in s["Fn::If"][1:]:
                        if isinstance(branch, dict) and "Ref" not in branch:
                            yield branch
                else:
                    yield s

    # Least privilege.
    for role in [k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"]:
        for s in statements(role):
            text = json.dumps(s.get("Resource"))
            if any(a.startswith(("s3:", "secretsmanager:")) for a in actions(s)) and (text == '"*"' or '":*"' in text):
                problems.append(f"{role}: {actions(s)} on {text}")

    own = {"S3EventFunctionRole": ["InputPrefix", "ResultsPrefix"], "ApiFunctionRole": ["ReferencesPrefix", "IdempotencyPrefix"]}
    for s in statements("S3EventFunctionRole"):
        text = json.dumps(s.get("Resource"))
        for a in actions(s):
            if a == "s3:GetObject" and "${InputPrefix}*" not in text and "${ResultsPrefix}*" not in text:
                problems.append(f"S3EventFunctionRole reads outside the prefixes: {text}")
            if a == "s3:PutObject" and ("${ResultsPrefix}*" not in text or "${StorePrefix}" in text):
                problems.append(f"S3EventFunctionRole writes outside the results prefix: {text}")
        if "${IdempotencyPrefix}" in text:
            problems.append(f"S3EventFunctionRole reaches the Idempotency-Key records: {text}")
    idempotency = set()
    for s in statements("ApiFunctionRole"):
        text = json.dumps(s.get("Resource"))
        if text.endswith('/${IdempotencyPrefix}*"}'):
            idempotency.update(a for a in actions(s) if a.startswith("s3:"))
            continue
        if "s3:GetObject" in actions(s) and "${ReferencesPrefix}*" not in text:
            problems.append(f"ApiFunctionRole reads outside the references prefix: {text}")
        if "s3:PutObject" in actions(s) and "${StorePrefix}*" not in text:
            problems.append(f"ApiFunctionRole writes outside the store prefix: {text}")
    if idempotency != {"s3:GetObject", "s3:PutObject"}:
        problems.append(f"ApiFunctionRole: the Idempotency-Key records' prefix is granted {sorted(idempotency)}, not exactly s3:GetObject and s3:PutObject")
    for role, prefixes in own.items():
        for s in statements(role):
            if "s3:ListBucket" not in actions(s):
                continue
            cond = s.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
            wanted = [{"Fn::Sub": "${" + p + "}*"} for p in prefixes]
            if cond is None or sorted(json.dumps(c) for c in as_list(cond)) != sorted(json.dumps(w) for w in wanted):
                problems.append(f"{role}: s3:ListBucket is not limited by an s3:prefix condition to {prefixes}: {json.dumps(cond)}")

    for route in ("RecognizeRoute", "UpstreamCompatibleRoute"):
        auth = resources.get(route, {}).get("Properties", {}).get("AuthorizationType")
        if auth != {"Fn::If": ["UseIam", "AWS_IAM", "NONE"]}:
            problems.append(f"{route}: AuthorizationType {auth} does not follow AuthMode")

    env = resources.get("ApiFunction", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    if env.get("AUTH_MODE") != {"Ref": "AuthMode"}:
        problems.append("ApiFunction: AUTH_MODE is not the AuthMode parameter")

    # Overlapping prefixes are refused at deploy time: the parameters' patterns must refuse nested
    # folders (so overlap means equality), and the Rules must fail for every equal pair.
    def deploy_refuses(values):
        for name, p in params.items():
            if name in values and not re.fullmatch(p.get("AllowedPattern", ".*"), values[name]):
                return True
        for rule in out.get("Rules", {}).values():
            for a in rule.get("Assertions", []):
                if not evaluate(a["Assert"], values):
                    return True
        return False

    missing = [p for p in PREFIXES if p not in params]
    if missing:
        problems.append(f"prefix parameters missing: {missing}")
    else:
        defaults = {p: params[p]["Default"] for p in PREFIXES}
        if deploy_refuses(defaults):
            problems.append(f"the default prefixes are refused: {defaults}")
        for i, a in enumerate(PREFIXES):
            for b in PREFIXES[i + 1:]:
                for va, vb in (("data/", "data/"), ("data/", "data/out/"), ("data/out/", "data/")):
                    if not deploy_refuses(dict(defaults, **{a: va, b: vb})):
                        problems.append(f"a deploy with {a}={va} and {b}={vb} (overlapping) is not refused")

    # The bucket denies any request without TLS, on the bucket and on every object.
    tls = False
    for res in resources.values():
        if res["Type"] != "AWS::S3::BucketPolicy" or ref_name(res["Properties"].get("Bucket")) != "ImagesBucket":
            continue
        for s in as_list(res["Properties"]["PolicyDocument"]["Statement"]):
            covered = json.dumps(s.get("Resource"))
            if (s.get("Effect") == "Deny" and s.get("Principal") == "*" and "s3:*" in actions(s)
                    and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
                    and "ImagesBucket.Arn" in covered and "/*" in covered):
                tls = True
    if not tls:
        problems.append("ImagesBucket: no bucket policy denies requests without TLS (aws:SecureTransport false) on the bucket and its objects")

    # Logs: a retention parameter, a log group per function, JSON access logs for the stage.
    retention = params.get("LogRetentionInDays", {})
    if str(retention.get("Default")) != "30":
        problems.append("LogRetentionInDays parameter missing or its default is not 30")

    def retained(group):
        res = resources.get(group)
        return (res is not None and res["Type"] == "AWS::Logs::LogGroup"
                and res["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionInDays"})

    groups = []
    for fn in ("ApiFunction", "S3EventFunction"):
        props = resources.get(fn, {}).get("Properties", {})
        group = ref_name(props.get("LoggingConfig", {}).get("LogGroup"))
        if not group or not retained(group):
            problems.append(f"{fn}: does not log to a log group of its own with LogRetentionInDays")
        groups.append(group)
    if len(set(groups)) != len(groups):
        problems.append("the functions share a log group")
    stage = resources.get("HttpApiStage", {}).get("Properties", {})
    access = stage.get("AccessLogSettings", {})
    if not retained(ref_name(access.get("DestinationArn"))):
        problems.append("HttpApiStage: no access logs to a log group with LogRetentionInDays")
    else:
        try:
            if not isinstance(json.loads(access.get("Format", "")), dict):
                raise ValueError
        except ValueError:
            problems.append("HttpApiStage: the access log format is not a JSON object")

    # Reserved concurrency: a parameter per function, unset (empty) by default.
    for fn, param in (("ApiFunction", "ApiReservedConcurrency"), ("S3EventFunction", "S3EventReservedConcurrency")):
        p = params.get(param)
        value = resources.get(fn, {}).get("Properties", {}).get("ReservedConcurrentExecutions")
        ok = (p is not None and p.get("Default") == "" and isinstance(value, dict) and "Fn::If" in value
              and value["Fn::If"][1] == {"Ref": param} and value["Fn::If"][2] == {"Ref": "AWS::NoValue"})
        if ok:
            cond = out.get("Conditions", {}).get(value["Fn::If"][0])
            ok = cond == {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, ""]}]}
        if not ok:
            problems.append(f"{fn}: no reserved concurrency from {param} (default unset)")

    # Optional expiry of references and stored answers (default keep).
    rules = []

    def collect(node):  # every lifecycle rule, whatever conditions wrap it
        if isinstance(node, dict):
            if "ExpirationInDays" in node:
                rules.append(node)
            for v in node.values():
                collect(v)
        elif isinstance(node, list):
            for v in node:
                collect(v)

    collect(resources.get("ImagesBucket", {}).get("Properties", {}).get("LifecycleConfiguration"))
    for param, prefix in (("ReferencesExpirationDays", "ReferencesPrefix"), ("StoredAnswersExpirationDays", "StorePrefix")):
        p = params.get(param)
        if p is None or str(p.get("Default")) != "0":
            problems.append(f"{param} parameter missing or its default is not 0 (keep)")
        if not any(r.get("Prefix") == {"Ref": prefix} and r.get("ExpirationInDays") == {"Ref": param} for r in rules):
            problems.append(f"ImagesBucket: no lifecycle rule expiring {prefix} after {param}")

    # Idempotency-Key records: always expired (a rule not under any condition), never before the TTL.
    ttl = params.get("IdempotencyTtl", {})
    if ttl.get("Default") != "24h":
        problems.append("IdempotencyTtl parameter missing or its default is not 24h")
    env_ttl = env.get("IDEMPOTENCY_TTL")
    env_prefix = env.get("IDEMPOTENCY_PREFIX")
    if env_ttl != {"Ref": "IdempotencyTtl"} or env_prefix != {"Ref": "IdempotencyPrefix"}:
        problems.append("ApiFunction: IDEMPOTENCY_TTL and IDEMPOTENCY_PREFIX are not the IdempotencyTtl and IdempotencyPrefix parameters")
    lifecycle = resources.get("ImagesBucket", {}).get("Properties", {}).get("LifecycleConfiguration")
    expiry = {"Fn::FindInMap": ["IdempotencyExpiry", {"Ref": "IdempotencyTtl"}, "Days"]}
    top = lifecycle.get("Rules", []) if isinstance(lifecycle, dict) else []
    if not any(isinstance(r, dict) and r.get("Prefix") == {"Ref": "IdempotencyPrefix"} and r.get("ExpirationInDays") == expiry
               and r.get("Status") == "Enabled" for r in top):
        problems.append("ImagesBucket: no unconditional lifecycle rule expiring IdempotencyPrefix after IdempotencyExpiry's days for IdempotencyTtl")
    days = out.get("Mappings", {}).get("IdempotencyExpiry", {})
    for v in ttl.get("AllowedValues", []):
        hours = int(str(v).rstrip("h"))
        if not str(v).endswith("h") or days.get(str(v), {}).get("Days", 0) * 24 < hours:
            problems.append(f"IdempotencyExpiry: IdempotencyTtl={v} would be deleted before it expires")
    return problems


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    problems = check(yaml_parse(open(path).read()))
    if problems:
        print("template policy check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print("template policy check: least privilege (prefix-scoped S3 grants and listing, no wildcards); routes follow AuthMode; "
          "overlapping prefixes refused at deploy; TLS-only bucket; log groups and JSON access logs with retention; "
          "reserved concurrency parameters; optional expiry; Idempotency-Key records expire after their TTL")


if __name__ == "__main__":
    main()
