package article

import (
	"errors"
	"testing"
)

func TestCanonical(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already canonical", "https://example.com/a/b?x=1", "https://example.com/a/b?x=1"},
		{"case of scheme and host", "HTTPS://News.Example.COM/Story/One", "https://news.example.com/Story/One"},
		{"default https port", "https://example.com:443/a", "https://example.com/a"},
		{"default http port", "http://example.com:80/a", "http://example.com/a"},
		{"other port kept", "http://example.com:8080/a", "http://example.com:8080/a"},
		{"fragment", "https://example.com/a#comments", "https://example.com/a"},
		{"empty path", "https://example.com", "https://example.com/"},
		{"empty path with query", "https://example.com?id=3", "https://example.com/?id=3"},
		{"utm", "https://example.com/a?utm_source=tw&utm_medium=social&UTM_Campaign=x", "https://example.com/a"},
		{"click ids", "https://example.com/a?fbclid=1&gclid=2&dclid=3&msclkid=4&yclid=5&igshid=6", "https://example.com/a"},
		{"mailchimp and ga", "https://example.com/a?mc_cid=1&mc_eid=2&_ga=3&ref_src=twsrc", "https://example.com/a"},
		{"tracking mixed with real", "https://example.com/a?utm_source=x&id=42&fbclid=y", "https://example.com/a?id=42"},
		{"sorted", "https://example.com/a?b=2&a=1&c=3", "https://example.com/a?a=1&b=2&c=3"},
		{"repeated keep order", "https://example.com/a?t=2&a=1&t=1", "https://example.com/a?a=1&t=2&t=1"},
		{"one spelling of spaces", "https://example.com/s?q=a%20b", "https://example.com/s?q=a+b"},
		{"key without value", "https://example.com/a?print&x=1", "https://example.com/a?print&x=1"},
		{"empty pairs", "https://example.com/a?&&x=1&", "https://example.com/a?x=1"},
		{"only question mark", "https://example.com/a?", "https://example.com/a"},
		{"user info dropped", "https://user:pw@example.com/a", "https://example.com/a"},
		{"trailing dot host", "https://example.com./a", "https://example.com/a"},
		{"ipv6 with default port", "http://[::1]:80/a", "http://[::1]/a"},
		{"escaped path kept", "https://example.com/a%2Fb", "https://example.com/a%2Fb"},
		{"bad escape in query repaired as a browser would", "https://example.com/a?x=%zz&a=1", "https://example.com/a?a=1&x=%25zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonical(tt.in)
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Canonical of a canonical URL is itself.
			if again, err := Canonical(got); err != nil || again != got {
				t.Errorf("not idempotent: %q -> %q (%v)", got, again, err)
			}
		})
	}
}

func TestCanonicalRejects(t *testing.T) {
	for _, in := range []string{"", "/relative/path", "example.com/a", "mailto:a@example.com", "ftp://example.com/x", "https://", "javascript:alert(1)"} {
		if got, err := Canonical(in); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", in, got)
		}
	}
	if _, err := Canonical("ftp://example.com/x"); !errors.Is(err, ErrNotWebURL) {
		t.Errorf("ftp URL: error %v, want ErrNotWebURL", err)
	}
}

// FuzzCanonical: any input either fails or gives a URL that is its own
// canonical form.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"https://Example.com:443/a?utm_source=x&b=2&a=1#f", "http://[::1]:80", "https://a.b/?%zz&x", "http://user@h/p?q=a+b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Canonical(in)
		if err != nil {
			return
		}
		again, err := Canonical(got)
		if err != nil || again != got {
			t.Errorf("Canonical(%q) = %q, but Canonical of that = %q, %v", in, got, again, err)
		}
	})
}
