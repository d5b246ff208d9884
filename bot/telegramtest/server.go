// Package telegramtest is an in-test double of the Telegram Bot API that
// behaves like Telegram: a real HTTP server (httptest) that a bot client
// talks to through bot.WithServerURL(srv.URL) or plain HTTP.
//
// It keeps a registry of chats and users, queues incoming updates for
// getUpdates (long polling, 409 on a competing poller) or pushes them to a
// webhook, validates what the bot sends (chat exists, not blocked, not
// migrated, the bot's own membership and right to post, HTML parse mode,
// 4096-character limit, inline keyboards), sends my_chat_member updates
// when the bot's membership changes (SetBotStatus, Block) and
// edited_message updates for edits (EditText),
// enforces Telegram's flood limits with 429 and retry_after, and records
// every request and every message. Faults (error answers, delays, reset
// connections, and answers spoiled after a message was accepted: garbled,
// stalled, reset) can be switched on per method and chat; each spoiled
// answer is recorded (Misanswered), so a test can tell the copies a client
// may legitimately have sent from the ones it should not have.
//
// Requests go to {URL}/bot{Token}/{method}, as GET with query parameters or
// POST with a JSON, urlencoded or multipart body, like the real Bot API.
//
// A typical test:
//
//	srv := telegramtest.New(t)
//	srv.AddChat(telegramtest.Chat{ID: 42, Type: telegramtest.Private})
//	b, err := bot.New(srv.Token, bot.WithServerURL(srv.URL)) // or HERALD_TELEGRAM_API_URL=srv.URL
//	go b.Start(ctx)
//	srv.SendText(42, 42, "/sub belarus")
//	reply := srv.WaitSentTo(5*time.Second, 42, 1)[0]
//	srv.PressButton(42, 42, reply.MessageID, reply.Buttons()[0].CallbackData)
//
// Flood limits use the real clock unless WithClock is given; a test about
// something else can switch them off with WithLimits(NoLimits).
package telegramtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the bot token a Server accepts unless WithToken is given.
const DefaultToken = "123456789:AAH-herald-test-token_0123456789abc"

// ChatType is the type of a Telegram chat.
type ChatType string

// The chat types Telegram knows.
const (
	Private    ChatType = "private"
	Group      ChatType = "group"
	Supergroup ChatType = "supergroup"
	Channel    ChatType = "channel"
)

// Chat is a chat the test registers with AddChat.
type Chat struct {
	ID        int64    `json:"id"`
	Type      ChatType `json:"type"`
	Title     string   `json:"title,omitempty"`
	Username  string   `json:"username,omitempty"` // without "@"
	FirstName string   `json:"first_name,omitempty"`
}

// User is a Telegram user (or the bot itself).
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

// Limits are the flood limits the double enforces on sendMessage. A zero
// field switches that limit off.
type Limits struct {
	// ChatInterval is the least time between two messages to one chat
	// (Telegram: 1 s).
	ChatInterval time.Duration
	// GroupPerMinute caps messages to one group, supergroup or channel in
	// any sliding minute (Telegram: 20).
	GroupPerMinute int
	// BotPerSecond caps messages from the bot in any sliding second
	// (Telegram: about 30).
	BotPerSecond int
	// PaidPerSecond replaces BotPerSecond for messages sent with
	// allow_paid_broadcast (Telegram: 1000).
	PaidPerSecond int
}

// DefaultLimits are Telegram's documented limits.
var DefaultLimits = Limits{ChatInterval: time.Second, GroupPerMinute: 20, BotPerSecond: 30, PaidPerSecond: 1000}

// NoLimits switches flood control off (for tests about something else).
var NoLimits = Limits{}

type config struct {
	token       string
	botName     string
	limits      Limits
	privacy     bool
	autoChats   bool
	strictAmp   bool
	maxPollWait time.Duration
	clock       func() time.Time
}

// Option configures a Server.
type Option func(*config)

// WithToken sets the bot token the server accepts (others get 401).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithBotUsername sets the bot's username (default "herald_test_bot"); it
// decides which "/cmd@name" commands are addressed to the bot.
func WithBotUsername(name string) Option {
	return func(c *config) { c.botName = strings.TrimPrefix(name, "@") }
}

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// WithRate sets the bot-wide limit in messages per second, keeping the
// per-chat and per-group limits.
func WithRate(perSecond int) Option { return func(c *config) { c.limits.BotPerSecond = perSecond } }

// WithPrivacyMode sets the bot's group privacy mode (on by default, as on
// Telegram): when on, a group message reaches the bot only if it is a
// command addressed to it (or to no bot in particular) or mentions it.
func WithPrivacyMode(on bool) Option { return func(c *config) { c.privacy = on } }

