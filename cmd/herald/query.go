package main

import "context"

// runQuery implements "herald query"; see SPEC.md.
func runQuery(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("query: not implemented yet")
}
