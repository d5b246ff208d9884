package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/herald-news/herald/mailer"
)

func TestDigestResult(t *testing.T) {
	refused := &mailer.RoundError{Failed: 2, First: errors.New("550 no such user")}
	cases := []struct {
		name    string
		n       int
		err     error
		out     string
		wantErr bool
	}{
		{"all sent", 3, nil, "3 digests sent, 0 failed", false},
		{"nothing due", 0, nil, "0 digests sent, 0 failed", false},
		{"some failed", 3, refused, "3 digests sent, 2 failed", false},
		{"all failed", 0, refused, "0 digests sent, 2 failed", true},
		{"the round broke", 1, context.Canceled, "1 digests sent, 0 failed", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := digestResult(&cmdEnv{stdout: &out, stderr: &errb}, c.n, c.err)
			if strings.TrimSpace(out.String()) != c.out {
				t.Errorf("printed %q, want %q", out.String(), c.out)
			}
			if (err != nil) != c.wantErr {
				t.Errorf("error %v, want one: %v", err, c.wantErr)
			}
			if c.err == refused && !strings.Contains(errb.String()+errString(err), "550 no such user") {
				t.Errorf("the first failure is not shown: stderr %q, error %v", errb.String(), err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
