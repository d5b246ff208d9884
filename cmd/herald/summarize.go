package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/herald-news/herald/summary"
)

// maxSummarizeInput bounds what summarize reads: a news page, even with its
// markup, is far smaller.
const maxSummarizeInput = 10 << 20

// runSummarize implements "herald summarize"; see SPEC.md.
func runSummarize(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("summarize", "summarize [--sentences N] [--chars N] [--title T] [--topic TERM]... FILE|-\n\n"+
		"Prints an extractive summary of an article given as plain text or HTML (\"-\" reads stdin).\n"+
		"A .story file (article, then @highlight lines) is summarised from its article part only.", env.stderr)
	sentences := fs.Int("sentences", summary.DefaultSentences, "at most `N` sentences")
	chars := fs.Int("chars", 0, "at most `N` characters (0: no limit); a single longer sentence is cut at a word with …")
	title := fs.String("title", "", "the article's `title`: a line repeating it is dropped, and sentences near it rank higher")
	var topic []string
	fs.Func("topic", "a `TERM` of the topic that matched (repeatable); the summary then shows a sentence naming it", func(v string) error {
		if v = strings.TrimSpace(v); v == "" {
			return fmt.Errorf("empty topic term")
		}
		topic = append(topic, v)
		return nil
	})
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("want one FILE or -, got %d arguments", len(pos))
	}
	if *sentences < 1 {
		return usagef("--sentences %d: want 1 or more", *sentences)
	}
	if *chars < 0 {
		return usagef("--chars %d: want 0 (no limit) or more", *chars)
	}
	name := pos[0]
	text, err := readSummarizeInput(env, name)
	if err != nil {
		return err
	}
	if strings.HasSuffix(strings.ToLower(name), ".story") || strings.Contains(text, "\n@highlight\n") {
		text, _ = summary.ParseStory(text)
	}
	out := summary.Summarize(text, summary.Options{Sentences: *sentences, Chars: *chars, Title: *title, Topic: topic})
	if out == "" {
		return usagef("%s: no text to summarize", name)
	}
	_, err = fmt.Fprintln(env.stdout, out)
	return err
}

// readSummarizeInput reads FILE or stdin for "-". A file that cannot be
// opened, is too big or is not UTF-8 text is bad input (exit 2).
func readSummarizeInput(env *cmdEnv, name string) (string, error) {
	var r io.Reader = env.stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return "", usagef("%v", err)
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSummarizeInput+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxSummarizeInput {
		return "", usagef("%s: larger than %d MiB", name, maxSummarizeInput>>20)
	}
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	if strings.ContainsRune(text[:min(len(text), 4096)], 0) {
		return "", usagef("%s: binary data, not text or HTML", name)
	}
	return text, nil
}
