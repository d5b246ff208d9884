package smtptest

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail"
)

const wait = 10 * time.Second

// client is a go-mail client for s, the way Herald talks to a relay with
// ?tls=none.
func client(t *testing.T, s *Server, user, pass string) *mail.Client {
	t.Helper()
	opts := []mail.Option{mail.WithPort(s.Port), mail.WithTLSPolicy(mail.NoTLS), mail.WithTimeout(wait)}
	if user != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlainNoEnc), mail.WithUsername(user), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		t.Fatalf("mail.NewClient: %v", err)
	}
	return c
}

func message(t *testing.T, to, subject, text string, opts ...mail.MsgOption) *mail.Msg {
	t.Helper()
	m := mail.NewMsg(opts...)
	if err := m.From("Herald <news@example.org>"); err != nil {
		t.Fatal(err)
	}
	if err := m.To(to); err != nil {
		t.Fatal(err)
	}
	m.Subject(subject)
	m.SetMessageID()
	m.SetDate()
	m.SetBodyString(mail.TypeTextPlain, text)
	return m
}

func TestMultipartAlternativeDecoded(t *testing.T) {
	s := New(t, WithAuth("herald", "s3cret"))
	if got, want := s.URL(), "smtp://herald:s3cret@"+s.Addr+"?tls=none"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
	link := "http://127.0.0.1:8080/confirm?token=" + strings.Repeat("abcdef0123456789", 8)
	text := "Привет! Confirm your subscription:\n" + link + "\n\n" + strings.Repeat("long line ", 20)
	m := message(t, "Reader <reader@example.com>", "Ваш дайджест — Herald", text)
	m.AddAlternativeString(mail.TypeTextHTML, `<p>Привет! <a href="`+strings.ReplaceAll(link, "&", "&amp;")+`">Confirm</a></p>`)
	m.SetGenHeader("List-Unsubscribe", "<https://example.org/unsubscribe?token=x>")
	b64 := message(t, "other@example.com", "Base64", "Hello in base64: "+link+".", mail.WithEncoding(mail.EncodingB64))

	if err := client(t, s, "herald", "s3cret").DialAndSend(m, b64); err != nil {
		t.Fatalf("DialAndSend: %v", err)
	}
	got := s.WaitMessages(wait, 2)
	first := got[0]
	if first.Err != nil {
		t.Fatalf("parse: %v", first.Err)
	}
	if first.From != "news@example.org" || len(first.To) != 1 || first.To[0] != "reader@example.com" {
		t.Fatalf("envelope = %q -> %q", first.From, first.To)
	}
	if first.Subject != "Ваш дайджест — Herald" {
		t.Fatalf("Subject = %q", first.Subject)
	}
	if first.HeaderValue("List-Unsubscribe") != "<https://example.org/unsubscribe?token=x>" || first.Header.Get("Message-Id") == "" {
		t.Fatalf("headers = %v", first.Header)
	}
	if first.Text != text {
		t.Fatalf("Text = %q\nwant %q", first.Text, text)
	}
	if !strings.Contains(first.HTML, `<a href="`) || !strings.Contains(first.HTML, "Привет!") {
		t.Fatalf("HTML = %q", first.HTML)
	}
	if len(first.Parts) != 2 || first.Parts[0].ContentType != "text/plain" || first.Parts[1].ContentType != "text/html" {
		t.Fatalf("parts = %+v", first.Parts)
	}
	if got := first.Link("http://127.0.0.1:8080/confirm"); got != link {
		t.Fatalf("Link = %q, want %q", got, link)
	}
	if _, err := url.Parse(first.Link("http://127.0.0.1:8080/")); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got[1].Text) != "Hello in base64: "+link+"." || got[1].Link("http://127.0.0.1:8080/confirm") != link {
		t.Fatalf("base64 message: %q, link %q", got[1].Text, got[1].Link("http://127.0.0.1:8080/confirm"))
	}
	if !strings.Contains(string(got[1].Data), "Content-Transfer-Encoding: base64") {
		t.Fatal("second message was not sent in base64")
	}
}

func TestSeveralMessagesOverOneConnection(t *testing.T) {
	s := New(t)
	c := client(t, s, "", "")
	var msgs []*mail.Msg
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		msgs = append(msgs, message(t, to, "Digest for "+to, "hello "+to))
	}
	if err := c.DialAndSend(msgs...); err != nil {
		t.Fatalf("DialAndSend: %v", err)
	}
	got := s.WaitMessages(wait, 3)
	for i, m := range got {
		if m.Conn != 1 {
			t.Fatalf("message %d came over connection %d", i, m.Conn)
		}
	}
	if s.Connections() != 1 {
		t.Fatalf("Connections = %d, want 1", s.Connections())
	}
	if to := s.MessagesTo("B@example.com"); len(to) != 1 || strings.TrimSpace(to[0].Text) != "hello b@example.com" {
		t.Fatalf("MessagesTo = %+v", to)
	}
}

// sendErr sends one message and returns go-mail's SendError, if any.
func sendErr(t *testing.T, s *Server, to string) *mail.SendError {
	t.Helper()
	err := client(t, s, "", "").DialAndSend(message(t, to, "Hi", "hi"))
	if err == nil {
		return nil
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error is not a SendError: %v", err)
	}
	return se
}

