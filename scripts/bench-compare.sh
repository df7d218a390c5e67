#!/usr/bin/env bash
# Side-by-side benchmark of beatmq and RabbitMQ (Debian's rabbitmq-server) on
# loopback, as described in BENCHMARKS.md: idle connections, dead-peer
# detection, throughput and heartbeats under load. Both brokers run at once on
# free ports; bin/beatbench alternates them run by run (RabbitMQ, beatmq,
# RabbitMQ, beatmq, ...) and reports medians and beatmq ÷ RabbitMQ ratios. Idle
# runs start each broker afresh (RabbitMQ with a new data directory) so that
# memory growth is measured from a clean start. The table is printed and written
# into BENCHMARKS.md between the bench-compare markers (text outside them is
# kept).
#
#   scripts/bench-compare.sh [options]        (make bench-compare: after make build)
#   Takes 30-45 minutes with 3 runs: RabbitMQ alone may need minutes to accept
#   10,000 connections at T = 1 s on 2 cores.
#     --runs N          runs per broker and measurement (default 3)
#     --max             also try 100,000 idle connections on beatmq alone
#     --quick           short durations and one run: a smoke test of the setup
#     --only LIST       comma-separated steps: idle-1k,idle-10k,detect-100,detect-10k,
#                       tp-16,tp-16-ca,tp-4k,tp-4k-ca,underload,idle-max
#     --brokers LIST    beatmq,rabbitmq (default both; one alone gives no ratios)
#     --out FILE        where to write the table (default BENCHMARKS.md; - = nowhere)
#
# Environment: BEATMQ_BIN (default bin/beatmq), BEATBENCH_BIN (default: build
# bin/beatbench), BEATMQ_ARGS (extra broker flags; the management listener is
# off, as RabbitMQ's plugin is), BENCH_KEEP=1 keeps the work directory (broker
# logs, results.jsonl). Needs ss(8) and scripts/rabbitmq-node.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# ---- restart hooks, called by beatbench (--restart) with the state exported below
if [ "${1:-}" = "__restart" ]; then
  : "${BENCH_WORK:?}"
  case "${2:-}" in
    beatmq)
      pid_file="$BENCH_WORK/beatmq.pid"
      if [ -f "$pid_file" ]; then
        pid=$(cat "$pid_file")
        if kill -0 "$pid" 2>/dev/null; then
          kill -TERM "$pid" 2>/dev/null || true
          for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
          kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file"
      fi
      ulimit -n "$(ulimit -Hn)"
      # shellcheck disable=SC2086
      rm -rf "$BENCH_WORK/beatmq-data"
      nohup "$BEATMQ_BIN" --addr "127.0.0.1:$BEATMQ_PORT" --mgmt-addr= --data-dir "$BENCH_WORK/beatmq-data" \
        ${BEATMQ_ARGS:-} </dev/null >>"$BENCH_WORK/beatmq.log" 2>&1 &
      pid=$!
      echo "$pid" >"$pid_file"
      for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$BEATMQ_PORT") 2>/dev/null; then echo "$pid"; exit 0; fi
        kill -0 "$pid" 2>/dev/null || { echo "bench-compare: beatmq exited at startup; see $BENCH_WORK/beatmq.log" >&2; tail -5 "$BENCH_WORK/beatmq.log" >&2; exit 1; }
        sleep 0.1
      done
      echo "bench-compare: beatmq did not listen on $BEATMQ_PORT within 30s" >&2
      exit 1
      ;;
    rabbitmq)
      # A new node directory every time: RSS is only meaningful from a fresh start.
      if [ -f "$BENCH_WORK/rmq.dir" ]; then
        old=$(cat "$BENCH_WORK/rmq.dir")
        RMQ_DIR="$old" bash "$ROOT/scripts/rabbitmq-node.sh" stop >&2 || true
        rm -rf "$old"
      fi
      n=$(( $(cat "$BENCH_WORK/rmq.count" 2>/dev/null || echo 0) + 1 ))
      echo "$n" >"$BENCH_WORK/rmq.count"
      dir="$BENCH_WORK/rmq-$n"
      echo "$dir" >"$BENCH_WORK/rmq.dir"
      RMQ_DIR="$dir" RMQ_PORT="$RMQ_PORT" RMQ_DIST_PORT="$RMQ_DIST_PORT" RMQ_NODENAME="$RMQ_NODENAME" \
        exec bash "$ROOT/scripts/rabbitmq-node.sh" start
      ;;
    *) echo "bench-compare: __restart beatmq|rabbitmq" >&2; exit 2 ;;
  esac
fi

