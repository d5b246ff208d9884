package main

import "context"

// runMatch implements "herald match"; see SPEC.md.
func runMatch(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("match: not implemented yet")
}
