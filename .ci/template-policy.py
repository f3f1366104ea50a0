#!/usr/bin/env python3
"""Least privilege, checked on the expanded template: no IAM statement grants S3 or Secrets
Manager on "*", the S3 function reads only the input prefix and writes only the results prefix,
and both routes take their authorization type from AuthMode (never plainly NONE)."""
import json
import os
import re
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


class NoManagedPolicies:
    def load(self):
        return {}


template = yaml_parse(open(sys.argv[1] if len(sys.argv) > 1 else "template.yaml").read())
for res in template["Resources"].values():
    if res["Type"] == "AWS::Serverless::Function":
        res["Properties"]["CodeUri"] = "s3://placeholder-bucket/code.zip"
out = transform(template, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, NoManagedPolicies())
resources = out["Resources"]
problems = []


def statements(role):
    for policy in resources[role]["Properties"].get("Policies", []):
        stmts = policy["PolicyDocument"]["Statement"]
        for s in stmts if isinstance(stmts, list) else [stmts]:
            if "Fn::If" in s:  # a conditional statement: check both branches
                for branch in s["Fn::If"][1:]:
                    if isinstance(branch, dict) and "Ref" not in branch:
                        yield branch
            else:
                yield s


def actions(s):
    a = s.get("Action", [])
    return a if isinstance(a, list) else [a]


for role in [k for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"]:
    for s in statements(role):
        text = json.dumps(s.get("Resource"))
        if any(a.startswith(("s3:", "secretsmanager:")) for a in actions(s)) and (text == '"*"' or '":*"' in text):
            problems.append(f"{role}: {actions(s)} on {text}")

for s in statements("S3EventFunctionRole"):
    text = json.dumps(s.get("Resource"))
    for a in actions(s):
        if a == "s3:GetObject" and "${InputPrefix}*" not in text and "${ResultsPrefix}*" not in text:
            problems.append(f"S3EventFunctionRole reads outside the prefixes: {text}")
        if a == "s3:PutObject" and ("${ResultsPrefix}*" not in text or "${StorePrefix}" in text):
            problems.append(f"S3EventFunctionRole writes outside the results prefix: {text}")

# Issue 12: the API reads references only, never uploads, results or stored answers.
for s in statements("ApiFunctionRole"):
    text = json.dumps(s.get("Resource"))
    if "s3:GetObject" in actions(s) and "${ReferencesPrefix}*" not in text:
        problems.append(f"ApiFunctionRole reads outside the references prefix: {text}")
    if "s3:PutObject" in actions(s) and "${StorePrefix}*" not in text:
        problems.append(f"ApiFunctionRole writes outside the store prefix: {text}")

# Issue 12: overlapping prefixes are refused at deploy time. The parameters' patterns must refuse
# nested folders (so overlap means equality), and the Rules must fail for every equal pair.
PREFIXES = ["InputPrefix", "ResultsPrefix", "StorePrefix", "ReferencesPrefix"]
params = out.get("Parameters", {})


def evaluate(node, values):
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
    problems.append(f"parameters missing: {missing}")
else:
    defaults = {p: params[p]["Default"] for p in PREFIXES}
    if deploy_refuses(defaults):
        problems.append(f"the default prefixes are refused: {defaults}")
    for i, a in enumerate(PREFIXES):
        for b in PREFIXES[i + 1:]:
            for va, vb in (("data/", "data/"), ("data/", "data/out/"), ("data/out/", "data/")):
                values = dict(defaults, **{a: va, b: vb})
                if not deploy_refuses(values):
                    problems.append(f"a deploy with {a}={va} and {b}={vb} (overlapping) is not refused")

for route in ("RecognizeRoute", "UpstreamCompatibleRoute"):
    auth = resources[route]["Properties"]["AuthorizationType"]
    if auth != {"Fn::If": ["UseIam", "AWS_IAM", "NONE"]}:
        problems.append(f"{route}: AuthorizationType {auth} does not follow AuthMode")

env = resources["ApiFunction"]["Properties"]["Environment"]["Variables"]
if env.get("AUTH_MODE") != {"Ref": "AuthMode"}:
    problems.append("ApiFunction: AUTH_MODE is not the AuthMode parameter")

if problems:
    print("template policy check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print("template policy check: no wildcard S3/Secrets Manager grants; S3 function limited to its prefixes; routes follow AuthMode")
