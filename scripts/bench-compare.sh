#!/usr/bin/env bash
# Side-by-side benchmark of beatmq and RabbitMQ (Debian's rabbitmq-server) on
# loopback, as described in BENCHMARKS.md: idle connections, dead-peer
# detection, throughput and heartbeats under load; persistent messages to a
# durable queue (a second beatmq with --sync write beside them), recovery
# after a restart, and on request bounded memory (flood, backlog). Both
# brokers run at once on free ports; bin/beatbench alternates them run by run (RabbitMQ, beatmq,
# RabbitMQ, beatmq, ...) and reports medians and beatmq ÷ RabbitMQ ratios. Idle
# runs start each broker afresh (RabbitMQ with a new data directory) so that
# memory growth is measured from a clean start. The tables are printed and
# written into BENCHMARKS.md: transient figures between the bench-compare
# markers, persistent and recovery figures between the bench-compare-persistent
# markers, flood and backlog figures between the bench-compare-bounded
# markers; a run rewrites only the sections it has figures for (text outside
# the markers is kept).
#
#   scripts/bench-compare.sh [options]        (make bench-compare: after make build)
#   Takes 60-90 minutes with 3 runs: RabbitMQ alone may need minutes to accept
#   10,000 connections at T = 1 s on 2 cores, and to fill and recover 1,000,000
#   persistent messages.
#     --runs N          runs per broker and measurement (default 3)
#     --max             also try 100,000 idle connections on beatmq alone
#     --quick           short durations and one run: a smoke test of the setup
#     --only LIST       comma-separated steps: idle-1k,idle-10k,detect-100,detect-10k,
#                       tp-16,tp-16-ca,tp-4k,tp-4k-ca,underload,idle-max,
#                       p-16,p-4k (persistent),rec-empty,rec-1m,rec-1k (recovery),
#                       flood-1k,flood-16,backlog (bounded memory)
#     --persistent      the persistent and recovery steps only (p-16,p-4k,rec-empty,rec-1m,rec-1k)
#     --flood           the bounded-memory flood steps (flood-1k, flood-16: a publisher flat
#                       out with confirms, a consumer at 2,000 msg/s, an idle watcher at T = 2 s;
#                       a fresh broker per run); not part of the default selection
#     --flood-duration D  how long each flood runs (default 60s; 10s with --quick)
#     --backlog N       the backlog step: N transient 16 B messages built with no consumer,
#                       then drained (a fresh broker per run); not part of the default selection
#     --backlog-max-time D  bound on each backlog phase (default 30m)
#     --brokers LIST    beatmq,rabbitmq (default both; one alone gives no ratios)
#     --out FILE        where to write the table (default BENCHMARKS.md; - = nowhere)
#
# Environment: BEATMQ_BIN (default bin/beatmq), BEATBENCH_BIN (default: build
# bin/beatbench), BEATMQ_ARGS (extra broker flags; the management listener is
# off, as RabbitMQ's plugin is), REC_TIMEOUT (bound on each recovery phase,
# filling, stopping, starting; default 10m: RabbitMQ is slow to fill and load a
# million messages), BENCH_KEEP=1 keeps the work directory (broker logs,
# results*.jsonl). Needs ss(8), scripts/rabbitmq-node.sh and, for the fdatasync
# counts, perf(1) (linux-perf; without it those figures are left out).
#
# Persistent steps: durable queue, delivery_mode 2, confirms and acks; both
# brokers confirm only after the fsync/fdatasync that covers the message
# (RabbitMQ's default, beatmq --sync data), and beatmq --sync write (confirm
# after write(2)) as a third target. Over each window beatbench reads the
# broker's /proc/PID/io (write_bytes: bytes it caused to be written to storage)
# and counts its fdatasync and fsync calls with perf record on two syscall
# tracepoints (every thread, negligible cost, in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# ---- broker hooks, called by beatbench (--restart, --stop, --start) with the
# state exported below. __restart starts a fresh broker (new data), __stop
# stops one keeping its data, __start starts it again on that data. Each
# start prints the pid last.
beatmq_stop() { # NAME
  local pid_file="$BENCH_WORK/$1.pid" pid
  if [ -f "$pid_file" ]; then
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
  fi
}
beatmq_start() { # NAME WAIT_SECONDS: beatmq on its port and data directory (beatmq-write: --sync write)
  local name=$1 port=$BEATMQ_PORT sync=() pid
  if [ "$name" = beatmq-write ]; then port=$BEATMQ_WRITE_PORT sync=(--sync write); fi
  ulimit -n "$(ulimit -Hn)"
  # shellcheck disable=SC2086
  nohup "$BEATMQ_BIN" --addr "127.0.0.1:$port" --mgmt-addr= --prometheus-addr= --data-dir "$BENCH_WORK/$name-data" "${sync[@]}" \
    ${BEATMQ_ARGS:-} </dev/null >>"$BENCH_WORK/$name.log" 2>&1 &
  pid=$!
  echo "$pid" >"$BENCH_WORK/$name.pid"
  for _ in $(seq 1 $(($2 * 10))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$pid"; exit 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "bench-compare: $name exited at startup; see $BENCH_WORK/$name.log" >&2; tail -5 "$BENCH_WORK/$name.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-compare: $name did not listen on $port within $2 s" >&2
  exit 1
}
rmq_node() { # start|stop on the current node directory
  RMQ_DIR="$(cat "$BENCH_WORK/rmq.dir")" RMQ_PORT="$RMQ_PORT" RMQ_DIST_PORT="$RMQ_DIST_PORT" RMQ_NODENAME="$RMQ_NODENAME" \
    RMQ_START_TIMEOUT="${RMQ_START_TIMEOUT:-900}" bash "$ROOT/scripts/rabbitmq-node.sh" "$1"
}
if [[ "${1:-}" == __* ]]; then
  : "${BENCH_WORK:?}"
  case "$1/${2:-}" in
    __restart/beatmq|__restart/beatmq-write)
      beatmq_stop "$2"
      rm -rf "$BENCH_WORK/$2-data"
      beatmq_start "$2" 30
      ;;
    __stop/beatmq|__stop/beatmq-write) beatmq_stop "$2"; exit 0 ;;
    __start/beatmq|__start/beatmq-write) beatmq_start "$2" 900 ;;
    __restart/rabbitmq)
      # A new node directory every time: RSS is only meaningful from a fresh start.
      if [ -f "$BENCH_WORK/rmq.dir" ]; then
        old=$(cat "$BENCH_WORK/rmq.dir")
        rmq_node stop >&2 || true
        rm -rf "$old"
      fi
      n=$(( $(cat "$BENCH_WORK/rmq.count" 2>/dev/null || echo 0) + 1 ))
      echo "$n" >"$BENCH_WORK/rmq.count"
      echo "$BENCH_WORK/rmq-$n" >"$BENCH_WORK/rmq.dir"
      RMQ_START_TIMEOUT=90 rmq_node start
      exit
      ;;
    __stop/rabbitmq) rmq_node stop >&2; exit 0 ;;
    __start/rabbitmq) rmq_node start; exit ;;
    *) echo "bench-compare: __restart|__stop|__start beatmq|beatmq-write|rabbitmq" >&2; exit 2 ;;
  esac
