#!/usr/bin/env bash
# Runs the amqp091-go v1.16.0 integration suite against a freshly started beatmq
# (bin/beatmq and bin/beatmqctl, built by `make build`), as
# ../shared/docs/interop-checklist.md describes, and counts the 96 broker-facing
# items: the Test* functions of the module's integration-tagged test files plus
# ExampleConnection_reconnect.
#
#   scripts/amqp091-suite.sh
#
# What it does:
#   1. makes a throw-away module (go mod init; go get -t amqp091-go@v1.16.0; never
#      go mod tidy, which would drop the unimported library);
#   2. checks that port 15672 is free (the suite hard-codes the management API at
#      http://localhost:15672, guest/guest), picks a free AMQP port on 127.0.0.1,
#      starts bin/beatmq --addr 127.0.0.1:PORT --mgmt-addr 127.0.0.1:15672 (no Prometheus listener) and waits
#      until both ports accept and `beatmqctl status` answers;
#   3. runs go test -count=1 -tags integration -timeout 30m -v on the suite with
#      AMQP_URL and RABBITMQ_RABBITMQCTL_PATH=bin/beatmqctl (its memory-alarm test
#      runs `set_vm_memory_high_watermark 0.0001`, then `... 0.4`);
#   4. stops the broker by its pid (also on error or interrupt), prints the failed,
#      skipped and missing items with their output, and ends with one line:
#         amqp091-go suite: N passed, N failed, N skipped
#      An item with no result (the test binary crashed or timed out first) counts
#      as failed. Exit status 0 only when all 96 passed and go test itself exited
#      0 (its goleak check at exit included); 1 otherwise; 2 when the suite could
#      not be run.
#
# Settings (environment):
#   BEATMQ_BIN, BEATMQCTL_BIN   binaries (default bin/beatmq, bin/beatmqctl)
#   BEATMQ_FLAGS                extra flags for bin/beatmq (word-split); default
#                               --product RabbitMQ: three of the suite's tests
#                               (nack-multiple-requeue, TTL-get, recover requeue=false)
#                               assert, and close their connections, only when the
#                               server calls itself RabbitMQ; with it they test beatmq
#                               and the suite's goleak check at exit stays clean
#   BEATMQ_ADDR_FLAG            the flag naming the AMQP listen address (default --addr)
#   SUITE_OUT_DIR               where suite.log and beatmq.log go (default: a new /tmp dir)
#   SUITE_TIMEOUT               go test -timeout (default 30m)
#   SUITE_VERBOSE=1             stream the whole go test -v output, not just results
#   BEATMQ_START_TIMEOUT        seconds to wait for the broker (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SUITE_MODULE=github.com/rabbitmq/amqp091-go
SUITE_VERSION=v1.16.0
SUITE_ITEMS=96
MGMT_PORT=15672 # hard-coded in the suite's internal/utils/http.go

BEATMQ_BIN=${BEATMQ_BIN:-$ROOT/bin/beatmq}
BEATMQCTL_BIN=${BEATMQCTL_BIN:-$ROOT/bin/beatmqctl}
BEATMQ_FLAGS=${BEATMQ_FLAGS---product RabbitMQ}
BEATMQ_ADDR_FLAG=${BEATMQ_ADDR_FLAG:---addr}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-30m}
SUITE_VERBOSE=${SUITE_VERBOSE:-0}
BEATMQ_START_TIMEOUT=${BEATMQ_START_TIMEOUT:-30}
OUT_DIR=${SUITE_OUT_DIR:-}

log() { echo "amqp091-suite: $*" >&2; }

# not_run SHORT DETAIL explains why the suite did not run and exits 2.
not_run() {
  log "${2:-$1}"
  echo "amqp091-go suite: not run ($1)"
  exit 2
}

broker_pid=""
moddir=""
cleanup() {
  local status=$?
  stop_broker
  if [ -n "$moddir" ] && [ -d "$moddir" ]; then rm -rf "$moddir"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_broker stops the broker this script started, by its pid: TERM, then KILL
# after 10 s.
stop_broker() {
  [ -n "$broker_pid" ] || return 0
  if kill -0 "$broker_pid" 2>/dev/null; then
    kill -TERM "$broker_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$broker_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$broker_pid" 2>/dev/null; then
      log "beatmq (pid $broker_pid) did not stop within 10 s of SIGTERM; killing it"
      kill -KILL "$broker_pid" 2>/dev/null || true
    fi
  fi
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=""
}

# accepts HOST PORT succeeds when something accepts TCP connections there.
accepts() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# free_port prints a port on 127.0.0.1 that nothing accepts on.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if [ "$p" != "$MGMT_PORT" ] && ! accepts 127.0.0.1 "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# --- preconditions -------------------------------------------------------------
[ -x "$BEATMQ_BIN" ] || not_run "no broker binary" "$BEATMQ_BIN is missing: run 'make build' first"
[ -x "$BEATMQCTL_BIN" ] || not_run "no beatmqctl binary" "$BEATMQCTL_BIN is missing: run 'make build' first"
command -v go >/dev/null || not_run "no go command" "go is not on PATH"
for host in 127.0.0.1 ::1; do
  if accepts "$host" "$MGMT_PORT"; then
    not_run "port $MGMT_PORT in use" \
      "something already listens on [$host]:$MGMT_PORT. The suite hard-codes the management API at http://localhost:$MGMT_PORT, so beatmq must have that port: stop whatever listens there (a RabbitMQ node with its management plugin?) and run again."
  fi
done

OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/amqp091-suite.XXXXXX)}
mkdir -p "$OUT_DIR"
SUITE_LOG=$OUT_DIR/suite.log
BROKER_LOG=$OUT_DIR/beatmq.log

