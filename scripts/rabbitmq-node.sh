#!/usr/bin/env bash
# Starts, stops and queries a private RabbitMQ node (Debian's rabbitmq-server) on
# loopback, with its own port, node name and directory, so it never touches a
# system node or another test's node.
#
#   scripts/rabbitmq-node.sh start   prints the node's OS pid on stdout once the AMQP
#                                    port accepts connections (exit 1 if it does not
#                                    within RMQ_START_TIMEOUT seconds; the node is then stopped)
#   scripts/rabbitmq-node.sh stop    stops the node whose pid is in RMQ_DIR/pid (by that pid)
#   scripts/rabbitmq-node.sh ctl ARGS...   runs rabbitmqctl -n NODE ARGS with the node's cookie
#   scripts/rabbitmq-node.sh env     prints the settings in KEY=VALUE form
#
# Settings (environment, or --key=value options before the command's arguments):
#   RMQ_PORT        AMQP port                       (default 5801)      --port=
#   RMQ_NODENAME    Erlang node name                (default interop@localhost) --name=
#   RMQ_DIR         data, log and pid directory     (default /tmp/rabbitmq-$RMQ_NODENAME) --dir=
#   RMQ_DIST_PORT   Erlang distribution port        (default RMQ_PORT+20000) --dist-port=
#   RMQ_MGMT_PORT   enable the management plugin on this port (default: plugin off) --mgmt-port=
#   RMQ_PROM_PORT   enable the rabbitmq_prometheus plugin on this port (default: plugin off) --prom-port=
#   RMQ_IP          address the AMQP listener binds (default 127.0.0.1; the dead-peer
#                   test uses a bridge address it made for its network namespaces)
#   RMQ_GUEST_LOOPBACK  false lets guest log in from other addresses (default true)
#   RMQ_START_TIMEOUT  seconds to wait for the AMQP port (default 90)
#   RMQ_CONF        extra lines appended to the node's rabbitmq.conf
#   RMQ_WATCH_PID   stop the node when this process is gone (a test run that dies
#                   must not leave its node behind)
# The node's log is RMQ_DIR/log/RMQ_NODENAME.log (RabbitMQ's own text format).
set -euo pipefail

cmd=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
  case "$1" in
    --port=*) RMQ_PORT=${1#*=} ;;
    --name=*) RMQ_NODENAME=${1#*=} ;;
    --dir=*) RMQ_DIR=${1#*=} ;;
    --dist-port=*) RMQ_DIST_PORT=${1#*=} ;;
    --mgmt-port=*) RMQ_MGMT_PORT=${1#*=} ;;
    --prom-port=*) RMQ_PROM_PORT=${1#*=} ;;
    *) break ;;
  esac
  shift
done

RMQ_PORT=${RMQ_PORT:-5801}
RMQ_NODENAME=${RMQ_NODENAME:-interop@localhost}
RMQ_DIR=${RMQ_DIR:-/tmp/rabbitmq-$RMQ_NODENAME}
RMQ_DIST_PORT=${RMQ_DIST_PORT:-$((RMQ_PORT + 20000))}
RMQ_MGMT_PORT=${RMQ_MGMT_PORT:-}
RMQ_PROM_PORT=${RMQ_PROM_PORT:-}
RMQ_IP=${RMQ_IP:-127.0.0.1}
RMQ_GUEST_LOOPBACK=${RMQ_GUEST_LOOPBACK:-true}
RMQ_START_TIMEOUT=${RMQ_START_TIMEOUT:-90}
RMQ_BIN=${RMQ_BIN:-/usr/lib/rabbitmq/bin}

# Everything the node and its CLI tools read; HOME holds the Erlang cookie that
# the node and rabbitmqctl share.
node_env() {
  export HOME="$RMQ_DIR"
  export RABBITMQ_NODENAME="$RMQ_NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS="$RMQ_IP"
  export RABBITMQ_NODE_PORT="$RMQ_PORT"
  export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT=${ERL_EPMD_PORT:-4369}
  # Exec the VM in place of the script (no signal-proxy shell), so the pid we
  # print is the VM's own and SIGTERM to it is a graceful stop.
  export RUNNING_UNDER_SYSTEMD=true
  unset NOTIFY_SOCKET
}

port_open() {
  (exec 3<>"/dev/tcp/$RMQ_IP/$1") 2>/dev/null
}

