#!/bin/sh
# Builds herald from the last commit (plus this directory's files), away from
# edits in progress in the working tree, for FAULTS_HERALD_BIN:
#   FAULTS_HERALD_BIN=$(faults/build-head.sh) go test -tags faults ./faults/
set -e
root=$(git rev-parse --show-toplevel)
src=$(mktemp -d)
git -C "$root" archive HEAD | tar -x -C "$src"
(cd "$src" && go build -o "$src/herald" ./cmd/herald)
echo "$src/herald"
