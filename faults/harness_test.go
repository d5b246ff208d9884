//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
	"github.com/herald-news/herald/watcher"
)

// heraldBin is the herald binary built once for the whole run.
var heraldBin string

// haveRedis is false when redis-server is not installed.
var haveRedis bool

func TestMain(m *testing.M) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "faults: redis-server is not installed: every scenario is skipped")
	} else {
		haveRedis = true
	}
	dir, err := os.MkdirTemp("", "herald-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if b := os.Getenv("FAULTS_HERALD_BIN"); b != "" && haveRedis {
		// A binary built beforehand (say from a clean checkout).
		heraldBin = b
	} else if haveRedis {
		heraldBin = filepath.Join(dir, "herald")
		cmd := exec.Command("go", "build", "-o", heraldBin, "./cmd/herald")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: go build ./cmd/herald: %v\n%s", err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	started := time.Now()
	code := m.Run()
	report.print(os.Stdout, time.Since(started))
	os.RemoveAll(dir)
	os.Exit(code)
}

// needRedis skips a test where redis-server is absent.
func needRedis(t *testing.T) {
	t.Helper()
	if !haveRedis {
		t.Skip("redis-server is not installed (apt-get install redis-server): fault scenario skipped")
	}
}

// ---------------------------------------------------------------- report

// suiteReport gathers what every scenario did, printed at the end.
type suiteReport struct {
	mu   sync.Mutex
	rows []reportRow
}

type reportRow struct {
	Scenario                              string
	Kills, Restarts                       int
	Expected, Delivered, Lost, Duplicated int
	Note                                  string
}

var report suiteReport

func (r *suiteReport) add(row reportRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

func (r *suiteReport) print(w io.Writer, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfault suite report (%s)\n", took.Round(time.Second))
	fmt.Fprintf(w, "%-22s %6s %8s %9s %10s %5s %11s  %s\n", "scenario", "kills", "restarts", "expected", "delivered", "lost", "duplicated", "note")
	var tot reportRow
	for _, x := range r.rows {
		fmt.Fprintf(w, "%-22s %6d %8d %9d %10d %5d %11d  %s\n", x.Scenario, x.Kills, x.Restarts, x.Expected, x.Delivered, x.Lost, x.Duplicated, x.Note)
		tot.Kills += x.Kills
		tot.Restarts += x.Restarts
		tot.Expected += x.Expected
		tot.Delivered += x.Delivered
		tot.Lost += x.Lost
		tot.Duplicated += x.Duplicated
	}
	fmt.Fprintf(w, "%-22s %6d %8d %9d %10d %5d %11d\n\n", "total", tot.Kills, tot.Restarts, tot.Expected, tot.Delivered, tot.Lost, tot.Duplicated)
}

// ---------------------------------------------------------------- ports

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitUntil polls cond every 50ms until it holds, or fails after timeout.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !eventually(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// ---------------------------------------------------------------- redis

// redisProc is a redis-server process with its own directory, restartable
// on the same append-only files.
type redisProc struct {
	t     testing.TB
	dir   string
	Port  int
	extra []string
	cmd   *exec.Cmd
	done  chan struct{}
}

// startRedis starts redis-server on a random port with appendonly yes.
func startRedis(t testing.TB, extra ...string) *redisProc {
	t.Helper()
	r := &redisProc{t: t, dir: t.TempDir(), Port: freePort(t), extra: extra}
	r.Start()
	t.Cleanup(func() { r.Stop(syscall.SIGKILL) })
	return r
}

// Start runs the server (again) and waits until it answers.
func (r *redisProc) Start() {
	r.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--save", "", "--protected-mode", "no",
		"--logfile", filepath.Join(r.dir, "redis.log"),
	}, r.extra...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func(c *exec.Cmd) { c.Wait(); close(done) }(r.cmd)
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer c.Close()
	waitUntil(r.t, 15*time.Second, "redis-server on "+r.Addr(), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := c.Ping(ctx).Err()
		return err == nil
	})
}

// Stop sends sig and waits for the process to end.
func (r *redisProc) Stop(sig syscall.Signal) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *redisProc) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }
func (r *redisProc) URL() string  { return "redis://" + r.Addr() + "/0" }

