package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
)

// role is one long-running part of the process. Its run returns only when
// its context ends; returning earlier, with an error or without, or
// panicking, is a death.
type role struct {
	name string
	run  func(context.Context) error
}

// supervisor runs the roles and notices the first one to die, so that the
// process stops as a whole (and its own supervisor, systemd, Docker or
// Kubernetes, restarts it) instead of running on as a husk without, say,
// its matcher.
type supervisor struct {
	wg     sync.WaitGroup
	failed chan struct{} // closed when the first role dies

	mu       sync.Mutex
	dead     []string // names of the roles that died, in order
	err      error    // why the first one died
	stopping bool     // the process is shutting down
}

func newSupervisor() *supervisor {
	return &supervisor{failed: make(chan struct{})}
}

// start runs r in its own goroutine until ctx ends.
func (sv *supervisor) start(ctx context.Context, r role, log func(msg string, args ...any)) {
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				log("role crashed; stopping the process", "role", r.name, "panic", p, "stack", string(debug.Stack()))
				sv.down(r.name, fmt.Errorf("role %s crashed: %v", r.name, p))
			}
		}()
		err := r.run(ctx)
		if ctx.Err() != nil {
			return // shutting down: any error is the cancellation's
		}
		if err == nil {
			err = errors.New("returned before shutdown")
		}
		log("role stopped; stopping the process", "role", r.name, "err", err)
		sv.down(r.name, fmt.Errorf("role %s stopped: %w", r.name, err))
	}()
}

func (sv *supervisor) down(name string, err error) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.dead = append(sv.dead, name)
	if sv.err == nil {
		sv.err = err
		close(sv.failed)
	}
}

// shutdown marks the process as stopping, so /healthz stops calling it
// healthy while its roles wind down.
func (sv *supervisor) shutdown() {
	sv.mu.Lock()
	sv.stopping = true
	sv.mu.Unlock()
}

// failure is why the first role died, or nil.
func (sv *supervisor) failure() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.err
}

// healthz answers 200 while every role runs and 503 once one has died or
// the process is stopping. The answer names dead roles and nothing else:
// it is reachable by anyone who can reach the port.
func (sv *supervisor) healthz(w http.ResponseWriter, r *http.Request) {
	sv.mu.Lock()
	dead, stopping := append([]string(nil), sv.dead...), sv.stopping
	sv.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch {
	case len(dead) > 0:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "down: %s\n", strings.Join(dead, ", "))
	case stopping:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "shutting down")
	default:
		fmt.Fprintln(w, "ok")
	}
}