RUNS=3 MAX=0 QUICK=0 ONLY="" BROKERS="beatmq,rabbitmq" OUT=BENCHMARKS.md
CMDLINE="scripts/bench-compare.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift ;;
    --runs=*) RUNS=${1#*=} ;;
    --max) MAX=1 ;;
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --brokers) BROKERS=$2; shift ;;
    --brokers=*) BROKERS=${1#*=} ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "bench-compare: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$QUICK" = 1 ] && RUNS=1
has_broker() { [[ ",$BROKERS," == *",$1,"* ]]; }

export BEATMQ_BIN=${BEATMQ_BIN:-$ROOT/bin/beatmq}
if [ -n "${BEATBENCH_BIN:-}" ]; then
  BEATBENCH=$BEATBENCH_BIN
else
  BEATBENCH=$ROOT/bin/beatbench
  go build -o "$BEATBENCH" ./cmd/beatbench # cheap, and never a stale tool
fi
if has_broker beatmq && [ ! -x "$BEATMQ_BIN" ]; then
  echo "bench-compare: $BEATMQ_BIN not found (run make build)" >&2
  exit 1
fi
if has_broker rabbitmq && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
  echo "bench-compare: rabbitmq-server is not installed (WITH_RABBITMQ=1 scripts/install-deps.sh)" >&2
  exit 1
fi

# Ports below the ephemeral range (32768+), so that no client socket holds one
# when a broker restarts.
listening() { ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
TAKEN=" "
free_port() {
  local p
  for _ in $(seq 1 500); do
    p=$((15000 + RANDOM % 5000))
    if [[ "$TAKEN" != *" $p "* ]] && ! listening "$p"; then TAKEN+="$p "; echo "$p"; return 0; fi
  done
  echo "bench-compare: no free port found" >&2
  return 1
}

export BENCH_WORK
BENCH_WORK=$(mktemp -d /tmp/bench-compare.XXXXXX)
export BEATMQ_PORT RMQ_PORT RMQ_DIST_PORT RMQ_NODENAME BEATMQ_ARGS="${BEATMQ_ARGS:-}"
free_port >"$BENCH_WORK/port"; BEATMQ_PORT=$(cat "$BENCH_WORK/port")
free_port >"$BENCH_WORK/port"; RMQ_PORT=$(cat "$BENCH_WORK/port")
free_port >"$BENCH_WORK/port"; RMQ_DIST_PORT=$(cat "$BENCH_WORK/port")
RMQ_NODENAME="bench$$@localhost"

cleanup() {
  set +e
  if [ -f "$BENCH_WORK/beatmq.pid" ]; then
    pid=$(cat "$BENCH_WORK/beatmq.pid")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  if [ -f "$BENCH_WORK/rmq.dir" ]; then
    RMQ_DIR=$(cat "$BENCH_WORK/rmq.dir") bash "$ROOT/scripts/rabbitmq-node.sh" stop >/dev/null 2>&1
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench-compare: work directory kept: $BENCH_WORK" >&2
  else
    rm -rf "$BENCH_WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench-compare $(date +%H:%M:%S) $*" >&2; }

TARGETS=() RESTARTS=()
if has_broker rabbitmq; then
  say "starting RabbitMQ on 127.0.0.1:$RMQ_PORT (node $RMQ_NODENAME)"
  rmq_pid=$(bash "$0" __restart rabbitmq)
  say "RabbitMQ pid $rmq_pid"
  TARGETS+=(--target "rabbitmq=amqp://guest:guest@127.0.0.1:$RMQ_PORT/")
  RESTARTS+=(--restart "rabbitmq=bash '$ROOT/scripts/bench-compare.sh' __restart rabbitmq")
fi
if has_broker beatmq; then
  say "starting beatmq on 127.0.0.1:$BEATMQ_PORT"
  beatmq_pid=$(bash "$0" __restart beatmq)
  say "beatmq pid $beatmq_pid"
  TARGETS+=(--target "beatmq=amqp://guest:guest@127.0.0.1:$BEATMQ_PORT/")
  RESTARTS+=(--restart "beatmq=bash '$ROOT/scripts/bench-compare.sh' __restart beatmq")
fi
[ ${#TARGETS[@]} -gt 0 ] || { echo "bench-compare: --brokers names neither beatmq nor rabbitmq" >&2; exit 2; }

# Durations (BENCHMARKS.md), shortened by --quick.
IDLE_D=30s TP_D=10s UL_D=20s
[ "$QUICK" = 1 ] && IDLE_D=10s TP_D=5s UL_D=10s

# name|title|beatbench arguments (fresh brokers for idle)
STEPS=(
  "idle-1k|idle N=1,000|idle -n 1000 -d $IDLE_D --heartbeat 1s FRESH"
  "idle-10k|idle N=10,000|idle -n 10000 -d $IDLE_D --heartbeat 1s FRESH"
  "detect-100|detect N=100|detect -n 100 --heartbeat 2s"
  "detect-10k|detect N=10,000|detect -n 10000 --heartbeat 2s"
  "tp-16|throughput 16 B plain|throughput -s 16 -d $TP_D"
  "tp-16-ca|throughput 16 B confirms+acks|throughput -s 16 -d $TP_D --confirms --acks"
  "tp-4k|throughput 4 KiB plain|throughput -s 4096 -d $TP_D"
  "tp-4k-ca|throughput 4 KiB confirms+acks|throughput -s 4096 -d $TP_D --confirms --acks"
  "underload|underload T=1s|underload --heartbeat 1s -d $UL_D"
)
[ "$MAX" = 1 ] && STEPS+=("idle-max|idle N=100,000 (beatmq alone)|idle -n 100000 -d $IDLE_D --heartbeat 1s FRESH BEATMQ_ONLY")

selected=()
for s in "${STEPS[@]}"; do
  name=${s%%|*}
  if [ -z "$ONLY" ] || [[ ",$ONLY," == *",$name,"* ]]; then selected+=("$s"); fi
done
[ ${#selected[@]} -gt 0 ] || { echo "bench-compare: --only selects no step" >&2; exit 2; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$BENCH_WORK/results.jsonl"
: >"$RESULTS"
say "$(nproc) cores, open-file limit $(ulimit -Hn); ${#selected[@]} step(s), $RUNS run(s) each; logs in $BENCH_WORK"
i=0 failed=0
for s in "${selected[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name title args <<<"$s"
  extra=() targets=("${TARGETS[@]}")
  read -r -a argv <<<"$args"
  clean=()
  for a in "${argv[@]}"; do
    case "$a" in
      FRESH) extra+=("${RESTARTS[@]}") ;;
      BEATMQ_ONLY) targets=(--target "beatmq=amqp://guest:guest@127.0.0.1:$BEATMQ_PORT/")
                   extra=(--restart "beatmq=bash '$ROOT/scripts/bench-compare.sh' __restart beatmq") ;;
      *) clean+=("$a") ;;
    esac
  done
  if [[ "$args" == *BEATMQ_ONLY* ]] && ! has_broker beatmq; then continue; fi
  runs=$RUNS
  [ "$name" = idle-max ] && runs=1
  [ "$i" -gt 1 ] && sleep 5 # let the previous step's teardown settle
  say "[$i/${#selected[@]}] $title, $runs run(s) per broker"
  if ! "$BEATBENCH" "${clean[@]}" "${targets[@]}" "${extra[@]}" --runs "$runs" \
      --json-out "$RESULTS" >"$BENCH_WORK/$name.out"; then
    failed=$((failed + 1))
    say "[$i/${#selected[@]}] $title: beatbench reported a failure (see the table)"
  fi
  grep -v '^{' "$BENCH_WORK/$name.out" >&2 || true
done

names=(--name "rabbitmq=RabbitMQ 3.10.8")
TABLE="$BENCH_WORK/table.md"
"$BEATBENCH" table "${names[@]}" "$RESULTS" >"$TABLE"
echo
cat "$TABLE"

if [ "$OUT" != "-" ]; then
  mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2/1024/1024}' /proc/meminfo)
  cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
  rmq_ver=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown)
  erl_ver=$(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null || echo unknown)
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
  GEN="$BENCH_WORK/section.md"
  {
    echo "<!-- bench-compare:begin — generated by scripts/bench-compare.sh; edits between the markers are overwritten -->"
    echo "## Latest run"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(nproc) cores ($cpu), $mem_gib GiB memory, Linux $(uname -r), open-file limit $(ulimit -Hn)"
    brokers=()
    has_broker beatmq && brokers+=("beatmq $rev$dirty ($(go version | awk '{print $3}'))")
    has_broker rabbitmq && brokers+=("RabbitMQ $rmq_ver, Erlang $erl_ver")
    echo "- Brokers (default settings): $(IFS=';'; echo "${brokers[*]}" | sed 's/;/; /g')"
    echo "- Command: \`$CMDLINE\` — $RUNS run(s) per broker, alternating (RabbitMQ, beatmq, RabbitMQ, …); figures are medians, the ratio is beatmq ÷ RabbitMQ"
    echo "- Load average (1, 5, 15 min) on the machine: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work shares the cores)"
    echo
    cat "$TABLE"
    echo
    echo "<!-- bench-compare:end -->"
  } >"$GEN"
  if [ -f "$OUT" ] && grep -q '<!-- bench-compare:begin' "$OUT"; then
    awk -v gen="$GEN" '
      /<!-- bench-compare:begin/ { while ((getline line < gen) > 0) print line; skip = 1; next }
      /<!-- bench-compare:end/ { skip = 0; next }
      !skip { print }' "$OUT" >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
  else
    { [ -f "$OUT" ] && cat "$OUT" && echo; cat "$GEN"; } >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
  fi
  say "table written to $OUT"
fi
[ "$failed" = 0 ]
