#!/usr/bin/env bash
# fuzz.sh (`make fuzz`) runs every Fuzz target in the module for FUZZTIME
# each (default 10s), one at a time: go test can fuzz only one target per run.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}

for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for target in $(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | cut -d' ' -f2 | sort -u); do
		echo "fuzz: $dir $target"
		go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$dir"
	done
done