case "$cmd" in
  start)
    if [ -f "$RMQ_DIR/pid" ] && kill -0 "$(cat "$RMQ_DIR/pid")" 2>/dev/null; then
      echo "rabbitmq-node: a node is already running from $RMQ_DIR (pid $(cat "$RMQ_DIR/pid"))" >&2
      exit 1
    fi
    if port_open "$RMQ_PORT"; then
      echo "rabbitmq-node: port $RMQ_PORT is already in use" >&2
      exit 1
    fi
    mkdir -p "$RMQ_DIR/log" "$RMQ_DIR/mnesia"
    chmod 700 "$RMQ_DIR"
    [ -f "$RMQ_DIR/.erlang.cookie" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RMQ_DIR/.erlang.cookie"; chmod 400 "$RMQ_DIR/.erlang.cookie"; }
    : >"$RMQ_DIR/rabbitmq-env.conf"
    {
      echo "listeners.tcp.default = $RMQ_IP:$RMQ_PORT"
      echo "loopback_users.guest = $RMQ_GUEST_LOOPBACK"
      echo "log.file.level = info"
      echo "log.console = false"
      if [ -n "$RMQ_MGMT_PORT" ]; then
        echo "management.tcp.ip = 127.0.0.1"
        echo "management.tcp.port = $RMQ_MGMT_PORT"
      fi
      if [ -n "$RMQ_PROM_PORT" ]; then
        echo "prometheus.tcp.ip = 127.0.0.1"
        echo "prometheus.tcp.port = $RMQ_PROM_PORT"
      fi
      [ -z "${RMQ_CONF:-}" ] || printf '%s\n' "$RMQ_CONF"
    } >"$RMQ_DIR/rabbitmq.conf"
    echo "[]." >"$RMQ_DIR/advanced.config"
    plugins=()
    [ -z "$RMQ_MGMT_PORT" ] || plugins+=(rabbitmq_management)
    [ -z "$RMQ_PROM_PORT" ] || plugins+=(rabbitmq_prometheus)
    (IFS=,; echo "[${plugins[*]}].") >"$RMQ_DIR/enabled_plugins"
    node_env
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
    cd "$RMQ_DIR"
    nohup "$RMQ_BIN/rabbitmq-server" </dev/null >"$RMQ_DIR/log/startup.out" 2>&1 &
    pid=$!
    echo "$pid" >"$RMQ_DIR/pid"
    deadline=$((SECONDS + RMQ_START_TIMEOUT))
    until port_open "$RMQ_PORT"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "rabbitmq-node: the node exited during startup; see $RMQ_DIR/log" >&2
        tail -20 "$RMQ_DIR/log/startup.out" >&2 || true
        exit 1
      fi
      if [ $SECONDS -ge $deadline ]; then
        echo "rabbitmq-node: port $RMQ_PORT not open after ${RMQ_START_TIMEOUT}s; stopping pid $pid" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
      fi
      sleep 0.2
    done
    if [ -n "${RMQ_WATCH_PID:-}" ]; then
      # A detached watcher: stops this node (by its pid) once the watched process exits.
      nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        if kill -0 "$2" 2>/dev/null; then kill -TERM "$2"; fi' rabbitmq-node-watch "$RMQ_WATCH_PID" "$pid" \
        </dev/null >/dev/null 2>&1 &
    fi
    echo "$pid"
    ;;
  stop)
    [ -f "$RMQ_DIR/pid" ] || { echo "rabbitmq-node: no pid file in $RMQ_DIR" >&2; exit 0; }
    pid=$(cat "$RMQ_DIR/pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "rabbitmq-node: pid $pid still running after 30s, sending KILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$RMQ_DIR/pid"
    ;;
  ctl)
    node_env
    exec "$RMQ_BIN/rabbitmqctl" -q -n "$RMQ_NODENAME" "$@"
    ;;
  env)
    echo "RMQ_PORT=$RMQ_PORT"
    echo "RMQ_NODENAME=$RMQ_NODENAME"
    echo "RMQ_DIR=$RMQ_DIR"
    echo "RMQ_DIST_PORT=$RMQ_DIST_PORT"
    echo "RMQ_MGMT_PORT=$RMQ_MGMT_PORT"
    echo "RMQ_PROM_PORT=$RMQ_PROM_PORT"
    echo "RMQ_IP=$RMQ_IP"
    echo "RMQ_LOG=$RMQ_DIR/log/$RMQ_NODENAME.log"
    ;;
  *)
    sed -n '2,26p' "$0" >&2
    exit 2
    ;;
esac
