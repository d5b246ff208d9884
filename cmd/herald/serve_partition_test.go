package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A partition that does not exist is refused before anything starts,
// from the flag or from the environment, naming the setting.
func TestServeRefusesABadPartition(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"flag":           {args: []string{"serve", "--partition", "2/2"}},
		"environment":    {args: []string{"serve"}, env: map[string]string{"HERALD_MATCHER_PARTITION": "half"}},
		"flag over good": {args: []string{"serve", "--partition", "0/0"}, env: map[string]string{"HERALD_MATCHER_PARTITION": "0/2"}},
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{"HERALD_HTTP_ADDR": "127.0.0.1:0", "HERALD_SECRET": "serve-test-secret", "HERALD_REDIS_URL": "memory://"}
			for k, v := range c.env {
				vars[k] = v
			}
			var stdout, stderr bytes.Buffer
			env := &cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
			if code := run(context.Background(), env, c.args); code != 2 {
				t.Fatalf("herald %s exited %d, want 2 (bad input); stderr:\n%s", strings.Join(c.args, " "), code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "HERALD_MATCHER_PARTITION") {
				t.Errorf("the error does not name HERALD_MATCHER_PARTITION:\n%s", stderr.String())
			}
		})
	}
}
