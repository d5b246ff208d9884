package telegramtest

import (
	"cmp"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is a misbehaviour applied to matching requests, in the order faults
// were added; the first matching fault with uses left applies.
type Fault struct {
	// Method limits the fault to one method (case-insensitive); "" is any.
	Method string
	// ChatID, if set, limits the fault to requests for that chat_id.
	ChatID int64
	// Times is how many requests the fault applies to; 0 means until
	// ClearFaults.
	Times int
	// Status, if set, is answered instead of the real answer: 429 (with
	// RetryAfter, default 1), 500, 502 (an HTML page, like Telegram's
	// nginx), or any other code.
	Status     int
	RetryAfter int
	// Delay holds the answer back this long.
	Delay time.Duration
	// Description replaces the error's description for Status (for
	// example "Bad Request: can't parse entities: ...").
	Description string
	// Reset closes the connection without an answer.
	Reset bool
	// Stall reads the request and then answers nothing, holding the
	// connection until the client gives up (a timeout) or the server
	// closes.
	Stall bool
	// Garble answers a request that succeeded with HTTP 200 and a body that
	// does not decode, as a broken proxy might: the request took effect,
	// the client cannot tell from the body. It implies After; a request
	// that failed gets its error answer.
	Garble bool
	// After applies Status, Reset or Stall after the request took effect,
	// so the client sees a failure for a message that was in fact
	// delivered.
	After bool
}

// Misanswers kinds, as recorded in Call.Misanswer: the request took effect
// and its answer was then spoiled, so the client cannot know it did.
const (
	MisGarbled = "garbled" // HTTP 200, body that does not decode
	MisStalled = "stalled" // no answer until the client gave up
	MisReset   = "reset"   // connection closed without an answer
	MisStatus  = "status"  // an error status (Fault.Status with After)
)

// Misanswered counts the requests to method ("" for any) that took effect
// but were answered as kind says (one of the Mis* kinds; "" for any).
func (s *Server) Misanswered(method, kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Misanswer != "" && (kind == "" || c.Misanswer == kind) && (method == "" || strings.EqualFold(c.Method, method)) {
			n++
		}
	}
	return n
}

func (f *Fault) apiError() *apiError {
	switch f.Status {
	case http.StatusTooManyRequests:
		return tooManyRequests(f.RetryAfter)
	case http.StatusInternalServerError:
		return &apiError{code: f.Status, desc: cmp.Or(f.Description, "Internal Server Error")}
	default:
		return &apiError{code: f.Status, desc: cmp.Or(f.Description, http.StatusText(f.Status))}
	}
}

// AddFault switches a fault on.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailNext answers the next n requests to method ("" for any) with status.
func (s *Server) FailNext(method string, n, status int) {
	s.AddFault(Fault{Method: method, Times: n, Status: status})
}

// ResetNext drops the connection of the next n requests to method.
func (s *Server) ResetNext(method string, n int) {
	s.AddFault(Fault{Method: method, Times: n, Reset: true})
}

// GarbleNext answers the next n successful requests to method with an
// HTTP 200 whose body does not decode.
func (s *Server) GarbleNext(method string, n int) {
	s.AddFault(Fault{Method: method, Times: n, Garble: true, After: true})
}

// StallNext lets the next n requests to method take effect and then
// answers nothing until the client gives up.
func (s *Server) StallNext(method string, n int) {
	s.AddFault(Fault{Method: method, Times: n, Stall: true, After: true})
}

// ResetAfterNext lets the next n requests to method take effect and then
// drops their connections without an answer.
func (s *Server) ResetAfterNext(method string, n int) {
	s.AddFault(Fault{Method: method, Times: n, Reset: true, After: true})
}

// SetDelay delays every answer to method by d until ClearFaults.
func (s *Server) SetDelay(method string, d time.Duration) {
	s.AddFault(Fault{Method: method, Delay: d})
}

// ClearFaults switches every fault off.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault uses up one application of the first fault matching method.
func (s *Server) takeFault(method string, p params) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if f.ChatID != 0 && p.str("chat_id") != strconv.FormatInt(f.ChatID, 10) {
			continue
		}
		applied := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &applied
	}
	return nil
}
