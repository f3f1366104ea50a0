#!/usr/bin/env python3
"""Writes the Lambda Managed Instances variant of template.yaml: the same stack, with both
functions on one capacity provider (AWS::Serverless::CapacityProvider) that runs many
invocations in one execution environment.

    python3 .ci/managed-instances.py template.yaml template-managed.json
    sam build -t template-managed.json && sam deploy --guided   # a new stack

It is a second template rather than a parameter of the first for two reasons:
- Lambda fixes a function's compute type when it is created: CapacityProviderConfig "can't be
  added or removed after the function resource has been created", so switching an existing stack
  would mean replacing both functions anyway;
- the SAM transform validates CapacityProviderConfig as a mapping with an Arn before CloudFormation
  resolves conditions, so `!If [Condition, {...}, !Ref AWS::NoValue]` there is refused.

What changes (everything else, alarms and policy included, is template.yaml's):
- parameters ManagedInstancesSubnetIds and ManagedInstancesSecurityGroupIds (the VPC the
  instances run in: it needs a route to the providers, S3 and Secrets Manager),
  PerEnvironmentMaxConcurrency (invocations at once in one execution environment, default 64),
  ManagedInstancesMaxVCpu (the provider's ceiling);
- a CapacityProvider resource (arm64 instances);
- each function: CapacityProviderConfig with that concurrency, 2048 MB (the least an execution
  environment has: 1 vCPU at 2 GiB per vCPU) and GOMEMLIMIT to match.
"""
import json
import sys

from samtranslator.yaml_helper import yaml_parse

FUNCTIONS = ("ApiFunction", "S3EventFunction")
MEMORY_MB = 2048
# The Go heap's soft limit, below the environment's memory: the rest is the runtime's own,
# goroutine stacks and the pictures in flight.
GOMEMLIMIT = "1536MiB"


def managed(t):
    t["Description"] = t.get("Description", "") + " (Lambda Managed Instances: both functions on a capacity provider)"
    params = t["Parameters"]
    params["ManagedInstancesSubnetIds"] = {
        "Type": "List<AWS::EC2::Subnet::Id>",
        "Description": "Subnets the capacity provider's instances run in (two or more zones); they need a route to the recognition providers, S3 and Secrets Manager (a NAT gateway or VPC endpoints).",
    }
    params["ManagedInstancesSecurityGroupIds"] = {
        "Type": "List<AWS::EC2::SecurityGroup::Id>",
        "Description": "Security groups of the instances: outbound HTTPS only; nothing connects to them.",
    }
    params["PerEnvironmentMaxConcurrency"] = {
        "Type": "Number",
        "Default": 64,
        "MinValue": 1,
        "MaxValue": 1600,
        "Description": "Invocations one execution environment (one process) serves at once. Each waits about 1 s on a provider and spends a few ms of CPU; docs/performance.md section 8 measures 256 at once in one process.",
    }
    params["ManagedInstancesMaxVCpu"] = {
        "Type": "Number",
        "Default": 16,
        "MinValue": 2,
        "Description": "Most vCPUs the capacity provider runs at once, across its instances: the ceiling of the bill.",
    }
    resources = t["Resources"]
    resources["CapacityProvider"] = {
        "Type": "AWS::Serverless::CapacityProvider",
        "Properties": {
            "VpcConfig": {
                "SubnetIds": {"Ref": "ManagedInstancesSubnetIds"},
                "SecurityGroupIds": {"Ref": "ManagedInstancesSecurityGroupIds"},
            },
            "InstanceRequirements": {"Architectures": ["arm64"]},
            "ScalingConfig": {"MaxVCpuCount": {"Ref": "ManagedInstancesMaxVCpu"}},
        },
    }
    t["Globals"]["Function"]["Environment"]["Variables"]["GOMEMLIMIT"] = GOMEMLIMIT
    # The functions run on the capacity provider's instances, so they share its processor.
    t["Globals"]["Function"]["Architectures"] = ["arm64"]
    for fn in FUNCTIONS:
        props = resources[fn]["Properties"]
        props["MemorySize"] = MEMORY_MB
        props["CapacityProviderConfig"] = {
            "Arn": {"Fn::GetAtt": ["CapacityProvider", "Arn"]},
            "PerExecutionEnvironmentMaxConcurrency": {"Ref": "PerEnvironmentMaxConcurrency"},
            "ExecutionEnvironmentMemoryGiBPerVCpu": 2,
        }
    t["Outputs"]["CapacityProvider"] = {
        "Description": "The capacity provider both functions run on",
        "Value": {"Ref": "CapacityProvider"},
    }
    return t


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    dst = sys.argv[2] if len(sys.argv) > 2 else "template-managed.json"
    with open(src) as f:
        t = managed(yaml_parse(f.read()))
    with open(dst, "w") as f:
        json.dump(t, f, indent=1)
        f.write("\n")
    print(f"wrote {dst}: {src} with both functions on a capacity provider")


if __name__ == "__main__":
    main()
