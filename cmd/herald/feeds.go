package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/herald-news/herald/fetch"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/watcher"
)

// openWatcher opens Redis and a watcher for the feeds commands.
func openWatcher(getenv func(string) string) (*watcher.Watcher, *store.Store, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cfg.RedisURL, cfg.KeyPrefix)
	if err != nil {
		return nil, nil, usagef("HERALD_REDIS_URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("redis at HERALD_REDIS_URL does not answer: %w", err)
	}
	f := fetch.New(fetch.Options{UserAgent: "Herald (+" + cfg.PublicURL + ")", AllowPrivate: cfg.AllowPrivateFeeds})
	return watcher.New(st, f, cfg.PollInterval, nil), st, nil
}

func runFeeds(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.stderr, "Usage: herald feeds add URL... [--interval D] [--backfill N] | list | remove URL | import FILE.opml [--interval D] | export")
		if len(args) == 0 {
			return usagef("feeds needs a subcommand: add, list, remove, import or export")
		}
		return errHelp
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add":
		fs := newFlags("feeds add", "feeds add URL... [--interval D] [--backfill N]", env.stderr)
		interval := fs.Duration("interval", 0, "poll interval for these feeds (default HERALD_POLL_INTERVAL)")
		backfill := fs.Int("backfill", 0, "publish the newest N items already in the feed (default: none, they are marked seen)")
		urls, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(urls) == 0 {
			return usagef("feeds add needs at least one URL")
		}
		if *interval != 0 && *interval < time.Second {
			return usagef("--interval must be at least 1s")
		}
		if *backfill < 0 {
			return usagef("--backfill must not be negative")
		}
		w, st, err := openWatcher(env.getenv)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, u := range urls {
			f, err := w.Add(ctx, u, *interval, *backfill)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				return usagef("%v", err)
			}
			fmt.Fprintln(env.stdout, addedLine(f))
		}
		return nil
	case "remove":
		fs := newFlags("feeds remove", "feeds remove URL", env.stderr)
		urls, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(urls) != 1 {
			return usagef("feeds remove needs one URL")
		}
		w, st, err := openWatcher(env.getenv)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := w.Remove(ctx, urls[0]); errors.Is(err, watcher.ErrNoFeed) {
			return usagef("%s is not watched", urls[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "stopped watching %s\n", urls[0])
		return nil
	case "list":
		fs := newFlags("feeds list", "feeds list", env.stderr)
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		w, st, err := openWatcher(env.getenv)
		if err != nil {
			return err
		}
		defer st.Close()
		feeds, err := w.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "URL\tKIND\tLAST FETCH\tLAST NEW\tERRORS\tNEXT POLL\tSTATE")
		for _, f := range feeds {
			state := "ok"
			switch {
			case f.Broken:
				state = "BROKEN since " + ago(f.FailingSince) + ": " + f.LastError
			case f.Errors > 0:
				state = "failing: " + f.LastError
			case f.LastFetch.IsZero():
				state = "not fetched yet"
			}
			if f.WebSub != "" {
				state += " (websub " + f.WebSub + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", f.URL, f.Kind, ago(f.LastFetch), ago(f.LastNew), f.Errors, until(f.NextPoll), state)
		}
		return tw.Flush()
	case "import":
		fs := newFlags("feeds import", "feeds import FILE.opml [--interval D]", env.stderr)
		interval := fs.Duration("interval", 0, "poll interval for these feeds (default HERALD_POLL_INTERVAL)")
		files, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(files) != 1 {
			return usagef("feeds import needs one OPML file (- for standard input)")
		}
		if *interval != 0 && *interval < time.Second {
			return usagef("--interval must be at least 1s")
		}
		list, err := readOPMLFile(env, files[0])
		if err != nil {
			return err
		}
		w, st, err := openWatcher(env.getenv)
		if err != nil {
			return err
		}
		defer st.Close()
		return importFeeds(ctx, env, w, list, *interval)
	case "export":
		fs := newFlags("feeds export", "feeds export > FILE.opml", env.stderr)
		if rest, err := parseFlags(fs, args); err != nil {
			return err
		} else if len(rest) > 0 {
			return usagef("feeds export takes no arguments; it writes OPML to standard output")
		}
		w, st, err := openWatcher(env.getenv)
		if err != nil {
			return err
		}
		defer st.Close()
		return exportFeeds(ctx, env.stdout, w)
	}
	return usagef("unknown feeds subcommand %q (add, list, remove, import, export)", sub)
}

// exportFeeds writes every watched feed as OPML.
func exportFeeds(ctx context.Context, out io.Writer, w *watcher.Watcher) error {
	feeds, err := w.List(ctx)
	if err != nil {
		return err
	}
	list := make([]watcher.OPMLFeed, len(feeds))
	for i, f := range feeds {
		list[i] = watcher.OPMLFeed{URL: f.URL, Title: f.Title, Site: f.Site}
	}
	return watcher.WriteOPML(out, "Herald feeds", list, time.Now())
}

// readOPMLFile reads the feeds of an OPML file; "-" is standard input.
func readOPMLFile(env *cmdEnv, name string) ([]watcher.OPMLFeed, error) {
	var r io.Reader = env.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("feeds import: %v", err)
		}
		defer f.Close()
		r = f
	}
	list, err := watcher.ReadOPML(r)
	if err != nil {
		return nil, usagef("feeds import %s: %v", name, err)
	}
	if len(list) == 0 {
		return nil, usagef("feeds import %s: no feeds in it (outlines with xmlUrl)", name)
	}
	return list, nil
}

// importFeeds adds every feed of an OPML list. A bad URL in the file is
// reported and skipped; only a file with no usable feed is an error.
func importFeeds(ctx context.Context, env *cmdEnv, w *watcher.Watcher, list []watcher.OPMLFeed, interval time.Duration) error {
	added, known, bad := 0, 0, 0
	// A site's URL is watched through the feed it links, which an earlier
	// import may have added: a feed added before this import began is known.
	began := time.Now().Truncate(time.Second)
	for _, o := range list {
		watched, err := w.Watched(ctx, o.URL)
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "skipped %q: %v\n", o.URL, err)
			bad++
			continue
		}
		f, err := w.Add(ctx, o.URL, interval, 0)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(env.stderr, "skipped %q: %v\n", o.URL, err)
			bad++
			continue
		}
		if watched || (f.From != "" && f.Added.Before(began)) {
			known++
			continue
		}
		if err := w.Describe(ctx, f.ID, o.Title, o.Site); err != nil {
			return err
		}
		added++
	}
	fmt.Fprintf(env.stdout, "imported %d feeds (%d already watched, %d skipped)\n", added, known, bad)
	if added+known == 0 {
		return usagef("feeds import: no usable feed URL in the file")
	}
	return nil
}

// addedLine says what feeds add watches for a URL: the source, its kind,
// and the page it was found on when that is not the URL given.
func addedLine(f *watcher.Feed) string {
	found := ""
	if f.From != "" {
		found = ", found on " + f.From
	}
	return fmt.Sprintf("watching %s (%s%s, every %s)", f.URL, f.Kind, found, f.Interval)
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func until(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Until(t).Round(time.Second)
	if d <= 0 {
		return "now"
	}
	return "in " + d.String()
}