fi

PERSISTENT_STEPS=p-16,p-4k,rec-empty,rec-1m,rec-1k
RUNS=3 MAX=0 QUICK=0 ONLY="" BROKERS="beatmq,rabbitmq" OUT=BENCHMARKS.md
FLOOD_D="" BACKLOG_N=50000000 BACKLOG_MAX=30m
CMDLINE="scripts/bench-compare.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift ;;
    --runs=*) RUNS=${1#*=} ;;
    --max) MAX=1 ;;
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --persistent) ONLY=$PERSISTENT_STEPS ;;
    --flood) ONLY=${ONLY:+$ONLY,}flood-1k,flood-16 ;;
    --flood-duration) FLOOD_D=$2; shift ;;
    --flood-duration=*) FLOOD_D=${1#*=} ;;
    --backlog) BACKLOG_N=$2; ONLY=${ONLY:+$ONLY,}backlog; shift ;;
    --backlog=*) BACKLOG_N=${1#*=}; ONLY=${ONLY:+$ONLY,}backlog ;;
    --backlog-max-time) BACKLOG_MAX=$2; shift ;;
    --backlog-max-time=*) BACKLOG_MAX=${1#*=} ;;
    --brokers) BROKERS=$2; shift ;;
    --brokers=*) BROKERS=${1#*=} ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#*=} ;;
    -h|--help) sed -n '2,53p' "$0"; exit 0 ;;
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
export BEATMQ_PORT BEATMQ_WRITE_PORT RMQ_PORT RMQ_DIST_PORT RMQ_NODENAME BEATMQ_ARGS="${BEATMQ_ARGS:-}"
free_port >"$BENCH_WORK/port"; BEATMQ_PORT=$(cat "$BENCH_WORK/port")
free_port >"$BENCH_WORK/port"; BEATMQ_WRITE_PORT=$(cat "$BENCH_WORK/port")
free_port >"$BENCH_WORK/port"; RMQ_PORT=$(cat "$BENCH_WORK/port")
free_port >"$BENCH_WORK/port"; RMQ_DIST_PORT=$(cat "$BENCH_WORK/port")
RMQ_NODENAME="bench$$@localhost"

