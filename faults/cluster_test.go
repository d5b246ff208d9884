//go:build faults

package faults

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-news/herald/bot/telegramtest"
	"github.com/herald-news/herald/delivery"
	"github.com/herald-news/herald/mailer/smtptest"
	"github.com/herald-news/herald/store"
	"github.com/herald-news/herald/subscriptions"
)

// startCluster starts a three-master Redis Cluster on loopback ports and
// returns its HERALD_REDIS_URL.
// confirmButton finds the token the confirm page's button posts.
var confirmButton = regexp.MustCompile(`name="token" value="([^"]+)"`)

func startCluster(t *testing.T) (string, []*redisProc) {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not installed: cluster test skipped")
	}
	var nodes []*redisProc
	var addrs, urls []string
	for range 3 {
		dir := t.TempDir()
		r := &redisProc{t: t, dir: dir, Port: freePort(t), extra: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000",
		}}
		r.Start()
		t.Cleanup(func() { r.Stop(9) })
		nodes = append(nodes, r)
		addrs = append(addrs, r.Addr())
		urls = append(urls, "redis://"+r.Addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		waitUntil(t, 30*time.Second, "cluster_state:ok on "+n.Addr(), func() bool {
			info, _ := c.ClusterInfo(context.Background()).Result()
			return strings.Contains(info, "cluster_state:ok")
		})
		c.Close()
	}
	return strings.Join(urls, ","), nodes
}

// TestCluster runs the end-to-end flow on a three-master Redis Cluster with
// two herald processes: a chat subscribes through the bot, a reader signs
// up and confirms by email, an article is published, the alert and the
// digest arrive; and the keys are spread over the masters.
func TestCluster(t *testing.T) {
	needRedis(t)
	clusterURL, nodes := startCluster(t)
	st, err := store.Open(clusterURL, store.DefaultPrefix)
	if err != nil {
		t.Fatalf("store.Open(%q): %v", clusterURL, err)
	}
	defer st.Close()
	if _, ok := st.Redis.(*redis.ClusterClient); !ok {
		t.Fatalf("store.Open with several addresses gave %T, want a cluster client", st.Redis)
	}
	tg := telegramtest.New(t, telegramtest.WithLimits(noisyLimits))
	mail := smtptest.New(t)
	site := newNewsSite(t)
	w := world{Redis: clusterURL, TG: tg, Mail: mail, Feeds: []string{site.FeedURL()}}
	a := newHerald(t, "a", "watcher,matcher,web,email", w)
	b := newHerald(t, "b", "matcher,telegram", w)
	a.Start()
	b.Start()
	feedFetched(t, st, site.FeedURL())

	// Subscribe on Telegram.
	const chat = 4242
	tg.AddChat(telegramtest.Chat{ID: chat, Type: telegramtest.Private, FirstName: "Ana"})
	tg.SendText(chat, chat, "/sub belarus")
	reply := tg.WaitSentTo(20*time.Second, chat, 1)[0]
	t.Logf("reply to /sub: %.80q", reply.Plain)

	// Sign up by email and confirm.
	base := "http://" + a.Addr
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formField.FindStringSubmatch(string(page))
	if m == nil {
		t.Fatal("no form token on the sign-up page")
	}
	resp, err = client.PostForm(base+"/subscribe", url.Values{"form": {html.UnescapeString(m[1])}, "email": {"reader@example.org"},
		"topics": {"belarus"}, "frequency": {"instant"}, "hour": {"8"}, "tz": {"UTC"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /subscribe = %d", resp.StatusCode)
	}
	confirm := mail.WaitMessagesTo(20*time.Second, "reader@example.org", 1)[0].Link(base + "/confirm?token=")
	if confirm == "" {
		t.Fatal("no confirmation link")
	}
	// The link's page, then its button.
	if resp, err = client.Get(confirm); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm page: %v %v", resp.StatusCode, err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	button := confirmButton.FindStringSubmatch(string(page))
	if button == nil {
		t.Fatalf("no confirm button on:\n%s", page)
	}
	if resp, err = client.PostForm(base+"/confirm", url.Values{"token": {html.UnescapeString(button[1])}}); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	// Both matchers must know both subscribers before the news.
	subs := subscriptions.NewStore(st)
	n := 0
	if err := subs.Scan(context.Background(), func(*subscriptions.Subscriber) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("Scan over the cluster's masters: %d subscribers, %v; want 2", n, err)
	}
	time.Sleep(2 * time.Second)

	site.Publish("minsk", "Belarus opens a museum of maps in Minsk", storyText("belarus", 600))
	alert := tg.WaitSentTo(30*time.Second, chat, 2)[1]
	if !strings.Contains(alert.Text, "/news/minsk") {
		t.Errorf("alert does not link the article: %s", alert.Text)
	}
	ctx := context.Background()
	waitUntil(t, 30*time.Second, "the digest item", func() bool {
		ids, _ := delivery.Pending(ctx, st)
		return len(ids) == 1
	})
	out, code := a.Command(30*time.Second, "digest", "send", "--now")
	if code != 0 {
		t.Fatalf("herald digest send --now on the cluster: exit %d\n%s", code, out)
	}
	digest := mail.WaitMessagesTo(20*time.Second, "reader@example.org", 2)[1]
	if !strings.Contains(digest.Text, "/news/minsk") {
		t.Errorf("digest lacks the article:\n%s", digest.Text)
	}
	// The keys are spread over the masters.
	var sizes []string
	used := 0
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr()})
		k, _ := c.DBSize(ctx).Result()
		c.Close()
		sizes = append(sizes, strconv.FormatInt(k, 10))
		if k > 0 {
			used++
		}
	}
	t.Logf("keys per master: %s", strings.Join(sizes, ", "))
	if used < 2 {
		t.Errorf("keys on %d of 3 masters: %s", used, strings.Join(sizes, ", "))
	}
	for _, h := range []*heraldProc{a, b} {
		if s := h.get("/readyz"); s != http.StatusOK {
			t.Errorf("%s /readyz = %d on the cluster", h.Name, s)
		}
		if strings.Contains(h.logText(), "CROSSSLOT") {
			t.Errorf("%s logged a CROSSSLOT error", h.Name)
		}
	}
	report.add(reportRow{Scenario: "redis cluster", Expected: 2, Delivered: 2, Note: fmt.Sprintf("3 masters, 2 processes; keys per master %s", strings.Join(sizes, "/"))})
}
