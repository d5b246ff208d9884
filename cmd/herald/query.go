package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/herald-news/herald/subscriptions"
)

const querySynopsis = `query check QUERY

Checks a topic query and prints its normalised form, or exits with status 2
and the reason: the character position and what was expected there.
Words may be given as several arguments; they are joined with spaces.

Syntax: iran drones (both), "military cooperation" (exact phrase),
belarus OR minsk, belarus | minsk, -ukraine, -"press tv", ( ... ),
title:word, title:"phrase", site:example.com, drone* (at least 3 letters),
lang:ru (only articles in that language; at most one).`

// runQuery implements "herald query check QUERY"; see SPEC.md.
func runQuery(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("query", querySynopsis, env.stderr)
	if len(args) == 0 {
		fs.Usage()
		return usagef("want a subcommand: query check QUERY")
	}
	if isHelp(args[0]) {
		fs.Usage()
		return errHelp
	}
	if args[0] != "check" {
		fs.Usage()
		return usagef("unknown subcommand %q: want query check QUERY", args[0])
	}
	// No flag parsing after "check": a query may well start with "-"
	// ("-ukraine belarus"), which the flag package would take for a flag.
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	} else if len(rest) == 1 && isHelp(rest[0]) {
		fs.Usage()
		return errHelp
	}
	if len(rest) == 0 {
		fs.Usage()
		return usagef("want a QUERY to check")
	}
	q, err := subscriptions.Parse(strings.Join(rest, " "))
	if err != nil {
		return usagef("%v", err)
	}
	_, err = fmt.Fprintln(env.stdout, q)
	return err
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}
