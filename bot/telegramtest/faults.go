package telegramtest

import (
	"net/http"
	"strings"
	"time"
)

// Fault is a misbehaviour applied to matching requests, in the order faults
// were added; the first matching fault with uses left applies.
type Fault struct {
	// Method limits the fault to one method (case-insensitive); "" is any.
	Method string
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
	// Reset closes the connection without an answer.
	Reset bool
	// After applies Status or Reset after the request took effect, so the
	// client sees a failure for a message that was in fact delivered.
	After bool
}

func (f *Fault) apiError() *apiError {
	switch f.Status {
	case http.StatusTooManyRequests:
		return tooManyRequests(f.RetryAfter)
	case http.StatusInternalServerError:
		return &apiError{code: f.Status, desc: "Internal Server Error"}
	default:
		return &apiError{code: f.Status, desc: http.StatusText(f.Status)}
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
func (s *Server) takeFault(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
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