# --- the suite's module --------------------------------------------------------
moddir=$(mktemp -d /tmp/amqp091-suite-mod.XXXXXX)
log "fetching $SUITE_MODULE@$SUITE_VERSION into a scratch module ($moddir)"
if ! (cd "$moddir" && go mod init example.com/interop >/dev/null 2>&1 &&
  timeout 600 go get -t "$SUITE_MODULE@$SUITE_VERSION") >"$OUT_DIR/go-get.log" 2>&1; then
  cat "$OUT_DIR/go-get.log" >&2
  not_run "go get failed" "could not fetch $SUITE_MODULE@$SUITE_VERSION (see above)"
fi
srcdir=$(cd "$moddir" && go list -m -f '{{.Dir}}' "$SUITE_MODULE")

# The broker-facing items: Test* functions of the integration-tagged test files,
# and the reconnect example.
mapfile -t items < <(
  for f in "$srcdir"/*_test.go; do
    if grep -q '^//go:build integration' "$f"; then
      sed -n 's/^func \(Test[A-Za-z0-9_]*\)(.*/\1/p' "$f"
    fi
  done | grep -vx 'TestMain' | sort -u
  echo ExampleConnection_reconnect
)
if [ "${#items[@]}" -ne "$SUITE_ITEMS" ]; then
  log "warning: found ${#items[@]} broker-facing items in $srcdir, expected $SUITE_ITEMS"
fi

# Compile the test binary now, so the broker does not wait on the compiler and a
# build failure is reported as such.
log "building the suite"
if ! (cd "$moddir" && timeout 900 go test -count=1 -tags integration -run '^$' "$SUITE_MODULE") >"$OUT_DIR/build.log" 2>&1; then
  cat "$OUT_DIR/build.log" >&2
  not_run "build failed" "the suite does not build (see above)"
fi

# --- the broker ------------------------------------------------------------------
amqp_port=""
for attempt in 1 2 3; do
  amqp_port=$(free_port) || not_run "no free port" "found no free TCP port on 127.0.0.1"
  log "starting $BEATMQ_BIN on 127.0.0.1:$amqp_port, management API on 127.0.0.1:$MGMT_PORT (attempt $attempt)"
  # shellcheck disable=SC2086 # BEATMQ_FLAGS is word-split on purpose
  "$BEATMQ_BIN" "$BEATMQ_ADDR_FLAG" "127.0.0.1:$amqp_port" --mgmt-addr "127.0.0.1:$MGMT_PORT" --prometheus-addr "" \
    --data-dir "$OUT_DIR/data-$attempt" $BEATMQ_FLAGS \
    >>"$BROKER_LOG" 2>&1 </dev/null &
  broker_pid=$!
  ready=0
  deadline=$((SECONDS + BEATMQ_START_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$broker_pid" 2>/dev/null; then
      break # exited: perhaps the port was taken after all; try another
    fi
    if accepts 127.0.0.1 "$amqp_port" && accepts 127.0.0.1 "$MGMT_PORT" &&
      BEATMQ_MGMT_URL="http://127.0.0.1:$MGMT_PORT" BEATMQ_USER=guest BEATMQ_PASSWORD=guest \
        "$BEATMQCTL_BIN" -q -t 5 status 2>/dev/null | grep -q '^Product name: beatmq$'; then
      ready=1
      break
    fi
    sleep 0.2
  done
  [ "$ready" = 1 ] && break
  if kill -0 "$broker_pid" 2>/dev/null; then
    stop_broker
    tail -n 30 "$BROKER_LOG" >&2 || true
    not_run "broker not ready" "beatmq did not accept AMQP on 127.0.0.1:$amqp_port and answer beatmqctl status on 127.0.0.1:$MGMT_PORT within ${BEATMQ_START_TIMEOUT}s; its log is above and in $BROKER_LOG"
  fi
  wait "$broker_pid" 2>/dev/null && code=0 || code=$?
  broker_pid=""
  log "beatmq exited with status $code before it was ready:"
  tail -n 10 "$BROKER_LOG" >&2 || true
  if accepts 127.0.0.1 "$MGMT_PORT"; then
    not_run "port $MGMT_PORT in use" "port $MGMT_PORT was taken by another process while beatmq started"
  fi
done
[ "$ready" = 1 ] || not_run "broker did not start" "beatmq did not start in 3 attempts; see $BROKER_LOG"
log "beatmq is ready (pid $broker_pid)"

# --- the suite -------------------------------------------------------------------
log "running the suite (go test -timeout $SUITE_TIMEOUT); full output in $SUITE_LOG"
set +e
(
  cd "$moddir" &&
    AMQP_URL="amqp://guest:guest@127.0.0.1:$amqp_port/" \
      RABBITMQ_RABBITMQCTL_PATH="$BEATMQCTL_BIN" \
      BEATMQ_MGMT_URL="http://127.0.0.1:$MGMT_PORT" BEATMQ_USER=guest BEATMQ_PASSWORD=guest \
      timeout --foreground --kill-after=60s 40m \
      go test -count=1 -tags integration -timeout "$SUITE_TIMEOUT" -v "$SUITE_MODULE"
) 2>&1 | if [ "$SUITE_VERBOSE" = 1 ]; then tee "$SUITE_LOG"; else
  # Only the results of the broker-facing items, and how the run ended.
  tee "$SUITE_LOG" | grep --line-buffered -E \
    "^(--- (PASS|FAIL|SKIP): ($(IFS='|'; echo "${items[*]}")) \\(|panic: |FAIL|ok )" || true
fi
go_status=${PIPESTATUS[0]}
set -e

broker_died=""
if ! kill -0 "$broker_pid" 2>/dev/null; then
  broker_died="beatmq (pid $broker_pid) exited during the run; see $BROKER_LOG"
fi
stop_broker

# --- counting ----------------------------------------------------------------------
declare -A result
while read -r status name; do
  result[$name]=$status
done < <(grep -oE -- '--- (PASS|FAIL|SKIP): [A-Za-z0-9_]+ \(' "$SUITE_LOG" | sed -E 's/^--- ([A-Z]+): ([A-Za-z0-9_]+) \($/\1 \2/')

# The items in the order they ran, then those that never started.
mapfile -t ordered < <(
  {
    sed -n 's/^=== RUN   \([A-Za-z0-9_]*\)$/\1/p' "$SUITE_LOG" | grep -xF -f <(printf '%s\n' "${items[@]}")
    printf '%s\n' "${items[@]}"
  } | awk '!seen[$0]++'
)

passed=0 failed=0 skipped=0
failed_names=() skipped_names=() missing_names=()
for name in "${ordered[@]}"; do
  case "${result[$name]:-}" in
    PASS) passed=$((passed + 1)) ;;
    SKIP) skipped=$((skipped + 1)); skipped_names+=("$name") ;;
    FAIL) failed=$((failed + 1)); failed_names+=("$name") ;;
    *) failed=$((failed + 1)); missing_names+=("$name") ;;
  esac