// WithAutoChats makes any unknown chat id valid: positive ids become private
// chats, negative ones groups. For load tests with thousands of chats.
func WithAutoChats() Option { return func(c *config) { c.autoChats = true } }

// WithLenientAmpersand accepts an "&" that starts no entity, as Telegram
// does; by default the double rejects it because it betrays unescaped text.
func WithLenientAmpersand() Option { return func(c *config) { c.strictAmp = false } }

// WithMaxPollWait caps how long one getUpdates waits, whatever its timeout.
func WithMaxPollWait(d time.Duration) Option { return func(c *config) { c.maxPollWait = d } }

// WithClock makes the flood limits and recorded times use now instead of
// the real clock, so a test can step time rather than wait (getUpdates and
// delays still wait in real time).
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// Server is the Bot API double. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give the client (bot.WithServerURL(URL)).
	URL string
	// Token is the bot token the server accepts.
	Token string
	// Bot is the bot's own user, as getMe returns it.
	Bot User

	t   testing.TB
	srv *httptest.Server
	cfg config

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every state change
	closed   chan struct{}
	wg       sync.WaitGroup
	chats    map[int64]*chatState
	users    map[int64]User
	updates  []pendingUpdate
	history  []pendingUpdate // every update queued, for Redeliver
	updateID int64
	allowed  []string // allowed_updates from the last getUpdates that gave it
	poll     *poller
	webhook  webhook
	sent     []Message
	edits    []Message
	answers  []CallbackAnswer
	queries  map[string]bool // callback query ids not yet answered
	queryID  int
	commands map[string][]Command // by scope and language, see commandsKey
	deleted  []Message
	actions  []ChatAction
	calls    []Call
	perMeth  map[string]int
	tooMany  int
	botSends []time.Time // sliding one-second window, oldest first
	paidSend []time.Time
	faults   []*Fault
	inFlight map[string]int // requests being answered, by method (a call is recorded when it ends)
}

type chatState struct {
	Chat
	blocked    bool      // the bot left, was kicked or blocked: sends answer 403
	botStatus  BotStatus // "" until a test sets it: see botStatusLocked
	botCanPost bool      // with botStatus administrator of a channel
	typed      map[int]typedMessage
	migratedTo int64
	admins     map[int64]bool
	owner      int64
	nextMsgID  int
	lastSend   time.Time
	window     []time.Time // group sends in the last minute, oldest first
	messages   map[int]*Message
}

// New starts a Bot API double that is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config{token: DefaultToken, botName: "herald_test_bot", limits: DefaultLimits, privacy: true, strictAmp: true, clock: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	botID, _ := strconv.ParseInt(strings.SplitN(cfg.token, ":", 2)[0], 10, 64)
	s := &Server{
		Token:    cfg.token,
		Bot:      User{ID: botID, IsBot: true, FirstName: "Herald Test", Username: cfg.botName},
		t:        t,
		cfg:      cfg,
		changed:  make(chan struct{}),
		closed:   make(chan struct{}),
		chats:    map[int64]*chatState{},
		users:    map[int64]User{},
		queries:  map[string]bool{},
		perMeth:  map[string]int{},
		inFlight: map[string]int{},
		commands: map[string][]Command{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

// close wakes long polls and stops webhook delivery before closing the HTTP
// server, whose Close waits for every request in flight.
func (s *Server) close() {
	s.mu.Lock()
	select {
	case <-s.closed:
		s.mu.Unlock()
		return
	default:
	}
	close(s.closed)
	s.mu.Unlock()
	s.wg.Wait()
	s.srv.Close()
}

func (s *Server) now() time.Time { return s.cfg.clock() }

// notifyLocked wakes everyone waiting for a state change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return errors.New("telegramtest: server closed")
		}
	}
}

// apiError is an unsuccessful Bot API answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
	migrateTo  int64
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.desc) }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

func tooManyRequests(retryAfter int) *apiError {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &apiError{code: http.StatusTooManyRequests, desc: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter}
}

type response struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.code == http.StatusBadGateway || e.code == http.StatusGatewayTimeout {
		// Telegram's front nginx answers these with an HTML page, not JSON.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(e.code)
		fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			e.code, http.StatusText(e.code), e.code, http.StatusText(e.code))
		return
	}
	r := response{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 || e.migrateTo != 0 {
		r.Parameters = &responseParams{RetryAfter: e.retryAfter, MigrateToChatID: e.migrateTo}
	}
	writeJSON(w, e.code, r)
}

// Call is one recorded request.
type Call struct {
	Method string            // as Telegram spells it, e.g. "sendMessage"
	Params map[string]string // every parameter; JSON values as raw JSON text
	Status int               // HTTP status answered (0 if the connection was reset or stalled)
	Time   time.Time
	// Misanswer says how the answer of a request that took effect was
	// spoiled by a fault (one of the Mis* kinds), or "".
	Misanswer string
}

