package main

import "context"

func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
func runFeeds(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
func runDigest(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
func runSubscribers(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
func runVersion(ctx context.Context, env *cmdEnv, args []string) error {
	return usagef("not implemented yet")
}
