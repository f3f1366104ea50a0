#!/usr/bin/env python3
"""Checks .ci/sam.py's changes to the SAM CLI's requests, without Docker: a function container
moves onto the host's network with its emulator on the port the SAM CLI picked and a Runtime API
of its own; anything else is left as the SAM CLI asked; bodies are encoded as an HTTP API does.
make sam-local runs it first; the end-to-end proof is make sam-local itself."""
import importlib.util
import os
import sys

spec = importlib.util.spec_from_file_location("samlauncher", os.path.join(os.path.dirname(__file__), "sam.py"))
sam = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sam)

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
os.environ.pop("AWS_ENDPOINT_URL_S3", None)
rie = ["/var/rapid/aws-lambda-rie", "--log-level", "error"]
fn = {"entrypoint": rie, "ports": {"8080": ("127.0.0.1", 5123)}, "environment": {"A": "1"}, "network": "bridge"}
got = sam.host_network(dict(fn))
check(got.get("network_mode") == "host", "a function container is not put on the host's network")
check("ports" not in got and "network" not in got, "port bindings or a network are left on a host-network container")
check(got["entrypoint"][:3] == rie, "the emulator's own arguments are lost")
args = got["entrypoint"][3:]
check(args[:2] == ["--runtime-interface-emulator-address", "127.0.0.1:5123"], f"the emulator does not listen where the SAM CLI calls it: {args}")
check(len(args) == 4 and args[2] == "--runtime-api-address" and args[3].startswith("127.0.0.1:") and args[3] != "127.0.0.1:9001",
      f"the Runtime API is not on a loopback port of its own: {args}")
check(got["environment"] == {"A": "1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, f"the function's environment: {got['environment']}")
check(fn["entrypoint"] == rie and "ports" in fn, "the SAM CLI's own arguments were changed in place")

other = {"entrypoint": ["/bin/sh"], "ports": {"8080": ("127.0.0.1", 5123)}}
check(sam.host_network(dict(other)) == other, "a container that is not a function's was changed")
check(sam.host_network({"ports": {}}) == {"ports": {}}, "a container without the emulator's port was changed")

check(sam.wants_host_network(["local", "invoke", "--docker-network", "host"]), "--docker-network host not seen")
check(sam.wants_host_network(["local", "invoke", "--docker-network=host"]), "--docker-network=host not seen")
check(not sam.wants_host_network(["local", "invoke", "--docker-network", "bridge"]), "another network taken for host")

binary = sam.NotText()
for mt in ["image/jpeg", "image/png", "multipart/form-data", "application/octet-stream", ""]:
    check(mt in binary, f"{mt!r} is not encoded")
for mt in ["text/plain", "application/json", "application/x-www-form-urlencoded", "application/xml", "application/problem+json", "TEXT/HTML"]:
    check(mt not in binary, f"{mt!r} is encoded")

if failures:
    print(".ci/sam.py self-test failed:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(".ci/sam.py self-test: function containers on the host's network, emulator addresses, endpoints passed on, others untouched; non-text bodies encoded")
