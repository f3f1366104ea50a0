#!/usr/bin/env python3
"""Policy checks on the expanded template (.ci/template-policy-test.py shows each one failing on a
template that lacks what it checks):

- least privilege: no IAM statement grants S3 or Secrets Manager on "*"; the S3 function reads
  only its input and results prefixes and writes only the results prefix; the API reads only the
  references prefix and writes only the store prefix, besides reading and writing the Idempotency-Key
  records' prefix, which the S3 function never touches; every s3:ListBucket is limited by an
  s3:prefix condition to the role's own prefixes;
- every route reaches the function through one AWS_PROXY integration with payload format 2.0;
  a route that exists in IAM mode takes its authorization type from AuthMode (never plainly NONE),
  and the solver protocols' routes, whose clients cannot sign, exist in keys mode only
  (Condition UseKeys); the stage throttles every route with the throttling parameters;
- overlapping prefixes are refused at deploy time (parameter patterns and Rules);
- wherever ids are handed to callers (keys mode's task ids, forwarded reports' answer ids), the
  deployment's id secret exists and the API function is told its name and may read it;
- the bucket denies any request without TLS;
- each function logs to its own log group, and the API stage writes JSON access logs, all with
  the LogRetentionInDays parameter (default 30);
- each function has a reserved-concurrency parameter, unset by default;
- references and stored answers may expire (parameters, default keep);
- Idempotency-Key records always expire, never before IdempotencyTtl (default 24h);
- alarms on the dead-letter queue, the API's 5xx rate, each function's errors and throttles, each
  provider's failures, a breaker open and the S3 path's error results, all notifying one SNS topic
  that exists only when AlarmEmail (default empty) names someone; a dashboard of requests by code,
  latency p50/p99, provider calls, failovers and hedges, breakers and the dead-letter queue;
- a template with a capacity provider (the managed-instances variant, .ci/managed-instances.py)
  puts both functions on it, with the PerEnvironmentMaxConcurrency parameter.

`--recognizer-metrics` prints, as JSON, every metric of the functions' own namespace that the
alarms and the dashboard read (the end-to-end tests check each against what the functions emit).
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


def evaluate(node, values, conditions=None):
    """Evaluates a Rules assertion or a condition for parameter values (the functions Rules and
    Conditions may use; conditions names the template's, for a condition that names another)."""
    if isinstance(node, list):
        return [evaluate(n, values, conditions) for n in node]
    if not isinstance(node, dict):
        return node
    (fn, arg), = node.items()
    if fn == "Ref":
        return values[arg]
    if fn == "Condition":
        return evaluate(conditions[arg], values, conditions)
    arg = evaluate(arg, values, conditions)
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


def id_secret_problems(out):
    """Ids handed to callers (task ids in keys mode, answer ids when reports are forwarded) are
    read by whichever instance the caller reaches next: in every combination of AuthMode and
    ForwardReports that issues them, the deployment's id secret exists, ApiFunction is told its
    name and may read it."""
    resources, params, conditions = out["Resources"], out.get("Parameters", {}), out.get("Conditions", {})
    defaults = {n: str(p.get("Default", "")) for n, p in params.items()}

    def chosen(node, values):  # an Fn::If resolved for these parameter values
        while isinstance(node, dict) and "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            node = yes if evaluate(conditions[name], values, conditions) else no
        return node

    problems = []
    for auth in ("iam", "keys"):
        for forward in ("off", "on"):
            values = {**defaults, "AuthMode": auth, "ForwardReports": forward}
            secret = resources.get("TaskIdSecret")
            exists = secret is not None and (
                "Condition" not in secret or evaluate(conditions[secret["Condition"]], values, conditions))
            env = resources.get("ApiFunction", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
            named = chosen(env.get("TASK_ID_SECRET_ID"), values) == {"Ref": "TaskIdSecret"}
            readable = any(
                "secretsmanager:GetSecretValue" in actions(s) and s.get("Resource") == {"Ref": "TaskIdSecret"}
                for policy in resources.get("ApiFunctionRole", {}).get("Properties", {}).get("Policies", [])
                for s in (chosen(x, values) for x in as_list(policy["PolicyDocument"]["Statement"]))
                if isinstance(s, dict))
            if (auth == "keys" or forward == "on") and not (exists and named and readable):
                problems.append(f"AuthMode={auth} ForwardReports={forward} issues ids without the id secret "
                                f"(TaskIdSecret exists: {exists}, named to ApiFunction: {named}, readable: {readable})")
    return problems


NAMESPACE = "Recognizer"  # internal/metrics.Namespace
PROVIDERS = ["acedata", "capsolver", "yescaptcha", "capmonster"]
SEARCH = re.compile(r"SEARCH\(\s*'\{([^}]*)\}\s*MetricName=\"([^\"]+)\"'")


def alarm_metrics(props):
    """Each metric an alarm reads: (namespace, name, {dimension: value}, stat)."""
    if "MetricName" in props:
        dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        yield props.get("Namespace"), props["MetricName"], dims, props.get("Statistic")
    for m in props.get("Metrics", []):
        stat = m.get("MetricStat")
        if stat:
            metric = stat["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            yield metric.get("Namespace"), metric["MetricName"], dims, stat.get("Stat")


def dashboard_metrics(body):
    """Each metric a dashboard body (the Fn::Sub string) shows: (namespace, name, {dimension:
    value, or None for a SEARCH's every value}, stat)."""
    doc = json.loads(re.sub(r"\$\{[^}]+\}", "placeholder", body))
    for w in doc.get("widgets", []):
        for row in w.get("properties", {}).get("metrics", []):
            opts = row[-1] if row and isinstance(row[-1], dict) else {}
            plain = [v for v in row if not isinstance(v, dict)]
            if "expression" in opts:
                for m in SEARCH.finditer(opts["expression"]):
                    ns, *dims = [d.strip() for d in m.group(1).split(",")]
                    yield ns, m.group(2), {d: None for d in dims}, None
            elif len(plain) >= 2:
                yield plain[0], plain[1], dict(zip(plain[2::2], plain[3::2])), opts.get("stat")


def recognizer_metrics(template):
    """The functions' own metrics that the alarms and the dashboard read, as JSON-able rows."""
    rows = []
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::CloudWatch::Alarm":
            found = alarm_metrics(props)
        elif res["Type"] == "AWS::CloudWatch::Dashboard":
            found = dashboard_metrics(props["DashboardBody"]["Fn::Sub"])
        else:
            continue
        for ns, metric, dims, _ in found:
            if ns == NAMESPACE:
                rows.append({"resource": name, "metric": metric, "dimensions": dims})
    return rows


FOLLOWS_AUTH_MODE = {"Fn::If": ["UseIam", "AWS_IAM", "NONE"]}


def route_problems(resources):
    """Every route reaches the function through the one payload 2.0 integration; a route that
    exists in IAM mode is signed there (its AuthorizationType follows AuthMode); a keys-only route
    (Condition UseKeys, the solver protocols) leaves the key to the function. The API's own two
    routes exist in both modes, and the stage throttles every route with the parameters."""
    problems = []
    integration = resources.get("HttpApiIntegration", {}).get("Properties", {})
    if (integration.get("IntegrationType") != "AWS_PROXY" or str(integration.get("PayloadFormatVersion")) != "2.0"
            or ref_name(integration.get("IntegrationUri")) != "ApiFunction"):
        problems.append(f"HttpApiIntegration is not ApiFunction's AWS_PROXY integration with payload format 2.0: {json.dumps(integration)}")
    routes = {k: v for k, v in resources.items() if v["Type"] == "AWS::ApiGatewayV2::Route"}
    for name, res in routes.items():
        props, cond = res["Properties"], res.get("Condition")
        auth = props.get("AuthorizationType")
        if props.get("Target") != {"Fn::Sub": "integrations/${HttpApiIntegration}"}:
            problems.append(f"{name}: its target is not HttpApiIntegration: {json.dumps(props.get('Target'))}")
        if cond is None and auth != FOLLOWS_AUTH_MODE:
            problems.append(f"{name}: AuthorizationType {auth} does not follow AuthMode")
        elif cond == "UseKeys" and auth not in ("NONE", FOLLOWS_AUTH_MODE):
            problems.append(f"{name}: a keys-only route with AuthorizationType {auth}: the function checks the key")
        elif cond not in (None, "UseKeys"):
            problems.append(f"{name}: exists under {cond}, neither always nor in keys mode only")
    for name in ("RecognizeRoute", "UpstreamCompatibleRoute"):
        if name not in routes or "Condition" in routes[name]:
            problems.append(f"{name}: not a route in both modes")
    settings = resources.get("HttpApiStage", {}).get("Properties", {}).get("DefaultRouteSettings", {})
    if (settings.get("ThrottlingRateLimit") != {"Ref": "ThrottlingRateLimit"}
            or settings.get("ThrottlingBurstLimit") != {"Ref": "ThrottlingBurstLimit"}):
        problems.append(f"HttpApiStage: the routes are not throttled by ThrottlingRateLimit and ThrottlingBurstLimit: {json.dumps(settings)}")
    return problems


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

    problems += id_secret_problems(out)

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

    problems.extend(route_problems(resources))

    env = resources.get("ApiFunction", {}).get("Properties", {}).get("Environment", {}).get("Variables", {})
    if env.get("AUTH_MODE") != {"Ref": "AuthMode"}:
        problems.append("ApiFunction: AUTH_MODE is not the AuthMode parameter")

    # Overlapping prefixes are refused at deploy time: the parameters' patterns must refuse nested
    # folders (so overlap means equality), and the Rules must fail for every equal pair.
    def deploy_refuses(values):
        for name, p in params.items():
            if name in values and not re.fullmatch(p.get("AllowedPattern", ".*"), values[name]):
                return True
        values = {**{n: str(p.get("Default", "")) for n, p in params.items()}, **values}
        for rule in out.get("Rules", {}).values():
            if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values):
                continue
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

    # Alarms: each trouble has one, and every alarm tells the AlarmEmail topic when there is one.
    if params.get("AlarmEmail", {}).get("Default") != "":
        problems.append("AlarmEmail parameter missing or not empty (no one told) by default")
    if out.get("Conditions", {}).get("HasAlarmEmail") != {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}:
        problems.append("no HasAlarmEmail condition (AlarmEmail not empty)")
    topics = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
    if topics != ["AlarmTopic"] or resources["AlarmTopic"].get("Condition") != "HasAlarmEmail":
        problems.append(f"not one SNS topic AlarmTopic created only with AlarmEmail: {topics}")
    if not any(v["Type"] == "AWS::SNS::Subscription" and v.get("Condition") == "HasAlarmEmail"
               and v["Properties"].get("Protocol") == "email" and v["Properties"].get("Endpoint") == {"Ref": "AlarmEmail"}
               and ref_name(v["Properties"].get("TopicArn")) == "AlarmTopic" for v in resources.values()):
        problems.append("AlarmEmail is not subscribed (email) to AlarmTopic")
    alarms = {k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    for name, props in alarms.items():
        if props.get("AlarmActions") != {"Fn::If": ["HasAlarmEmail", [{"Ref": "AlarmTopic"}], []]}:
            problems.append(f"{name}: its action is not AlarmTopic when AlarmEmail is set, and none otherwise")
        if props.get("TreatMissingData") != "notBreaching":
            problems.append(f"{name}: no data (a quiet hour) must not alarm: TreatMissingData notBreaching")

    def alarmed(why, test):
        if not any(test(props, list(alarm_metrics(props))) for props in alarms.values()):
            problems.append(f"no alarm on {why}")

    def reads(ms, ns, metric, **dims):
        return any(m[0] == ns and m[1] == metric and all(m[2].get(k) == v for k, v in dims.items()) for m in ms)

    alarmed("the dead-letter queue's messages", lambda p, ms: reads(
        ms, "AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}))
    alarmed("the API's 5xx rate (5xx over Count)", lambda p, ms: reads(ms, "AWS/ApiGateway", "5xx", ApiId={"Ref": "HttpApi"})
            and reads(ms, "AWS/ApiGateway", "Count", ApiId={"Ref": "HttpApi"})
            and any("/" in m.get("Expression", "") for m in p.get("Metrics", [])))
    for fn in ("ApiFunction", "S3EventFunction"):
        for metric in ("Errors", "Throttles"):
            alarmed(f"{fn}'s {metric}", lambda p, ms, fn=fn, metric=metric: reads(ms, "AWS/Lambda", metric, FunctionName={"Ref": fn}))
    for provider in PROVIDERS:
        alarmed(f"{provider}'s failures", lambda p, ms, provider=provider: all(
            reads(ms, NAMESPACE, "ProviderErrors", Function=f, Provider=provider) for f in ("api", "s3event")))
    alarmed("a breaker open, for every provider in both functions", lambda p, ms: all(
        reads(ms, NAMESPACE, "BreakerOpen", Function=f, Provider=provider) for f in ("api", "s3event") for provider in PROVIDERS))
    alarmed("the S3 path's error results (records less ok and duplicate)", lambda p, ms: reads(ms, NAMESPACE, "Requests", Function="s3event")
            and reads(ms, NAMESPACE, "Requests", Function="s3event", Code="ok") and reads(ms, NAMESPACE, "Requests", Function="s3event", Code="duplicate"))

    # Managed instances: all or nothing, with the per-environment concurrency a parameter.
    providers = [k for k, v in resources.items() if v["Type"] == "AWS::Lambda::CapacityProvider"]
    if providers:
        for fn in ("ApiFunction", "S3EventFunction"):
            cfg = resources.get(fn, {}).get("Properties", {}).get("CapacityProviderConfig", {}).get("LambdaManagedInstancesCapacityProviderConfig", {})
            if ref_name(cfg.get("CapacityProviderArn")) not in providers or cfg.get("PerExecutionEnvironmentMaxConcurrency") != {"Ref": "PerEnvironmentMaxConcurrency"}:
                problems.append(f"{fn}: not on the capacity provider with PerEnvironmentMaxConcurrency: {json.dumps(cfg)}")

    # The dashboard shows what the functions emit and the queue's depth.
    boards = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    if len(boards) != 1:
        problems.append(f"not one dashboard: {len(boards)}")
    else:
        try:
            shown = list(dashboard_metrics(boards[0]["DashboardBody"]["Fn::Sub"]))
        except (KeyError, TypeError, ValueError) as e:
            shown = []
            problems.append(f"the dashboard body is not a JSON Fn::Sub string: {e}")

        def board(why, ok):
            if not ok:
                problems.append(f"the dashboard does not show {why}")

        board("requests by code", any(m[:2] == (NAMESPACE, "Requests") and "Code" in m[2] for m in shown))
        for stat in ("p50", "p99"):
            for f in ("api", "s3event"):
                board(f"{f} latency {stat}", any(m[:2] == (NAMESPACE, "Latency") and m[2].get("Function") == f and m[3] == stat for m in shown))
        for metric in ("ProviderCalls", "Failovers", "Hedges", "BreakerOpen"):
            board(f"{metric} by provider", any(m[:2] == (NAMESPACE, metric) and "Provider" in m[2] for m in shown))
        board("the dead-letter queue's depth", any(m[:2] == ("AWS/SQS", "ApproximateNumberOfMessagesVisible") for m in shown)
              and "${DeadLetterQueue.QueueName}" in boards[0]["DashboardBody"]["Fn::Sub"])
    return problems


def main():
    args = [a for a in sys.argv[1:] if a != "--recognizer-metrics"]
    path = args[0] if args else "template.yaml"
    if "--recognizer-metrics" in sys.argv:
        print(json.dumps(recognizer_metrics(yaml_parse(open(path).read())), indent=1))
        return
    problems = check(yaml_parse(open(path).read()))
    if problems:
        print("template policy check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print("template policy check: least privilege (prefix-scoped S3 grants and listing, no wildcards); routes follow AuthMode "
          "(protocol routes in keys mode only), payload 2.0, throttled; "
          "overlapping prefixes refused at deploy; the id secret wherever ids are issued; TLS-only bucket; log groups and JSON access logs with retention; "
          "reserved concurrency parameters; optional expiry; Idempotency-Key records expire after their TTL; "
          "alarms (dead letters, 5xx rate, function errors and throttles, "
          "provider failures, breakers, S3 error results) to an optional email; the dashboard")


if __name__ == "__main__":
    main()
