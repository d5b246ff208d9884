package main

import "context"

// runSummarize implements "herald summarize"; see SPEC.md.
func runSummarize(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("summarize: not implemented yet")
}
