package main

import "context"

// runExtract implements "herald extract"; see SPEC.md.
func runExtract(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("extract: not implemented yet")
}
