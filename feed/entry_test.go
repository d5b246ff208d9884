package feed

import (
	"errors"
	"testing"
)

func TestAtomEntryDocument(t *testing.T) {
	const doc = `<?xml version="1.0" encoding="iso-8859-1"?>
<!-- pushed by the site's hub -->
<entry xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example/world/">
  <title type="html">Ports &lt;b&gt;reopen&lt;/b&gt; after the storm</title>
  <link rel="alternate" href="ports-reopen"/>
  <id>tag:news.example,2026:ports-reopen</id>
  <updated>2026-03-02T09:30:00+01:00</updated>
  <author><name>Mar` + "\xed" + `a L` + "\xf3" + `pez</name></author>
  <summary>Ships left the harbour at dawn.</summary>
</entry>`
	f, err := Parse([]byte(doc), "https://news.example/hub/push", "application/atom+xml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(f.Items) != 1 {
		t.Fatalf("%d items, want 1", len(f.Items))
	}
	a := f.Items[0]
	if a.Title != "Ports reopen after the storm" || a.URL != "https://news.example/world/ports-reopen" ||
		a.Author != "María López" || a.Summary != "Ships left the harbour at dawn." {
		t.Errorf("item = %+v", a)
	}
	if a.Published == nil || a.Published.Format("2006-01-02T15:04Z07:00") != "2026-03-02T08:30Z" {
		t.Errorf("published = %v", a.Published)
	}
}

func TestNotAnEntryDocument(t *testing.T) {
	for name, doc := range map[string]string{
		"entry in no namespace": `<entry><title>x</title></entry>`,
		"other root":            `<?xml version="1.0"?><html><body>hello</body></html>`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc), "", ""); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
}