cleanup() {
  set +e
  for b in beatmq beatmq-write; do
    [ -f "$BENCH_WORK/$b.pid" ] || continue
    pid=$(cat "$BENCH_WORK/$b.pid")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
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

# Durations (BENCHMARKS.md), shortened by --quick.
IDLE_D=30s TP_D=10s UL_D=20s
[ "$QUICK" = 1 ] && IDLE_D=10s TP_D=5s UL_D=10s
REC_TIMEOUT=${REC_TIMEOUT:-10m}
REC_1M=1000000 REC_1K=1000
[ "$QUICK" = 1 ] && REC_1M=100000 REC_1K=100
if [ -z "$FLOOD_D" ]; then FLOOD_D=60s; [ "$QUICK" = 1 ] && FLOOD_D=10s; fi

# With perf, fdatasync and fsync calls are counted in the persistent steps.
SYNCS=""
if command -v perf >/dev/null && perf list 'syscalls:sys_enter_fdatasync' 2>/dev/null | grep -q fdatasync; then
  SYNCS="--count-syncs perf"
else
  say "perf (with syscall tracepoints) not available: fdatasync and fsync calls are not counted"
fi

# name|title|beatbench arguments. FRESH: a fresh broker per run (idle).
# PERSIST: beatmq --sync write as a third target; PIDS: each broker's pid;
# RECOVERY: fresh, stop and start hooks. PERSIST and RECOVERY steps go to the
# persistent table, BOUNDED steps to the bounded-memory table; OPTIONAL steps
# run only when --only (or --flood, --backlog) names them.
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
STEPS+=(
  "p-16|persistent 16 B confirms+acks|throughput -s 16 -d $TP_D --confirms --acks --durable --persistent --io $SYNCS PIDS PERSIST"
  "p-4k|persistent 4 KiB confirms+acks|throughput -s 4096 -d $TP_D --confirms --acks --durable --persistent --io $SYNCS PIDS PERSIST"
  "rec-empty|recovery, empty broker|recovery --queues 1 --messages 0 RECOVERY"
  "rec-1m|recovery 1 queue × $REC_1M|recovery --queues 1 --messages $REC_1M RECOVERY"
  "rec-1k|recovery 1,000 queues × $REC_1K|recovery --queues 1000 --messages $REC_1K RECOVERY"
  "flood-1k|flood 1 KiB $FLOOD_D|flood -s 1024 -d $FLOOD_D --heartbeat 2s --consume-rate 2000/s --prefetch 100 FRESH BOUNDED OPTIONAL"
  "flood-16|flood 16 B $FLOOD_D|flood -s 16 -d $FLOOD_D --heartbeat 2s --consume-rate 2000/s --prefetch 100 FRESH BOUNDED OPTIONAL"
  "backlog|backlog $BACKLOG_N × 16 B|backlog --count $BACKLOG_N -s 16 --prefetch 1000 --max-time $BACKLOG_MAX FRESH BOUNDED OPTIONAL"
)

selected=() need_write=0
for s in "${STEPS[@]}"; do
  name=${s%%|*}
  if { [ -z "$ONLY" ] && [[ "$s" != *OPTIONAL* ]]; } || [[ ",$ONLY," == *",$name,"* ]]; then
    selected+=("$s")
    [[ "$s" == *PERSIST* ]] && need_write=1
  fi
done
[ ${#selected[@]} -gt 0 ] || { echo "bench-compare: --only selects no step" >&2; exit 2; }

hook() { echo "bash '$ROOT/scripts/bench-compare.sh' $1 $2"; }
url() {
  case "$1" in
    rabbitmq) echo "amqp://guest:guest@127.0.0.1:$RMQ_PORT/" ;;
    beatmq) echo "amqp://guest:guest@127.0.0.1:$BEATMQ_PORT/" ;;
    beatmq-write) echo "amqp://guest:guest@127.0.0.1:$BEATMQ_WRITE_PORT/" ;;
  esac
}
# The current pid of a broker (idle steps restart them).
broker_pid() {
  case "$1" in
    rabbitmq) cat "$(cat "$BENCH_WORK/rmq.dir")/pid" ;;
    *) cat "$BENCH_WORK/$1.pid" ;;
  esac
}