// Store opens the test's own connection to the server.
func (r *redisProc) Store(t testing.TB) *store.Store {
	st, err := store.Open(r.URL(), store.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// ---------------------------------------------------------------- herald

// heraldProc is one `herald serve` process, restartable.
type heraldProc struct {
	t      testing.TB
	Name   string
	Roles  string
	Addr   string // HTTP listen address
	env    []string
	log    *os.File
	cmd    *exec.Cmd
	done   chan struct{}
	Kills  int
	Starts int
}

// world is what a herald process talks to.
type world struct {
	Redis string // HERALD_REDIS_URL
	TG    *telegramtest.Server
	Mail  *smtptest.Server
	Feeds []string
	Extra []string // more KEY=VALUE settings
}

const secret = "fault-suite-secret-0123456789abcdef"

// newHerald prepares a herald process (not started) with the given roles.
func newHerald(t testing.TB, name, roles string, w world) *heraldProc {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HERALD_REDIS_URL=" + w.Redis,
		"HERALD_HTTP_ADDR=" + addr,
		"HERALD_PUBLIC_URL=http://" + addr,
		"HERALD_SECRET=" + secret,
		"HERALD_POLL_INTERVAL=1s",
		"HERALD_ALLOW_PRIVATE_FEEDS=true",
		"HERALD_CLAIM_AFTER=3s",
		"HERALD_DIGEST_INTERVAL=1s",
		"HERALD_TELEGRAM_RATE=200",
		"HERALD_LOG_LEVEL=info",
	}
	if w.TG != nil {
		env = append(env, "HERALD_TELEGRAM_TOKEN="+w.TG.Token, "HERALD_TELEGRAM_API_URL="+w.TG.URL)
	}
	if w.Mail != nil {
		env = append(env, "HERALD_SMTP_URL="+w.Mail.URL(), "HERALD_MAIL_FROM=Herald <news@herald.test>")
	}
	if len(w.Feeds) > 0 {
		env = append(env, "HERALD_FEEDS="+strings.Join(w.Feeds, ","))
	}
	env = append(env, w.Extra...)
	dir := t.TempDir()
	if d := os.Getenv("FAULTS_LOG_DIR"); d != "" {
		// Keep the processes' logs after the run, for a post-mortem.
		dir = filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		os.MkdirAll(dir, 0o755)
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	h := &heraldProc{t: t, Name: name, Roles: roles, Addr: addr, env: env, log: f}
	t.Cleanup(func() {
		h.Kill()
		if t.Failed() {
			t.Logf("---- last lines of %s's log ----\n%s", name, h.tail(40))
		}
		f.Close()
	})
	return h
}

// Start runs the process and waits until its HTTP server answers.
func (h *heraldProc) Start() {
	h.t.Helper()
	fmt.Fprintf(h.log, "==== start %d (roles %s) ====\n", h.Starts+1, h.Roles)
	h.cmd = exec.Command(heraldBin, "serve", "--roles", h.Roles)
	h.cmd.Env = h.env
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		h.t.Fatalf("start herald %s: %v", h.Name, err)
	}
	h.Starts++
	done := make(chan struct{})
	h.done = done
	go func(c *exec.Cmd) { c.Wait(); close(done) }(h.cmd)
	waitUntil(h.t, 20*time.Second, h.Name+" /healthz", func() bool {
		select {
		case <-done:
			h.t.Fatalf("herald %s exited at start:\n%s", h.Name, h.tail(20))
		default:
		}
		return h.get("/healthz") == http.StatusOK
	})
}

// Running reports whether the process is alive.
func (h *heraldProc) Running() bool {
	if h.cmd == nil {
		return false
	}
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits.
func (h *heraldProc) Kill() {
	if !h.Running() {
		return
	}
	_ = h.cmd.Process.Kill()
	<-h.done
	fmt.Fprintf(h.log, "==== killed ====\n")
}

// Term sends SIGTERM and returns how long the process took to exit and its
// exit code (-1 if it had to be killed after 20s).
func (h *heraldProc) Term() (time.Duration, int) {
	start := time.Now()
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		return time.Since(start), h.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		h.Kill()
		return time.Since(start), -1
	}
}

// Pid is the process id.
func (h *heraldProc) Pid() int { return h.cmd.Process.Pid }

// get requests path on the process's HTTP server and returns the status.
func (h *heraldProc) get(path string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + h.Addr + path)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// body returns the body of GET path.
func (h *heraldProc) body(path string) string {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + h.Addr + path)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logText is everything the process logged so far.
func (h *heraldProc) logText() string {
	b, _ := os.ReadFile(h.log.Name())
	return string(b)
}

func (h *heraldProc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(h.logText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rss is the process's resident memory in bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ---------------------------------------------------------------- feeds

// newsSite serves one RSS feed whose items the test publishes, and counts
// how often the feed was fetched.
type newsSite struct {
	*httptest.Server
	mu      sync.Mutex
	items   []rssItem
	fetches []time.Time
}

type rssItem struct {
	Title   string `xml:"title"`
	Link    string `xml:"link"`
	GUID    string `xml:"guid"`
	PubDate string `xml:"pubDate"`
	Desc    string `xml:"description"`
}

func newNewsSite(t testing.TB) *newsSite {
	s := &newsSite{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		items := append([]rssItem(nil), s.items...)
		if r.URL.Path == "/feed.xml" {
			s.fetches = append(s.fetches, time.Now())
		}
		s.mu.Unlock()
		type channel struct {
			Title string    `xml:"title"`
			Link  string    `xml:"link"`
			Items []rssItem `xml:"item"`
		}
		type rss struct {
			XMLName xml.Name `xml:"rss"`
			Version string   `xml:"version,attr"`
			Channel channel  `xml:"channel"`
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		io.WriteString(w, xml.Header)
		xml.NewEncoder(w).Encode(rss{Version: "2.0", Channel: channel{Title: "Fault Wire", Link: s.URL + "/", Items: items}})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *newsSite) FeedURL() string { return s.URL + "/feed.xml" }

// Publish puts an item at the top of the feed.
func (s *newsSite) Publish(slug, title, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	link := s.URL + "/news/" + slug
	s.items = append([]rssItem{{Title: title, Link: link, GUID: link, PubDate: time.Now().UTC().Format(time.RFC1123Z), Desc: text}}, s.items...)
}

// Fetches counts feed requests since t0.
func (s *newsSite) Fetches(since time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.fetches {
		if !f.Before(since) {
			n++
		}
	}
	return n
}

// words give each article a text of its own, so that no two are taken for
// the same story re-published.
var words = strings.Fields(`harbour council ferry bridge museum festival tram
railway orchard glacier vineyard library stadium airport market cathedral
canal lighthouse factory senate theatre forest island valley river desert
volcano college hospital embassy mine quarry refinery archive gallery`)

// storyText is a distinct text about topic for article n.
func storyText(topic string, n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var b strings.Builder
	for s := 0; s < 4; s++ {
		fmt.Fprintf(&b, "The %s", topic)
		for w := 0; w < 12; w++ {
			b.WriteString(" " + words[r.IntN(len(words))])
		}
		fmt.Fprintf(&b, " report %d part %d. ", n, s)
	}
	return b.String()
}

// feedFetched waits until the watcher fetched the feed once (its current
// items are then known, and what is published after is news).
func feedFetched(t testing.TB, st *store.Store, feedURL string) {
	t.Helper()
	key := st.Key("feed", watcher.FeedID(feedURL))
	waitUntil(t, 30*time.Second, "the feed's first fetch", func() bool {
		v, _ := st.Redis.HGet(context.Background(), key, "last_fetch").Int64()
		return v > 0
	})
}

// ---------------------------------------------------------------- subscribers

// seed puts chats Telegram subscribers (ids from firstChat) and readers
// email readers (instant digests) following topic into Redis.
func seed(t testing.TB, st *store.Store, topic string, firstChat int64, chats, readers int) (tgIDs []int64, emails []string) {
	t.Helper()
	var subs []*subscriptions.Subscriber
	for i := range chats {
		id := firstChat + int64(i)
		tgIDs = append(tgIDs, id)
		subs = append(subs, &subscriptions.Subscriber{ID: subscriptions.TelegramID(id), Kind: subscriptions.KindTelegram, ChatID: id, Topics: []string{topic}, Status: subscriptions.StatusActive})
	}
	for i := range readers {
		addr := fmt.Sprintf("reader%d@example.org", i)
		emails = append(emails, addr)
		subs = append(subs, &subscriptions.Subscriber{ID: fmt.Sprintf("mail:r%d", i), Kind: subscriptions.KindEmail, Email: addr, Topics: []string{topic}, Status: subscriptions.StatusActive, Frequency: "instant"})
	}
	if err := subscriptions.NewStore(st).Import(context.Background(), subs); err != nil {
		t.Fatal(err)
	}
	return tgIDs, emails
}

// ---------------------------------------------------------------- counting

var newsLink = regexp.MustCompile(`/news/([A-Za-z0-9_-]+)`)

// tally counts deliveries per (recipient, story) from what the peers
// received: Telegram alerts by chat, digest items by address.
type tally struct {
	pairs    map[string]int // "recipient|slug" → copies
	messages int            // messages that carried at least one news link
	dupMsgs  int            // messages that repeated something already delivered
}

func count(tg *telegramtest.Server, mail *smtptest.Server) tally {
	c := tally{pairs: map[string]int{}}
	add := func(to string, text string) {
		slugs := map[string]bool{}
		for _, m := range newsLink.FindAllStringSubmatch(text, -1) {
			slugs[m[1]] = true
		}
		if len(slugs) == 0 {
			return
		}
		c.messages++
		dup := false
		for s := range slugs {
			k := to + "|" + s
			if c.pairs[k] > 0 {
				dup = true
			}
			c.pairs[k]++
		}
		if dup {
			c.dupMsgs++
		}
	}
	if tg != nil {
		for _, m := range tg.Sent() {
			add("tg:"+strconv.FormatInt(m.ChatID, 10), m.Text)
		}
	}
	if mail != nil {
		for _, m := range mail.Messages() {
			for _, to := range m.To {
				add("mail:"+strings.ToLower(to), m.Text)
			}
		}
	}
	return c
}

// expected lists the (recipient, story) pairs a scenario must deliver.
func expected(chats []int64, emails []string, slugs []string) []string {
	var out []string
	for _, s := range slugs {
		for _, c := range chats {
			out = append(out, "tg:"+strconv.FormatInt(c, 10)+"|"+s)
		}
		for _, e := range emails {
			out = append(out, "mail:"+strings.ToLower(e)+"|"+s)
		}
	}
	return out
}

// outcome compares a tally with what was expected.
type outcome struct {
	Expected, Delivered, Lost, DupPairs, DupMsgs int
	Missing                                      []string
}

func (c tally) against(want []string) outcome {
	o := outcome{Expected: len(want), DupMsgs: c.dupMsgs}
	for _, k := range want {
		if n := c.pairs[k]; n > 0 {
			o.Delivered++
			o.DupPairs += n - 1
		} else {
			o.Lost++
			if len(o.Missing) < 10 {
				o.Missing = append(o.Missing, k)
			}
		}
	}
	sort.Strings(o.Missing)
	return o
}

func (o outcome) String() string {
	return fmt.Sprintf("expected %d, delivered %d, lost %d, duplicated pairs %d (in %d messages)", o.Expected, o.Delivered, o.Lost, o.DupPairs, o.DupMsgs)
}

// settle waits until every expected pair was delivered or timeout passed,
// then a little longer so that late duplicates show.
func settle(t testing.TB, tg *telegramtest.Server, mail *smtptest.Server, want []string, timeout, linger time.Duration) outcome {
	t.Helper()
	eventually(timeout, func() bool { return count(tg, mail).against(want).Lost == 0 })
	time.Sleep(linger)
	return count(tg, mail).against(want)
}

var _ = bytes.NewReader

// Command runs a one-off herald command with the process's settings and
// returns its combined output and exit code.
func (h *heraldProc) Command(timeout time.Duration, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, heraldBin, args...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		h.t.Fatalf("herald %s: %v", strings.Join(args, " "), err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}
