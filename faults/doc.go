// Package faults is Herald's attack suite: it starts real redis-server
// processes and herald processes, then kills them, restarts Redis, makes the
// Telegram and SMTP peers misbehave and feeds hostile input, and checks that
// nothing accepted is lost and nothing is repeated more than SPEC allows.
//
// The tests are behind the build tag "faults" so that a plain go test ./...
// stays fast:
//
//	go test -tags faults -count=1 -timeout 20m -v ./faults/
//
// (-v shows the report printed at the end: kills, restarts, deliveries
// expected, delivered, lost and duplicated per scenario.)
//
// HERALD_SCALE=1 adds the million-subscriber measurement. ARCHITECTURE.md says
// how the Redis keys are laid out for Redis Cluster and how to run several
// processes.
package faults