done

# output_of NAME prints what the suite logged for one item (capped): its lines
# up to its result, and for an example the got/want that follow the result.
output_of() {
  awk -v name="$1" '
    n >= 80 { print "[... more in the full log]"; exit }
    after && /^(=== |--- |PASS$|FAIL|ok )/ { exit }
    $0 == "=== RUN   " name { on = 1 }
    on || after { print; n++ }
    on && index($0, "--- ") == 1 && index($0, ": " name " (") > 0 { on = 0; after = 1 }
  ' "$SUITE_LOG"
}

echo
if [ "${#failed_names[@]}" -gt 0 ]; then
  echo "Failed:"
  for n in "${failed_names[@]}"; do
    echo "--- $n"
    output_of "$n" | sed 's/^/    /'
  done
fi
if [ "${#skipped_names[@]}" -gt 0 ]; then
  echo "Skipped (the goal is none):"
  for n in "${skipped_names[@]}"; do
    echo "--- $n"
    output_of "$n" | grep -E 'SKIP|skipping|_test.go' | head -n 5 | sed 's/^/    /'
  done
fi
if [ "${#missing_names[@]}" -gt 0 ]; then
  echo "No result (counted as failed; did the test binary panic or time out before them?):"
  printf '    %s\n' "${missing_names[@]}"
  grep -m 3 -E '^(panic: |FAIL|\*\*\* Test killed)' "$SUITE_LOG" | sed 's/^/    last words: /' || true
fi
others=$(grep -oE -- '--- FAIL: [A-Za-z0-9_]+ \(' "$SUITE_LOG" | sed -E 's/^--- FAIL: ([A-Za-z0-9_]+) \($/\1/' |
  grep -vxF -f <(printf '%s\n' "${items[@]}") || true)
if [ -n "$others" ]; then
  echo "Also failed (not broker-facing, not counted): $(echo "$others" | tr '\n' ' ')"
fi
if [ "$go_status" -ne 0 ] && [ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]; then
  echo "Note: go test exited with status $go_status although all $SUITE_ITEMS items passed (goleak at exit, or a test outside the $SUITE_ITEMS?); see $SUITE_LOG"
fi
[ -z "$broker_died" ] || echo "Note: $broker_died"
echo "Logs: $SUITE_LOG, $BROKER_LOG"
echo "amqp091-go suite: $passed passed, $failed failed, $skipped skipped"

if [ "$failed" -gt 0 ] || [ "$skipped" -gt 0 ] || [ "$passed" -ne "$SUITE_ITEMS" ] || [ "$go_status" -ne 0 ]; then
  exit 1
fi
exit 0