type handlerFunc func(s *Server, r *http.Request, p params) (any, *apiError)

var methods = map[string]struct {
	name string
	fn   handlerFunc
}{}

func register(name string, fn handlerFunc) {
	methods[strings.ToLower(name)] = struct {
		name string
		fn   handlerFunc
	}{name, fn}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	if !ok {
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	token, method, _ := strings.Cut(rest, "/")
	method = strings.TrimPrefix(method, "test/") // the test environment's paths
	if token != s.Token {
		writeError(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	m, ok := methods[strings.ToLower(method)]
	if !ok {
		writeError(w, &apiError{code: http.StatusNotFound, desc: "Not Found: method not found"})
		return
	}
	p, perr := parseParams(r)
	call := Call{Method: m.name, Params: p, Time: s.now()}
	s.mu.Lock()
	s.perMeth[m.name]++
	s.inFlight[m.name]++
	s.mu.Unlock()

	status, mis := s.serveMethod(w, r, m.name, m.fn, p, perr)

	call.Status, call.Misanswer = status, mis
	s.mu.Lock()
	s.inFlight[m.name]--
	s.calls = append(s.calls, call)
	if status == http.StatusTooManyRequests {
		s.tooMany++
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// serveMethod answers one call, applying faults, and returns the status
// and, when a fault spoiled the answer of a request that took effect, how.
func (s *Server) serveMethod(w http.ResponseWriter, r *http.Request, name string, fn handlerFunc, p params, perr error) (int, string) {
	f := s.takeFault(name, p)
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.closed:
		}
		t.Stop()
	}
	if f != nil && !f.After && !f.Garble {
		switch {
		case f.Reset:
			resetConn(w)
			return 0, ""
		case f.Stall:
			s.stall(r)
			return 0, ""
		case f.Status != 0:
			writeError(w, f.apiError())
			return f.Status, ""
		}
	}
	var (
		result any
		aerr   *apiError
	)
	if perr != nil {
		aerr = badRequest("%v", perr)
	} else {
		result, aerr = fn(s, r, p)
	}
	if f != nil && (f.After || f.Garble) && aerr == nil {
		// The request took effect but its answer is lost, as when Telegram
		// (or something on the way) fails after accepting a message.
		switch {
		case f.Garble:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"ok":true,"result":{"message_id":`)
			return http.StatusOK, MisGarbled
		case f.Reset:
			resetConn(w)
			return 0, MisReset
		case f.Stall:
			s.stall(r)
			return 0, MisStalled
		case f.Status != 0:
			writeError(w, f.apiError())
			return f.Status, MisStatus
		}
	}
	if aerr != nil {
		writeError(w, aerr)
		return aerr.code, ""
	}
	writeJSON(w, http.StatusOK, response{OK: true, Result: result})
	return http.StatusOK, ""
}

// stall holds a request unanswered until its client goes away or the
// server closes.
func (s *Server) stall(r *http.Request) {
	// The server notices a client hanging up only once the body is read
	// to its end (a multipart parse may stop short of it).
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-s.closed:
	}
}

// resetConn drops the TCP connection without an answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("telegramtest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// params are a request's parameters, whatever way they came. Values that
// are JSON objects or arrays are kept as JSON text, like Telegram reads
// form-encoded fields such as reply_markup.
type params map[string]string

func parseParams(r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if r.Method != http.MethodPost {
		return p, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return p, fmt.Errorf("can't parse JSON object: %v", err)
		}
		for k, v := range m {
			var s string
			switch {
			case string(v) == "null":
				continue
			case json.Unmarshal(v, &s) == nil:
				p[k] = s
			default:
				p[k] = string(v)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return p, fmt.Errorf("can't parse form: %v", err)
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			if errors.Is(err, io.EOF) {
				// An empty body, which go-telegram/bot sends for methods
				// without parameters; Telegram takes it.
				return p, nil
			}
			return p, fmt.Errorf("can't parse multipart form: %v", err)
		}
		for k, v := range r.MultipartForm.Value {
			p[k] = v[0]
		}
	}
	return p, nil
}

func (p params) str(name string) string { return p[name] }

func (p params) has(name string) bool { _, ok := p[name]; return ok }

func (p params) int64(name string) (int64, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return 0, badRequest("%s is empty", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, badRequest("invalid %s specified", name)
	}
	return n, nil
}

func (p params) intOr(name string, def int) int {
	n, err := strconv.Atoi(p[name])
	if err != nil {
		return def
	}
	return n
}

func (p params) bool(name string) bool {
	v := strings.ToLower(p[name])
	return v == "true" || v == "1"
}

func (p params) json(name string, dst any) *apiError {
	v, ok := p[name]
	if !ok || v == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), dst); err != nil {
		return badRequest("can't parse %s JSON object", name)
	}
	return nil
}
