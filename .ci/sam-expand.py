#!/usr/bin/env python3
"""Expands template.yaml with aws-sam-translator offline, as `sam validate` would, and fails on
any transform error. Managed-policy lookups are answered locally: the template uses inline
statements only, so nothing needs IAM."""
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator asks boto3 for a region
path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
with open(path) as f:
    template = yaml_parse(f.read())
# Like `sam validate`: a local CodeUri stands for code uploaded at deploy time.
for res in template.get("Resources", {}).values():
    if res.get("Type") == "AWS::Serverless::Function" and not str(res["Properties"].get("CodeUri", "")).startswith("s3://"):
        res["Properties"]["CodeUri"] = "s3://placeholder-bucket/code.zip"
params = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
try:
    out = transform(template, params, NoManagedPolicies())
except Exception as e:  # the translator's errors list every problem
    print(f"SAM transform of {path} failed: {e}", file=sys.stderr)
    sys.exit(1)
resources = out.get("Resources", {})
print(f"SAM transform of {path}: {len(resources)} resources: " + ", ".join(sorted(f"{k} ({v['Type']})" for k, v in resources.items())))