LABELS=() # RabbitMQ first: the baseline of the ratios
if has_broker rabbitmq; then
  say "starting RabbitMQ on 127.0.0.1:$RMQ_PORT (node $RMQ_NODENAME)"
  say "RabbitMQ pid $(bash "$0" __restart rabbitmq)"
  LABELS+=(rabbitmq)
fi
if has_broker beatmq; then
  say "starting beatmq on 127.0.0.1:$BEATMQ_PORT"
  say "beatmq pid $(bash "$0" __restart beatmq)"
  LABELS+=(beatmq)
  if [ "$need_write" = 1 ]; then
    say "starting beatmq --sync write on 127.0.0.1:$BEATMQ_WRITE_PORT"
    say "beatmq --sync write pid $(bash "$0" __restart beatmq-write)"
  fi
fi
[ ${#LABELS[@]} -gt 0 ] || { echo "bench-compare: --brokers names neither beatmq nor rabbitmq" >&2; exit 2; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS="$BENCH_WORK/results.jsonl" RESULTS_P="$BENCH_WORK/results-persistent.jsonl"
RESULTS_B="$BENCH_WORK/results-bounded.jsonl"
: >"$RESULTS"
: >"$RESULTS_P"
: >"$RESULTS_B"
say "$(nproc) cores, open-file limit $(ulimit -Hn); ${#selected[@]} step(s), $RUNS run(s) each; logs in $BENCH_WORK"
i=0 failed=0
for s in "${selected[@]}"; do
  i=$((i + 1))
  IFS='|' read -r name title args <<<"$s"
  labels=("${LABELS[@]}") out=$RESULTS
  [[ "$args" == *PERSIST* ]] && has_broker beatmq && labels+=(beatmq-write)
  [[ "$args" == *PERSIST* || "$args" == *RECOVERY* ]] && out=$RESULTS_P
  [[ "$args" == *BOUNDED* ]] && out=$RESULTS_B
  if [[ "$args" == *BEATMQ_ONLY* ]]; then
    has_broker beatmq || continue
    labels=(beatmq)
  fi
  read -r -a argv <<<"$args"
  clean=() extra=()
  for a in "${argv[@]}"; do
    case "$a" in
      FRESH) for l in "${labels[@]}"; do extra+=(--restart "$l=$(hook __restart "$l")"); done ;;
      PIDS) for l in "${labels[@]}"; do extra+=(--pid "$l=$(broker_pid "$l")"); done ;;
      RECOVERY) for l in "${labels[@]}"; do
                  extra+=(--restart "$l=$(hook __restart "$l")" --stop "$l=$(hook __stop "$l")" --start "$l=$(hook __start "$l")")
                done
                extra+=(--timeout "$REC_TIMEOUT") ;;
      PERSIST|BEATMQ_ONLY|BOUNDED|OPTIONAL) ;;
      *) clean+=("$a") ;;
    esac
  done
  targets=()
  for l in "${labels[@]}"; do targets+=(--target "$l=$(url "$l")"); done
  runs=$RUNS
  [ "$name" = idle-max ] && runs=1
  [ "$i" -gt 1 ] && sleep 5 # let the previous step's teardown settle
  say "[$i/${#selected[@]}] $title, $runs run(s) per broker"
  if ! "$BEATBENCH" "${clean[@]}" "${targets[@]}" "${extra[@]}" --runs "$runs" \
      --json-out "$out" >"$BENCH_WORK/$name.out"; then
    failed=$((failed + 1))
    say "[$i/${#selected[@]}] $title: beatbench reported a failure (see the table)"
  fi
  grep -v '^{' "$BENCH_WORK/$name.out" >&2 || true
