#!/usr/bin/env bash
# A container engine for the SAM CLI, and the local base image its functions run on.
#
#   .ci/engine.sh run -- COMMAND...   run COMMAND with DOCKER_HOST pointing at an engine that answers
#   .ci/engine.sh base                build the base image on the engine DOCKER_HOST names
#
# When a Docker already answers (DOCKER_HOST, or the default socket), run only builds the base
# image on it and runs COMMAND. Otherwise it installs Debian's docker.io if dockerd is missing
# (apt-get, as root), starts a dockerd of its own (its socket, data root and exec root under
# ENGINE_DIR, default .aws-sam/engine: the folder sam build leaves out of its source checksum; vfs
# storage; no bridge and no iptables, since every container runs in the host's network), waits until it answers, builds the base, runs COMMAND, and stops the
# dockerd it started however COMMAND ends. The data root is kept, so the images built once (the
# base, and the image the SAM CLI adds its emulator to) are reused by the next run.
#
# The base image (BASE_IMAGE, default recognizer/lambda-base:busybox) is built FROM scratch with
# Debian's busybox-static: nothing is pulled, as there is no registry here. The SAM CLI builds each
# function's image FROM it, adding the Runtime Interface Emulator with `RUN mv ... && chmod +x ...`,
# which is why the base needs a shell. The functions' bootstraps are static, so no libc is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE_DIR=${ENGINE_DIR:-$PWD/.aws-sam/engine}
BASE_IMAGE=${BASE_IMAGE:-recognizer/lambda-base:busybox}
ENGINE_WAIT=${ENGINE_WAIT:-60}

say() { echo "engine: $*" >&2; }
fail() { say "$*"; exit 1; }

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
  command -v apt-get >/dev/null || fail "$1 is missing and there is no apt-get: install $2"
  [ "$(id -u)" = 0 ] || fail "$1 is missing: install $2 (apt-get install $2, as root)"
  say "installing $2 from Debian's packages"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$2" >/dev/null
}

busybox_static() {
  local f
  for f in /bin/busybox /usr/bin/busybox; do
    if [ -x "$f" ] && file -L "$f" 2>/dev/null | grep -q 'statically linked'; then echo "$f"; return; fi
  done
  # dpkg says where the package put it (busybox and busybox-static both install /bin/busybox).
  if dpkg -s busybox-static >/dev/null 2>&1; then echo /bin/busybox; return; fi
  return 1
}

build_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "base image $BASE_IMAGE is there"
    return
  fi
  local bb ctx
  bb=$(busybox_static) || { apt_install busybox-static busybox-static; bb=$(busybox_static); } || fail "no static busybox"
  ctx=$(mktemp -d)
  cp "$bb" "$ctx/busybox"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /var/task /var/runtime /opt /usr/bin && chmod 1777 /tmp"]
ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin
EOF
  say "building base image $BASE_IMAGE FROM scratch with $bb (nothing pulled)"
  DOCKER_BUILDKIT=0 docker build -q -t "$BASE_IMAGE" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; fail "the base image did not build"; }
  rm -rf "$ctx"
}

DOCKERD_PID=
stop_engine() {
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    say "stopping the dockerd it started (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID"
    for _ in $(seq 1 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
    kill -9 "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
  # dockerd leaves its default network namespace mounted, which would keep the folder busy.
  local ns="$ENGINE_DIR/exec/netns/default"
  if grep -q " $ns " /proc/mounts; then umount "$ns" || true; fi
}

start_engine() {
  command -v dockerd >/dev/null || apt_install dockerd docker.io
  [ "$(id -u)" = 0 ] || fail "no Docker answers and starting dockerd needs root: start one and set DOCKER_HOST"
  mkdir -p "$ENGINE_DIR/data" "$ENGINE_DIR/exec"
  local sock="$ENGINE_DIR/docker.sock"
  export DOCKER_HOST="unix://$sock"
  say "no Docker answers: starting dockerd (socket $sock, data $ENGINE_DIR/data, log $ENGINE_DIR/dockerd.log)"
  dockerd --host "$DOCKER_HOST" --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
    --pidfile "$ENGINE_DIR/dockerd.pid" --storage-driver vfs --bridge none --iptables=false \
    --ip-masq=false --ip-forward=false >"$ENGINE_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  trap stop_engine EXIT
  trap 'exit 130' INT TERM
  for _ in $(seq 1 "$ENGINE_WAIT"); do
    answers && { say "dockerd $(docker version --format '{{.Server.Version}}') answers"; return; }
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -20 "$ENGINE_DIR/dockerd.log" >&2; fail "dockerd exited"; }
    sleep 1
  done
  tail -20 "$ENGINE_DIR/dockerd.log" >&2
  fail "dockerd did not answer within ${ENGINE_WAIT}s"
}

command -v docker >/dev/null || apt_install docker docker.io
case "${1:-}" in
  base)
    answers || fail "no Docker answers at ${DOCKER_HOST:-the default socket}"
    build_base
    ;;
  run)
    shift
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || fail "usage: $0 run -- COMMAND..."
    # A socket this script left behind (its dockerd was killed) answers nothing; reuse it if it does.
    if [ -z "${DOCKER_HOST:-}" ] && [ -S "$ENGINE_DIR/docker.sock" ]; then
      DOCKER_HOST="unix://$ENGINE_DIR/docker.sock" answers && export DOCKER_HOST="unix://$ENGINE_DIR/docker.sock"
    fi
    if answers; then
      say "a Docker answers at ${DOCKER_HOST:-the default socket}: using it"
    else
      start_engine
    fi
    build_base
    "$@"
    ;;
  *)
    fail "usage: $0 run -- COMMAND... | $0 base"
    ;;
esac
