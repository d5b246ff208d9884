package service_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/article"
	"github.com/herald-news/herald/articles"
	"github.com/herald-news/herald/bounce"
	"github.com/herald-news/herald/config"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/service"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/store/storetest"
	"github.com/herald-news/herald/subscriptions"
)

// postfix is a Postfix instance of the test's own: its configuration,
// queue and mailboxes in one directory, listening on loopback only.
type postfix struct {
	dir  string
	port int
	t    *testing.T
}

// findPostfix returns the postfix command, or why the test cannot run
// Postfix here.
func findPostfix() (string, string) {
	bin, err := exec.LookPath("postfix")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postfix"); serr != nil {
			return "", "postfix is not installed (Debian: apt-get install postfix, choosing \"No configuration\")"
		}
		bin = "/usr/sbin/postfix"
	}
	if os.Geteuid() != 0 {
		return "", "postfix must be started as root"
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return "", "there is no postfix user"
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		return "", "there is no postdrop group"
	}
	return bin, ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPostfix configures and starts Postfix: STARTTLS on its smtpd with a
// certificate of the test CA; mail for example.org into Maildirs (the
// mailboxes named); mail for other domains relayed by transports (domain
// -> host:port); recipients checked with the policy service at policy.
func startPostfix(t *testing.T, bin string, mailboxes []string, transports map[string]string, policy string) *postfix {
	t.Helper()
	// Not t.TempDir: Postfix's daemons run as the postfix user and must
	// reach the queue through directories it may enter.
	dir, err := os.MkdirTemp("", "herald-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &postfix{dir: dir, port: freePort(t), t: t}
	pu, _ := user.Lookup("postfix")
	uid, _ := strconv.Atoi(pu.Uid)
	gid, _ := strconv.Atoi(pu.Gid)
	for _, d := range []string{"etc", "queue", "data", "mail", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"data", "mail", "log"} {
		if err := os.Chown(filepath.Join(dir, d), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	certFile, keyFile := serverCert(t, filepath.Join(dir, "etc"))
	var vmail, transport strings.Builder
	for _, m := range mailboxes {
		local, _, _ := strings.Cut(m, "@")
		fmt.Fprintf(&vmail, "%s %s/\n", m, local)
	}
	for domain, hostport := range transports {
		host, port, _ := net.SplitHostPort(hostport)
		fmt.Fprintf(&transport, "%s smtp:[%s]:%s\n", domain, host, port)
	}
	etc := filepath.Join(dir, "etc")
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("vmailbox", vmail.String())
	write("transport", transport.String())
	// texthash maps need no postmap; DNS is never asked (the test may run
	// in a network namespace with loopback only).
	write("main.cf", `compatibility_level = 3.6
queue_directory = `+filepath.Join(dir, "queue")+`
data_directory = `+filepath.Join(dir, "data")+`
mail_owner = postfix
setgid_group = postdrop
maillog_file = `+filepath.Join(dir, "log", "postfix.log")+`
maillog_file_prefixes = `+dir+`
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = relay.herald.test
mydomain = herald.test
myorigin = $myhostname
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
notify_classes =
biff = no
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_policy_service inet:`+policy+`
smtpd_tls_security_level = may
smtpd_tls_cert_file = `+certFile+`
smtpd_tls_key_file = `+keyFile+`
smtpd_tls_received_header = yes
smtp_tls_security_level = none
transport_maps = texthash:`+filepath.Join(etc, "transport")+`
virtual_mailbox_domains = example.org
virtual_mailbox_base = `+filepath.Join(dir, "mail")+`
virtual_mailbox_maps = texthash:`+filepath.Join(etc, "vmailbox")+`
virtual_minimum_uid = 1
virtual_uid_maps = static:`+pu.Uid+`
virtual_gid_maps = static:`+pu.Gid+`
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`)
	write("master.cf", fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
`, p.port))
	if out, err := exec.Command(bin, "-c", etc, "start").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("postfix start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "log", "postfix.log")); err == nil {
				t.Logf("postfix log:\n%s", b)
			}
		}
		if out, err := exec.Command(bin, "-c", etc, "stop").CombinedOutput(); err != nil {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	// Started means its smtpd answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", p.addr())
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220 ") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix does not answer on %s", p.addr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *postfix) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// maildir returns the messages delivered to a mailbox's new/ folder.
func (p *postfix) maildir(local string) []string {
	dir := filepath.Join(p.dir, "mail", local, "new")
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			out = append(out, string(b))
		}
	}
	return out
}

// greylist is a Postfix policy service (SMTPD_POLICY_README) that defers
// the first RCPT for each address it is given, as greylisting does, and
// lets everything else through.
type greylist struct {
	addr   string
	mu     sync.Mutex
	greyed map[string]bool // address -> deferred once already
	asked  map[string]int
}

func startGreylist(t *testing.T, addrs ...string) *greylist {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &greylist{addr: l.Addr().String(), greyed: map[string]bool{}, asked: map[string]int{}}
	for _, a := range addrs {
		g.greyed[a] = false
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				g.serve(c)
			}()
		}
	}()
	return g
}

func (g *greylist) serve(c net.Conn) {
	r := bufio.NewReader(c)
	attrs := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			k, v, _ := strings.Cut(line, "=")
			attrs[k] = v
			continue
		}
		action := "DUNNO"
		rcpt := strings.ToLower(attrs["recipient"])
		g.mu.Lock()
		g.asked[rcpt]++
		if done, ok := g.greyed[rcpt]; ok && !done {
			g.greyed[rcpt] = true
			action = "450 4.2.0 Greylisted, try again later"
		}
		g.mu.Unlock()
		if _, err := fmt.Fprintf(c, "action=%s\n\n", action); err != nil {
			return
		}
		attrs = map[string]string{}
	}
}

func (g *greylist) times(addr string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.asked[addr]
}

// Herald sends through a real Postfix: a digest delivered to a Maildir
// over STARTTLS, a greylisting 4xx retried, a 5xx at RCPT recorded, and
// bounces after the relay accepted (a second server refuses) that come
// back to herald's bounce listener as Postfix's own DSNs and suspend the
// reader on the third.
func TestPostfix(t *testing.T) {
	bin, why := findPostfix()
	if why != "" {
		// Printed as well as skipped, so that a plain `go test ./...` shows
		// that the real-MTA test did not run.
		fmt.Fprintf(os.Stderr, "TestPostfix skipped: %s\n", why)
		t.Skip(why)
	}
	st := storetest.New(t)
	ctx := context.Background()
	const domain = "bounces.herald.test"
	const secret = "postfix-test-secret"

	dead := smtptest.New(t) // the mail server of dead.example
	dead.FailRecipient("dead@dead.example", 550)
	grey := startGreylist(t, "greylisted@example.org")
	bounceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pf := startPostfix(t, bin, []string{"reader@example.org", "greylisted@example.org"},
		map[string]string{"dead.example": dead.Addr, domain: bounceLn.Addr().String()}, grey.addr)

	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.RedisURL = storetest.URL()
	cfg.KeyPrefix = st.Prefix
	cfg.HTTPAddr = web.Addr().String()
	cfg.PublicURL = "https://news.herald.test"
	cfg.Secret = secret
	// STARTTLS is required (no ?tls=none): Postfix's certificate is
	// trusted through SSL_CERT_FILE (TestMain).
	cfg.SMTPURL = "smtp://" + pf.addr()
	cfg.MailFrom = "Herald <news@herald.test>"
	cfg.BounceDomain = domain
	cfg.BounceAddr = bounceLn.Addr().String()
	svc := runEmailRole(t, ctx, service.Options{Config: cfg, Store: st, Listener: web, BounceListener: bounceLn})

	// Daily readers whose hour is half a day away: the email role's own
	// rounds never find them due, so only this test's rounds send.
	hour := (time.Now().UTC().Hour() + 12) % 24
	reader := func(addr string) *subscriptions.Subscriber {
		s := &subscriptions.Subscriber{ID: subscriptions.NewReaderID(), Kind: subscriptions.KindEmail, Email: addr,
			Status: subscriptions.StatusActive, Topics: []string{"belarus"}, Frequency: "daily", Hour: hour, TZ: "UTC"}
		if err := svc.Subs.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	publish := func(sub *subscriptions.Subscriber) { queueDigest(t, st, sub) }
	send := func() (int, int) {
		t.Helper()
		sent, err := svc.Mailer.SendDigests(ctx, true)
		var round *mailer.RoundError
		if err != nil && !errors.As(err, &round) {
			t.Fatalf("SendDigests: %v", err)
		}
		if round != nil {
			return sent, round.Failed
		}
		return sent, 0
	}
	signer := bounce.NewSigner([]byte(secret), domain)

	t.Run("delivered", func(t *testing.T) {
		r := reader("reader@example.org")
		publish(r)
		if sent, failed := send(); sent != 1 || failed != 0 {
			t.Fatalf("sent %d, failed %d; want 1 sent", sent, failed)
		}
		waitFor(t, 20*time.Second, "the digest in reader's Maildir", func() bool { return len(pf.maildir("reader")) == 1 })
		raw := pf.maildir("reader")[0]
		m, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			t.Fatalf("delivered message: %v\n%s", err, raw)
		}
		if got := m.Header.Get("Subject"); !strings.Contains(got, "1 new article") {
			t.Errorf("Subject %q", got)
		}
		if got := m.Header.Get("List-Id"); got != "Herald digest <digest.news.herald.test>" {
			t.Errorf("List-Id %q", got)
		}
		if m.Header.Get("List-Unsubscribe") == "" || m.Header.Get("X-Mailer") != "" || m.Header.Get("User-Agent") != "" {
			t.Errorf("headers: List-Unsubscribe %q, X-Mailer %q, User-Agent %q", m.Header.Get("List-Unsubscribe"), m.Header.Get("X-Mailer"), m.Header.Get("User-Agent"))
		}
		// Postfix notes the TLS of the session in its Received header, and
		// the envelope sender as the Return-Path.
		if rcv := strings.Join(m.Header["Received"], "\n"); !strings.Contains(rcv, "using TLS") || !strings.Contains(rcv, "[127.0.0.1]") {
			t.Errorf("Received does not show a TLS session from herald:\n%s", rcv)
		}
		rp := strings.Trim(m.Header.Get("Return-Path"), "<>")
		if ref, err := signer.Verify(rp, time.Now()); err != nil || ref.Reader != r.ID {
			t.Errorf("Return-Path %q: %+v, %v; want a bounce address naming %s", rp, ref, err, r.ID)
		}
		body, _ := io.ReadAll(m.Body)
		if !strings.Contains(string(body), "Belarus story") {
			t.Errorf("the body does not list the article:\n%s", body)
		}
	})

	t.Run("greylisted, then retried", func(t *testing.T) {
		r := reader("greylisted@example.org")
		publish(r)
		if sent, failed := send(); sent != 0 || failed != 1 {
			t.Fatalf("first try: sent %d, failed %d; want the 450 to fail it", sent, failed)
		}
		if items, _ := delivery.Items(ctx, st, r.ID); len(items) != 1 {
			t.Fatalf("%d items left after a 450, want 1", len(items))
		}
		if sent, failed := send(); sent != 1 || failed != 0 {
			t.Fatalf("retry: sent %d, failed %d; want 1 sent", sent, failed)
		}
		waitFor(t, 20*time.Second, "the retried digest in the Maildir", func() bool { return len(pf.maildir("greylisted")) == 1 })
		if got := grey.times("greylisted@example.org"); got != 2 {
			t.Errorf("the policy service was asked %d times, want 2", got)
		}
		if s, _ := svc.Subs.Get(ctx, r.ID); s.Bounces != 0 {
			t.Errorf("a 450 counted as a bounce: %d", s.Bounces)
		}
	})

	t.Run("refused at RCPT", func(t *testing.T) {
		r := reader("nobody@example.org")
		publish(r)
		if sent, failed := send(); sent != 0 || failed != 1 {
			t.Fatalf("sent %d, failed %d; want the 550 to fail it", sent, failed)
		}
		if s, _ := svc.Subs.Get(ctx, r.ID); s.Bounces != 1 {
			t.Fatalf("after a 550 at RCPT: %d bounces, want 1", s.Bounces)
		}
		// Out of the way of the rounds below, which force every digest.
		if _, err := svc.Subs.Update(ctx, r.ID, func(s *subscriptions.Subscriber) error {
			s.Status = subscriptions.StatusUnsubscribed
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bounced after acceptance", func(t *testing.T) {
		r := reader("dead@dead.example")
		for i := 1; i <= mailer.HardBounceLimit; i++ {
			publish(r)
			// Postfix accepts: for herald the digest is sent.
			if sent, failed := send(); sent != 1 || failed != 0 {
				t.Fatalf("digest %d: sent %d, failed %d; want the relay to accept it", i, sent, failed)
			}
			waitFor(t, 30*time.Second, fmt.Sprintf("Postfix's DSN of digest %d to reach herald", i), func() bool {
				s, err := svc.Subs.Get(ctx, r.ID)
				return err == nil && s.Bounces == i
			})
		}
		s, _ := svc.Subs.Get(ctx, r.ID)
		if s.Status != subscriptions.StatusSuspended {
			t.Fatalf("after %d DSNs the reader is %s, want suspended", mailer.HardBounceLimit, s.Status)
		}
		if got := len(dead.Rejections()); got != mailer.HardBounceLimit {
			t.Errorf("dead.example refused %d times, want %d", got, mailer.HardBounceLimit)
		}
		publish(r)
		if sent, _ := send(); sent != 0 {
			t.Fatalf("a digest went to a suspended address")
		}
	})

	metrics := scrape(t, "http://"+svc.Addr()+"/metrics")
	for _, want := range []string{
		`herald_email_bounces_total{kind="hard",via="report"} 3`,
		`herald_email_bounces_total{kind="hard",via="smtp"} 1`,
		`herald_email_deferrals_total{via="smtp"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

var storyNo atomic.Int64

// queueDigest stores a new article and queues it for sub's digest, as the
// matcher does.
func queueDigest(t *testing.T, st *store.Store, sub *subscriptions.Subscriber) {
	t.Helper()
	ctx := context.Background()
	n := storyNo.Add(1)
	u := fmt.Sprintf("https://news.example/belarus-%d", n)
	pub := time.Now().Add(-time.Hour).UTC()
	a := article.Article{ID: article.IDFor(u), URL: u, Title: fmt.Sprintf("Belarus story %d", n), Published: &pub,
		Source: "Example News", Summary: "What happened in Minsk today."}
	if err := articles.Save(ctx, st, &a); err != nil {
		t.Fatal(err)
	}
	items := []delivery.Digest{{Sub: sub.ID, Item: delivery.Item{Article: a.ID, Topic: "belarus", At: time.Now()}}}
	if _, _, err := delivery.EnqueueBatch(ctx, st, a.ID, nil, items); err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