done

names=(--name "rabbitmq=RabbitMQ 3.10.8" --name "beatmq-write=beatmq --sync write")
TABLE="$BENCH_WORK/table.md" TABLE_P="$BENCH_WORK/table-persistent.md" TABLE_B="$BENCH_WORK/table-bounded.md"
: >"$TABLE"
: >"$TABLE_P"
: >"$TABLE_B"
[ -s "$RESULTS" ] && "$BEATBENCH" table "${names[@]}" "$RESULTS" >"$TABLE"
[ -s "$RESULTS_P" ] && "$BEATBENCH" table "${names[@]}" --name "beatmq=beatmq (--sync data)" "$RESULTS_P" >"$TABLE_P"
[ -s "$RESULTS_B" ] && "$BEATBENCH" table "${names[@]}" "$RESULTS_B" >"$TABLE_B"
echo
[ -s "$TABLE" ] && cat "$TABLE"
[ -s "$TABLE_P" ] && { echo; cat "$TABLE_P"; }
[ -s "$TABLE_B" ] && { echo; cat "$TABLE_B"; }

# replace_section MARKER FILE: puts FILE (which holds its own markers) in
# place of the MARKER section of $OUT, after the bench-compare section when
# it has none yet, or at the end.
replace_section() {
  if [ -f "$OUT" ] && grep -q "<!-- $1:begin" "$OUT"; then
    awk -v gen="$2" -v b="<!-- $1:begin" -v e="<!-- $1:end" '
      index($0, b) == 1 { while ((getline line < gen) > 0) print line; skip = 1; next }
      index($0, e) == 1 { skip = 0; next }
      !skip { print }' "$OUT" >"$OUT.tmp"
  elif [ -f "$OUT" ] && grep -q '<!-- bench-compare:end' "$OUT"; then
    awk -v gen="$2" '
      { print }
      index($0, "<!-- bench-compare:end") == 1 { print ""; while ((getline line < gen) > 0) print line }' "$OUT" >"$OUT.tmp"
  else
    { [ -f "$OUT" ] && cat "$OUT" && echo; cat "$2"; } >"$OUT.tmp"
  fi
  mv "$OUT.tmp" "$OUT"
}

