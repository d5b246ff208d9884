package main

import "context"

// runParse implements "herald parse"; see SPEC.md.
func runParse(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("parse: not implemented yet")
}
