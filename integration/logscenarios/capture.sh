#!/usr/bin/env bash
# Regenerates the logs `beatmqctl inspect-log` is tested on: runs the scenarios
# of integration/logscenarios against a private RabbitMQ 3.10.8 node (started
# and stopped by scripts/rabbitmq-node.sh, free ports, its own directory) and
# against beatmq (text and JSON logs, free ports, no data directory), then
# writes into OUT (default cmd/beatmqctl/testdata):
#
#   rabbitmq-3.10.8.log             the node's whole log, start to stop
#   beatmq.log, beatmq.json.log     beatmq's logs of the same scenarios
#   rotated/wtlogs@localhost.log.1.gz, rotated/wtlogs@localhost.log
#                                   the RabbitMQ log cut in two inside the
#                                   logscen-hb1 connection, the older part gzipped
#
# The Erlang cookie hash the node prints at boot is blanked. Takes about 40 s.
# Usage: integration/logscenarios/capture.sh   (from the repository root)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/cmd/beatmqctl/testdata}
work=$(mktemp -d /tmp/logscenarios.XXXXXX)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

cd "$root"
go build -o "$work/beatmq" ./cmd/beatmq
go build -o "$work/logscenarios" ./integration/logscenarios

# RabbitMQ, private node.
export RMQ_PORT=$(freeport) RMQ_DIST_PORT=$(freeport) RMQ_NODENAME=wtlogs@localhost RMQ_DIR=$work/rabbitmq
bash scripts/rabbitmq-node.sh start >/dev/null
trap 'bash scripts/rabbitmq-node.sh stop || true' EXIT
"$work/logscenarios" --addr "127.0.0.1:$RMQ_PORT"
bash scripts/rabbitmq-node.sh stop
trap - EXIT

# beatmq, text and JSON, side by side.
p1=$(freeport) p2=$(freeport)
"$work/beatmq" --data-dir '' --mgmt-addr '' --prometheus-addr '' --addr "127.0.0.1:$p1" --log-file "$work/beatmq.log" >/dev/null 2>&1 &
b1=$!
"$work/beatmq" --data-dir '' --mgmt-addr '' --prometheus-addr '' --addr "127.0.0.1:$p2" --log-format json --log-file "$work/beatmq.json.log" >/dev/null 2>&1 &
b2=$!
trap 'kill "$b1" "$b2" 2>/dev/null || true' EXIT
sleep 0.5
"$work/logscenarios" --addr "127.0.0.1:$p1" &
s1=$!
"$work/logscenarios" --addr "127.0.0.1:$p2" &
s2=$!
wait "$s1"
wait "$s2"
kill -INT "$b1" "$b2"
wait "$b1" "$b2" || true
trap - EXIT

mkdir -p "$out/rotated"
sed 's/cookie hash    : .*/cookie hash    : (removed from the test data)/' \
  "$RMQ_DIR/log/$RMQ_NODENAME.log" >"$out/rabbitmq-3.10.8.log"
cp "$work/beatmq.log" "$work/beatmq.json.log" "$out/"
cut=$(grep -n 'has a client-provided name: logscen-hb1' "$out/rabbitmq-3.10.8.log" | cut -d: -f1)
head -n "$cut" "$out/rabbitmq-3.10.8.log" | gzip -9 -n >"$out/rotated/wtlogs@localhost.log.1.gz"
tail -n +"$((cut + 1))" "$out/rabbitmq-3.10.8.log" >"$out/rotated/wtlogs@localhost.log"
rm -rf "$work"
echo "logs written to $out"