func TestTemporaryFailureThenSuccess(t *testing.T) {
	s := New(t)
	s.Fail(451, 1)
	se := sendErr(t, s, "reader@example.com")
	if se == nil || !se.IsTemp() || se.ErrorCode() != 451 {
		t.Fatalf("first attempt: %v (temp %v, code %d)", se, se != nil && se.IsTemp(), se.ErrorCode())
	}
	if len(s.Messages()) != 0 {
		t.Fatal("a refused message was captured")
	}
	if se := sendErr(t, s, "reader@example.com"); se != nil {
		t.Fatalf("retry: %v", se)
	}
	s.WaitMessages(wait, 1)
	if r := s.Rejections(); len(r) != 1 || r[0].Stage != AtData || r[0].Code != 451 {
		t.Fatalf("rejections = %+v", r)
	}
}

func TestPermanentFailure(t *testing.T) {
	s := New(t)
	s.FailRecipient("gone@example.com", 550)
	se := sendErr(t, s, "gone@example.com")
	if se == nil || se.IsTemp() || se.ErrorCode() != 550 || se.EnhancedStatusCode() != "5.1.1" {
		t.Fatalf("550: %v", se)
	}
	if se := sendErr(t, s, "fine@example.com"); se != nil {
		t.Fatalf("other recipient: %v", se)
	}
	if se := sendErr(t, s, "gone@example.com"); se == nil {
		t.Fatal("the recipient fault is meant to last")
	}
	if len(s.Messages()) != 1 {
		t.Fatalf("captured %d messages, want 1", len(s.Messages()))
	}
}

func TestServiceClosingAndDrop(t *testing.T) {
	s := New(t)
	s.FailAt(AtMail, 421, 1)
	if se := sendErr(t, s, "a@example.com"); se == nil || !se.IsTemp() {
		t.Fatalf("421: %v", se)
	}
	s.Fail(421, 1)
	if se := sendErr(t, s, "a@example.com"); se == nil || !se.IsTemp() || se.ErrorCode() != 421 {
		t.Fatalf("421 after DATA: %v", se)
	}
	s.DropNext(1)
	if se := sendErr(t, s, "a@example.com"); se == nil {
		t.Fatal("dropped connection: no error")
	}
	if se := sendErr(t, s, "a@example.com"); se != nil {
		t.Fatalf("after faults: %v", se)
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("captured %d messages, want 1", n)
	}
	if s.Connections() != 4 {
		t.Fatalf("Connections = %d, want 4", s.Connections())
	}
	if r := s.Rejections(); len(r) != 3 || r[0].Stage != AtMail || r[1].Code != 421 || r[2].Code != 0 {
		t.Fatalf("rejections = %+v", r)
	}
}

func TestAuthRequired(t *testing.T) {
	s := New(t, WithAuth("herald", "s3cret"))
	if err := client(t, s, "herald", "wrong").DialAndSend(message(t, "a@example.com", "x", "x")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := client(t, s, "", "").DialAndSend(message(t, "a@example.com", "x", "x")); err == nil {
		t.Fatal("unauthenticated MAIL accepted")
	}
	if len(s.Messages()) != 0 {
		t.Fatal("message captured without auth")
	}
}

func TestSlowReplies(t *testing.T) {
	s := New(t)
	s.SetDelay(20 * time.Millisecond)
	start := time.Now()
	if se := sendErr(t, s, "a@example.com"); se != nil {
		t.Fatal(se)
	}
	// MAIL, RCPT and DATA are each held back.
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("sent in %v despite the delay", d)
	}
}

func TestLink(t *testing.T) {
	m := &Message{
		Text: "Open (https://h.example/confirm?token=a.b-c) now.\nOr https://h.example/manage?token=z.",
		HTML: `<a href="https://h.example/unsubscribe?token=q&amp;x=1">u</a>`,
	}
	for prefix, want := range map[string]string{
		"https://h.example/confirm":     "https://h.example/confirm?token=a.b-c",
		"https://h.example/manage":      "https://h.example/manage?token=z",
		"https://h.example/unsubscribe": "https://h.example/unsubscribe?token=q&x=1",
		"https://h.example/none":        "",
		"example/confirm":               "",
	} {
		if got := m.Link(prefix); got != want {
			t.Errorf("Link(%q) = %q, want %q", prefix, got, want)
		}
	}
}

func TestParallelConnections(t *testing.T) {
	s := New(t)
	const conns, each = 4, 5
	errs := make(chan error, conns)
	for i := range conns {
		var msgs []*mail.Msg
		for j := range each {
			msgs = append(msgs, message(t, "r@example.com", "n", strings.Repeat("x", i*each+j)))
		}
		c := client(t, s, "", "")
		go func() { errs <- c.DialAndSend(msgs...) }()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := s.WaitMessages(wait, conns*each)
	perConn := map[int]int{}
	for _, m := range got {
		perConn[m.Conn]++
	}
	if s.Connections() != conns || len(perConn) != conns {
		t.Fatalf("Connections = %d, messages per connection %v", s.Connections(), perConn)
	}
}

// A held reply keeps the message unaccepted until it is let go; each
// HoldNext holds one message of its own.
func TestHoldNext(t *testing.T) {
	s := New(t)
	releaseA, releaseB := s.HoldNext(), s.HoldNext()
	done := make(chan error, 2)
	for _, to := range []string{"a@example.com", "b@example.com"} {
		c, m := client(t, s, "", ""), message(t, to, "Hi", "hi")
		go func() { done <- c.DialAndSend(m) }()
	}
	s.WaitUntil(wait, func() bool { return s.Holding() == 2 })
	if got := len(s.Messages()); got != 0 {
		t.Fatalf("%d messages accepted while their replies were held", got)
	}
	releaseA()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := len(s.Messages()); got != 1 || s.Holding() != 1 {
		t.Fatalf("after one release: %d accepted, %d held; want 1 and 1", got, s.Holding())
	}
	releaseB()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.WaitMessages(wait, 2)
	releaseA() // a second call is harmless
}
