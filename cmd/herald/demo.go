package main

import "context"

func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("demo: not implemented yet")
}
