// Package demo runs Herald with nothing to install or configure: an
// embedded Redis, a small newsroom that publishes a sample article every
// few seconds, demo subscribers, and outboxes where Telegram alerts and
// emails are written instead of being sent.
package demo

import (
	"encoding/xml"
	"fmt"
	"html"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Newsroom serves an RSS feed on loopback that grows by one article every
// Every, cycling through the sample stories.
type Newsroom struct {
	Every time.Duration

	mu        sync.Mutex
	published []item
	next      int
	base      string
	srv       *http.Server
	stop      chan struct{}
}

type item struct {
	s    story
	n    int
	when time.Time
}

// Start listens on a free loopback port and starts publishing; initial
// stories are published at once.
func (n *Newsroom) Start(initial int) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("newsroom: %w", err)
	}
	n.base = "http://" + l.Addr().String()
	n.stop = make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", n.feed)
	mux.HandleFunc("/news/", n.page)
	n.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go n.srv.Serve(l)
	for range initial {
		n.publish()
	}
	go func() {
		t := time.NewTicker(n.Every)
		defer t.Stop()
		for {
			select {
			case <-n.stop:
				return
			case <-t.C:
				n.publish()
			}
		}
	}()
	return n.base + "/feed.xml", nil
}

// Close stops the newsroom.
func (n *Newsroom) Close() {
	if n.stop != nil {
		close(n.stop)
		n.srv.Close()
	}
}

func (n *Newsroom) publish() {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := stories[n.next%len(stories)]
	n.published = append(n.published, item{s: s, n: n.next, when: time.Now().UTC()})
	n.next++
}

func (n *Newsroom) link(it item) string {
	return fmt.Sprintf("%s/news/%s-%d", n.base, it.s.Slug, it.n)
}

type rss struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Content string   `xml:"xmlns:content,attr"`
	Channel channel  `xml:"channel"`
}

type channel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Items       []rssItem `xml:"item"`
}

type rssItem struct {
	Title    string `xml:"title"`
	Link     string `xml:"link"`
	GUID     string `xml:"guid"`
	PubDate  string `xml:"pubDate"`
	Author   string `xml:"author"`
	Category string `xml:"category"`
	Desc     string `xml:"description"`
	Encoded  string `xml:"content:encoded"`
}

func (n *Newsroom) feed(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	items := append([]item(nil), n.published...)
	n.mu.Unlock()
	doc := rss{Version: "2.0", Content: "http://purl.org/rss/1.0/modules/content/", Channel: channel{
		Title: "Demo Newsroom", Link: n.base + "/", Description: "Sample articles for trying Herald",
	}}
	for i := len(items) - 1; i >= 0 && len(doc.Channel.Items) < 20; i-- {
		it := items[i]
		var body strings.Builder
		for _, p := range it.s.Paragraphs {
			body.WriteString("<p>" + html.EscapeString(p) + "</p>")
		}
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title: it.s.Title, Link: n.link(it), GUID: n.link(it), PubDate: it.when.Format(time.RFC1123Z),
			Author: it.s.Author, Category: it.s.Category, Desc: it.s.Paragraphs[0], Encoded: body.String(),
		})
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	enc.Encode(doc)
}

func (n *Newsroom) page(w http.ResponseWriter, r *http.Request) {
	slug := strings.TrimPrefix(r.URL.Path, "/news/")
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, it := range n.published {
		if strings.HasSuffix(n.link(it), "/news/"+slug) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><article><h1>%s</h1>",
				html.EscapeString(it.s.Title), html.EscapeString(it.s.Title))
			for _, p := range it.s.Paragraphs {
				fmt.Fprintf(w, "<p>%s</p>", html.EscapeString(p))
			}
			fmt.Fprint(w, "</article></body></html>")
			return
		}
	}
	http.NotFound(w, r)
}
