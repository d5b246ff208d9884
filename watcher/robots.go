package watcher

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/fetch"
)

// robots.txt (RFC 9309) is honoured for every sitemap and page Herald
// fetches on its own initiative; feeds, which a site publishes to be
// polled, and the page an operator names in feeds add, are not checked.
const (
	// RobotsAgent is the product token Herald's rules are looked up under.
	RobotsAgent = "herald"
	// robotsFresh is how long a robots.txt is used before it is asked for
	// again (with its validators): the 24 hours RFC 9309 §2.4 allows.
	robotsFresh = 24 * time.Hour
	// robotsMax is how much of a robots.txt is kept and read: RFC 9309
	// asks crawlers to parse at least 500 KiB.
	robotsMax = 512 << 10
)

// errDisallowed means robots.txt forbids Herald to fetch a URL.
var errDisallowed = errors.New("disallowed by robots.txt")

// robotsKey caches one origin's robots.txt (hash: body, etag, lm,
// checked) so that every watcher process shares one copy.
func (w *Watcher) robotsKey(origin string) string { return w.st.Key("robots", origin) }

// robotsMemo keeps parsed rules in the process between polls.
type robotsMemo struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex // one lookup per origin at a time
	rules map[string]robotsEntry
}

type robotsEntry struct {
	checked time.Time
	rules   *robotsRules
}

// originOf is scheme://host[:port] of an absolute URL.
func originOf(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// allowed reports whether robots.txt lets Herald fetch rawURL. A robots.txt
// that cannot be had for a server error or a network failure disallows
// everything until it can (RFC 9309 §2.3.1.4), unless an older copy is
// cached; one that does not exist (4xx) allows everything.
func (w *Watcher) allowed(ctx context.Context, rawURL string) (bool, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return false, fmt.Errorf("check robots.txt for %q: not an absolute URL", rawURL)
	}
	rules, err := w.robotsFor(ctx, originOf(u))
	if err != nil {
		return false, err
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	return rules.allows(path), nil
}

// robotsFor returns an origin's rules, from memory, Redis, or the site.
func (w *Watcher) robotsFor(ctx context.Context, origin string) (*robotsRules, error) {
	m := &w.robots
	m.mu.Lock()
	if m.locks == nil {
		m.locks, m.rules = map[string]*sync.Mutex{}, map[string]robotsEntry{}
	}
	lock := m.locks[origin]
	if lock == nil {
		lock = &sync.Mutex{}
		m.locks[origin] = lock
	}
	m.mu.Unlock()
	// Pages of one site are checked concurrently; one of them asks.
	lock.Lock()
	defer lock.Unlock()

	now := w.Now()
	m.mu.Lock()
	e, ok := m.rules[origin]
	m.mu.Unlock()
	if ok && now.Sub(e.checked) < robotsFresh {
		return e.rules, nil
	}
	key := w.robotsKey(origin)
	cached, err := w.st.Redis.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("read robots.txt of %s: %w", origin, err)
	}
	checked := time.Time{}
	if s, err := strconv.ParseInt(cached["checked"], 10, 64); err == nil {
		checked = time.Unix(s, 0)
	}
	body := cached["body"]
	if len(cached) == 0 || now.Sub(checked) >= robotsFresh {
		resp, err := w.fetcher.Get(ctx, origin+"/robots.txt", fetch.Conditional{ETag: cached["etag"], LastModified: cached["lm"]})
		var se *fetch.StatusError
		switch {
		case err == nil && resp.NotModified:
			w.fetched("robots", "not_modified", 0)
		case err == nil:
			w.fetched("robots", "ok", len(resp.Body))
			body = string(resp.Body[:min(len(resp.Body), robotsMax)])
			cached["etag"], cached["lm"] = resp.ETag, resp.LastModified
		case errors.As(err, &se) && se.Code >= 400 && se.Code < 500:
			// No robots.txt (or not for us to read): no rules.
			w.fetched("robots", "ok", 0)
			body, cached["etag"], cached["lm"] = "", "", ""
		default:
			w.fetched("robots", "error", 0)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if len(cached) > 0 {
				// An older copy beats guessing; try again on the next poll.
				return parseRobots(body, RobotsAgent), nil
			}
			w.log.Info("robots.txt unavailable: not fetching from the site for now", "site", origin, "err", err)
			return disallowAll, nil
		}
		checked = now
		if err := w.st.Redis.HSet(ctx, key, "body", body, "etag", cached["etag"], "lm", cached["lm"], "checked", now.Unix()).Err(); err != nil {
			return nil, fmt.Errorf("cache robots.txt of %s: %w", origin, err)
		}
		// Kept a while past freshness so a conditional GET can revalidate it.
		w.st.Redis.Expire(ctx, key, 7*robotsFresh)
	}
	rules := parseRobots(body, RobotsAgent)
	m.mu.Lock()
	m.rules[origin] = robotsEntry{checked: checked, rules: rules}
	m.mu.Unlock()
	return rules, nil
}

