#!/bin/sh
# Runs every fuzz target briefly (FUZZTIME each, default 10s): the query
# parser and tokeniser, feed ingest, page extraction, alert formatting and
# bounce reports. A failure leaves its input under the package's
# testdata/fuzz for go test to replay.
set -e
cd "$(dirname "$0")/.."
t=${FUZZTIME:-10s}
for target in subscriptions:FuzzParse subscriptions:FuzzTokens feed:FuzzParse extract:FuzzExtract bot:FuzzAlert article:FuzzCanonical bounce:FuzzParse; do
	pkg=${target%%:*}
	fn=${target#*:}
	echo "fuzz $fn in ./$pkg/ for $t"
	go test -run '^$' -fuzz "^$fn\$" -fuzztime "$t" "./$pkg/"
done
