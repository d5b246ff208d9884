// Command herald watches news feeds, matches new articles against the topics
// subscribers keep in Redis, and delivers summaries by Telegram and email.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it reads its own flags from args and writes its
// output to the given streams.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what every command may use; tests substitute the streams and the
// environment.
type cmdEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":       {"run the service", runServe},
		"demo":        {"run everything on embedded defaults, nothing to install", runDemo},
		"feeds":       {"manage watched feeds: add, list, remove, import, export", runFeeds},
		"parse":       {"parse one feed and print its items as JSON lines", runParse},
		"extract":     {"extract the article from an HTML page as JSON", runExtract},
		"summarize":   {"summarize an article given as text or HTML", runSummarize},
		"query":       {"check a topic query: query check QUERY", runQuery},
		"match":       {"match articles against queries offline", runMatch},
		"digest":      {"send email digests: digest send [--now]", runDigest},
		"subscribers": {"list, export or delete subscribers", runSubscribers},
		"version":     {"print version and build info", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to a command and turns its error into an exit status:
// 2 for bad usage or bad input, 1 for anything else.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "herald: unknown command %q (see herald --help)\n", args[0])
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case isUsage(err):
		fmt.Fprintf(env.stderr, "herald %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(env.stderr, "herald %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: herald COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, name := range []string{"serve", "demo", "feeds", "parse", "extract", "summarize", "query", "match", "digest", "subscribers", "version"} {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w, "\nEvery command has --help. Settings come from HERALD_* environment variables; see README.md.")
}
