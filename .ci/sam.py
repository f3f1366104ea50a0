#!/usr/bin/env python3
"""The pinned SAM CLI, unmodified, with `--docker-network host` meaning the host's network.

    python3 .ci/sam.py local invoke ... --docker-network host    (make sam-local, make sam-api)

Any other command line is the SAM CLI's own, passed through as `sam` would take it.

Why: the project's own engine (.ci/engine.sh) runs dockerd without a bridge, so that callers, the
function, moto and the provider emulator all meet on 127.0.0.1 and no container has a route
beyond the machine. The stock SAM CLI's `--docker-network host` only skips connecting the
container to a network: the container is created with port bindings on a bridge that does not
exist, the emulator inside it listens on its 8080 and serves its Runtime API on 127.0.0.1:9001,
and the invoke times out after 20 s (docs/sam.md shows it). In the host's network a container
cannot publish ports (docker-py refuses port bindings there), and two containers (two functions,
or warm containers) would both want 8080 and 9001.

So, only for a function container (its entrypoint is the SAM CLI's Runtime Interface Emulator)
and only when `--docker-network host` is given, this launcher creates it with network_mode=host,
without port bindings, and tells the emulator to listen where the SAM CLI will call it (the
interface and port the SAM CLI picked, from the binding it asked for) and to serve its Runtime
API on a free loopback port of its own (the emulator hands that address to the bootstrap as
AWS_LAMBDA_RUNTIME_API). It also passes the shell's AWS_ENDPOINT_URL* variables on to the
function (the SAM CLI passes only what the template declares, and the function reaches moto on the
loopback through them). The patch wraps docker-py's ContainerCollection.create in this process;
nothing of the SAM CLI is copied or changed on disk.

Telemetry is off (SAM_CLI_TELEMETRY=0): it, and the SAM CLI's version check, would reach beyond
the machine.
"""
import os
import socket
import sys

RIE = "/var/rapid/aws-lambda-rie"
RIE_PORT = "8080"


def free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_network(kwargs):
    """The create() arguments of a function container, moved onto the host's network."""
    entrypoint = kwargs.get("entrypoint")
    ports = kwargs.get("ports") or {}
    binding = ports.get(RIE_PORT) or ports.get(RIE_PORT + "/tcp")
    if not entrypoint or entrypoint[0] != RIE or binding is None:
        return kwargs
    interface, port = binding
    kwargs = dict(kwargs)
    del kwargs["ports"]
    kwargs.pop("network", None)
    kwargs["network_mode"] = "host"
    # The SAM CLI passes a function only the variables its template declares, and AWS's own from
    # its session; an emulator's endpoint on this machine's loopback is meaningful only here.
    env = dict(kwargs.get("environment") or {})
    env.update({k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL") and v})
    kwargs["environment"] = env
    kwargs["entrypoint"] = list(entrypoint) + [
        "--runtime-interface-emulator-address", f"{interface}:{port}",
        "--runtime-api-address", f"127.0.0.1:{free_loopback_port()}",
    ]
    return kwargs


def wants_host_network(argv):
    for i, arg in enumerate(argv):
        if arg == "--docker-network" and i + 1 < len(argv) and argv[i + 1] == "host":
            return True
        if arg == "--docker-network=host":
            return True
    return False


def read_both_route_kinds():
    """`sam local start-api` reads the routes of SAM's own resources (a function's HttpApi events)
    or those of CloudFormation's (AWS::ApiGatewayV2::Route), chosen by the first API-related
    resource type it meets; a template with AWS::Serverless::Function resources thus gets SAM's
    reader alone, and template.yaml's AWS::ApiGatewayV2 routes are ignored ("Template does not
    have any APIs connected to Lambda functions"). This reads both into one collection."""
    from samcli.lib.providers import api_provider
    from samcli.lib.providers.cfn_api_provider import CfnApiProvider
    from samcli.lib.providers.sam_api_provider import SamApiProvider

    class SamAndCfnApiProvider(SamApiProvider):
        def extract_resources(self, stacks, collector, cwd=None, disable_authorizer=False):
            super().extract_resources(stacks, collector, cwd=cwd, disable_authorizer=disable_authorizer)
            CfnApiProvider().extract_resources(stacks, collector, cwd=cwd, disable_authorizer=disable_authorizer)

    api_provider.ApiProvider.find_api_provider = staticmethod(lambda stacks: SamAndCfnApiProvider())


class NotText:
    """The binary media types of an HTTP API: every type but text. An HTTP API has no
    binaryMediaTypes setting; it base64-encodes a request body that is not text. The SAM CLI's
    local HTTP API encodes only the types a REST API would list, so with none listed it decodes
    a picture as UTF-8 and answers 502. The rule here is compat/'s gateway stand-in's."""

    def __contains__(self, mimetype):
        mt = (mimetype or "").lower()
        text = mt.startswith("text/") or mt.endswith("+json") or mt in (
            "application/json", "application/x-www-form-urlencoded", "application/xml")
        return not text


def encode_binary_bodies():
    from samcli.local.apigw import local_apigw_service

    construct = local_apigw_service.construct_v2_event_http

    def construct_v2_event_http(*args, **kwargs):
        kwargs["binary_types"] = NotText()
        return construct(*args, **kwargs)

    local_apigw_service.construct_v2_event_http = construct_v2_event_http


def main():
    os.environ["SAM_CLI_TELEMETRY"] = "0"
    if sys.argv[1:3] == ["local", "start-api"]:
        read_both_route_kinds()
        encode_binary_bodies()
    if wants_host_network(sys.argv[1:]):
        from docker.models.containers import ContainerCollection

        create = ContainerCollection.create

        def create_on_host_network(self, image, command=None, **kwargs):
            return create(self, image, command, **host_network(kwargs))

        ContainerCollection.create = create_on_host_network
    from samcli.cli.main import cli

    sys.argv[0] = "sam"
    cli(prog_name="sam")


if __name__ == "__main__":
    main()