// robotsRules are the allow and disallow lines of the group that applies
// to one agent, and the file's Sitemap lines.
type robotsRules struct {
	rules    []robotsRule
	sitemaps []string
}

type robotsRule struct {
	allow   bool
	pattern string
}

var disallowAll = &robotsRules{rules: []robotsRule{{allow: false, pattern: "/"}}}

// parseRobots reads a robots.txt for agent: the groups naming it, or if
// none does, the groups for "*" (RFC 9309 §2.2.1).
func parseRobots(body, agent string) *robotsRules {
	out := &robotsRules{}
	var mine, star []robotsRule
	var agents []string
	inRules := false // a rule line ends a group's user-agent lines
	matchedMine, matchedStar := false, false
	for _, line := range strings.Split(body, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "user-agent":
			if inRules {
				agents, inRules = nil, false
			}
			agents = append(agents, strings.ToLower(v))
		case "allow", "disallow":
			inRules = true
			if v == "" {
				continue // "Disallow:" with nothing allows everything
			}
			r := robotsRule{allow: k == "allow", pattern: v}
			isMine, isStar := false, false
			for _, a := range agents {
				isMine = isMine || a == agent || strings.HasPrefix(a, agent+"/")
				isStar = isStar || a == "*"
			}
			if isMine {
				mine, matchedMine = append(mine, r), true
			} else if isStar {
				star, matchedStar = append(star, r), true
			}
		case "sitemap":
			if v != "" {
				out.sitemaps = append(out.sitemaps, v)
			}
		}
	}
	switch {
	case matchedMine:
		out.rules = mine
	case matchedStar:
		out.rules = star
	}
	return out
}

// allows applies the longest matching rule; on a tie, allow wins
// (RFC 9309 §2.2.2). robots.txt itself is always allowed.
func (r *robotsRules) allows(path string) bool {
	if path == "/robots.txt" {
		return true
	}
	best, allow := -1, true
	for _, rule := range r.rules {
		if !robotsMatch(rule.pattern, path) {
			continue
		}
		if n := len(rule.pattern); n > best || (n == best && rule.allow) {
			best, allow = n, rule.allow
		}
	}
	return allow
}

// robotsMatch matches a robots.txt path pattern: a prefix, where * stands
// for any characters and a final $ anchors the end.
func robotsMatch(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	parts := strings.Split(strings.TrimSuffix(pattern, "$"), "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	rest := path[len(parts[0]):]
	if len(parts) == 1 {
		return !anchored || rest == ""
	}
	for _, p := range parts[1 : len(parts)-1] {
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	last := parts[len(parts)-1]
	if anchored {
		return strings.HasSuffix(rest, last)
	}
	return strings.Contains(rest, last)
}

// fetchCrawled fetches a source that is crawled rather than subscribed to
// (a sitemap or a section page): as robots.txt allows, with the source's
// validators, a failed fetch counted under kind.
func (w *Watcher) fetchCrawled(ctx context.Context, f *Feed, kind string) (*fetch.Response, error) {
	if ok, err := w.allowed(ctx, f.URL); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("fetch %s: %w", f.URL, errDisallowed)
	}
	resp, err := w.fetcher.Get(ctx, f.URL, fetch.Conditional{ETag: f.ETag, LastModified: f.LastModified})
	if err != nil {
		w.fetched(kind, "error", 0)
		return nil, err
	}
	return resp, nil
}
