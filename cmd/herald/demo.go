package main

import (
	"context"
	"log/slog"

	"github.com/herald-news/herald/demo"
)

func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("demo", "demo [--dir DIR] [--http-addr HOST:PORT]", env.stderr)
	dir := fs.String("dir", "herald-demo", "folder for the outbox")
	// HERALD_HTTP_ADDR works here as it does for serve; the flag wins.
	defaultAddr := "127.0.0.1:8080"
	if env.getenv != nil && env.getenv("HERALD_HTTP_ADDR") != "" {
		defaultAddr = env.getenv("HERALD_HTTP_ADDR")
	}
	addr := fs.String("http-addr", defaultAddr, "where the web page listens (default HERALD_HTTP_ADDR, else 127.0.0.1:8080)")
	every := fs.Duration("every", 0, "publish a sample article this often (default 5s)")
	verbose := fs.Bool("v", false, "log everything herald does")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	return demo.Run(ctx, demo.Options{Dir: *dir, HTTPAddr: *addr, Every: *every, Out: env.stdout, Log: log})
}