if [ "$OUT" != "-" ]; then
  mem_gib=$(awk '/MemTotal/ {printf "%.0f", $2/1024/1024}' /proc/meminfo)
  cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
  rmq_ver=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown)
  erl_ver=$(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null || echo unknown)
  rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
  brokers=()
  has_broker beatmq && brokers+=("beatmq $rev$dirty ($(go version | awk '{print $3}'))")
  has_broker rabbitmq && brokers+=("RabbitMQ $rmq_ver, Erlang $erl_ver")
  LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
  run_facts() {
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(nproc) cores ($cpu), $mem_gib GiB memory, Linux $(uname -r), open-file limit $(ulimit -Hn)"
    echo "- Brokers (default settings): $(IFS=';'; echo "${brokers[*]}" | sed 's/;/; /g')"
    echo "- Command: \`$CMDLINE\` — $RUNS run(s) per broker, alternating (RabbitMQ, beatmq, RabbitMQ, …); figures are medians, the ratio is beatmq ÷ RabbitMQ"
    echo "- Load average (1, 5, 15 min) on the machine: $LOAD_START at the start, $LOAD_END at the end (other work shares the cores)"
  }
  if [ -s "$TABLE" ]; then
    GEN="$BENCH_WORK/section.md"
    {
      echo "<!-- bench-compare:begin — generated by scripts/bench-compare.sh; edits between the markers are overwritten -->"
      echo "## Latest run"
      echo
      run_facts
      echo
      cat "$TABLE"
      echo
      echo "<!-- bench-compare:end -->"
    } >"$GEN"
    replace_section bench-compare "$GEN"
  fi
  if [ -s "$TABLE_P" ]; then
    sync_note="counted with perf on the syscall tracepoints in the same run"
    [ -n "$SYNCS" ] || sync_note="not counted (no perf)"
    GEN="$BENCH_WORK/section-persistent.md"
    {
      echo "<!-- bench-compare-persistent:begin — generated by scripts/bench-compare.sh; edits between the markers are overwritten -->"
      echo "## Latest run: persistent messages and recovery"
      echo
      run_facts
      echo "- Persistent: durable queue, delivery_mode 2, confirms and acks. RabbitMQ (default) and beatmq (default, \`--sync data\`) confirm only after the fsync/fdatasync that covers the message; \`beatmq --sync write\` confirms after write(2). \`disk_bytes_per_msg\`: the broker's /proc/PID/io write_bytes over the window per message published; \`fdatasync_rate\`, \`fsync_rate\`: calls by any of the broker's threads, $sync_note"
      echo "- Recovery: durable queues filled with persistent 16 B messages (confirmed), the broker stopped with SIGTERM and started again on its data; \`recovery_s\` is from the start command to connection.start, \`ready_s\` to every queue's count answered and a first message fetched (bound: $REC_TIMEOUT per phase)"
      echo
      cat "$TABLE_P"
      echo
      echo "<!-- bench-compare-persistent:end -->"
    } >"$GEN"
    replace_section bench-compare-persistent "$GEN"
  fi
  if [ -s "$TABLE_B" ]; then
    watermark_gib=$(awk '/MemTotal/ {printf "%.1f", $2 * 0.4 / 1024 / 1024}' /proc/meminfo)
    GEN="$BENCH_WORK/section-bounded.md"
    {
      echo "<!-- bench-compare-bounded:begin — generated by scripts/bench-compare.sh; edits between the markers are overwritten -->"
      echo "## Latest run: bounded memory (flood and backlog)"
      echo
      run_facts
      echo "- Both brokers with their defaults: memory high watermark 0.4 of MemTotal ($watermark_gib GiB here; RabbitMQ's \`vm_memory_high_watermark.relative\`, beatmq's \`--vm-memory-high-watermark\`), and RabbitMQ's disk free limit of 50 MB. A fresh broker for every run; RSS is the broker process's VmRSS read every 250 ms (for RabbitMQ the Erlang VM's)"
      echo "- Flood: one publisher flat out with confirms (no bound on unconfirmed), one consumer at 2,000 msg/s (prefetch 100, manual acks), one idle watcher at T = 2 s that answers heartbeats and timestamps the broker's; publisher and consumer at T = 2 s too. After the publisher stops (a write the broker does not read is cut after 5 s), its confirms get 30 s to settle, the consumer closes (its unacked deliveries go back), and the queue's length is read until stable: \`lost\` = confirmed − consumed − queue_len when positive; unconfirmed messages may or may not be there (\`expected_min\`..\`expected_max\`). \`max_gap\`: the largest gap between the watcher's heartbeat frames, up to a frame after the end (2 T if none comes). \`false_closes\`: publisher, consumer or watcher closed by the broker"
      echo "- Backlog: transient 16 B messages to a non-durable queue with confirms (at most 20,000 unconfirmed) and no consumer, then drained by one consumer (prefetch 1,000, manual acks). Each phase is bounded by $BACKLOG_MAX; building also ends when the broker has held the publisher with connection.blocked for a minute (\`blocked\` = 1, \`built\` is then the largest backlog it held)"
      echo
      cat "$TABLE_B"
      echo
      echo "<!-- bench-compare-bounded:end -->"
    } >"$GEN"
    replace_section bench-compare-bounded "$GEN"
  fi
  say "tables written to $OUT"
fi
[ "$failed" = 0 ]
