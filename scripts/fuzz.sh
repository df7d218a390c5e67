#!/usr/bin/env bash
# Runs every fuzz target in the repository, one after the other, each for the given
# time (default 30s):  scripts/fuzz.sh 3m   (make fuzz FUZZTIME=3m)
# Targets are the `func Fuzz...` in *_test.go files. A failing input is saved by
# `go test` under the package's testdata/fuzz/<Target>/; check it in with the fix.
# Exits non-zero if any target failed, after running them all.
# FUZZMINIMIZETIME (default 10s) bounds the minimization of each new interesting
# input: go test's default of 60s lets a target fed multi-KB inputs spend most of a
# short run minimizing instead of fuzzing.
# FUZZTARGETS (an extended regexp, default every target) picks targets by name:
#   make fuzz FUZZTIME=10m FUZZTARGETS=FuzzConnection
# FUZZPARALLEL (default GOMAXPROCS) is the number of fuzzing workers (-parallel).
# The targets include broker's FuzzConnection: arbitrary octets on a served
# connection after a valid handshake, each input in a testing/synctest bubble.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-30s}
minimizetime=${FUZZMINIMIZETIME:-10s}
only=${FUZZTARGETS:-.}
parallel=()
if [ -n "${FUZZPARALLEL:-}" ]; then
  parallel=(-parallel "$FUZZPARALLEL")
fi

mapfile -t targets < <(grep -r --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata \
  --exclude-dir=node_modules -o '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func /:/' | sort |
  awk -F: -v re="$only" '$2 ~ re')
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets found${FUZZTARGETS:+ matching $FUZZTARGETS}" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  file=${t%%:*}
  name=${t##*:}
  pkg=./$(dirname "${file#./}")
  echo "=== $name in $pkg for $fuzztime"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "${parallel[@]}" "$pkg"; then
    failed+=("$name ($pkg)")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets passed, $fuzztime each"
