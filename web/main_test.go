package web_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/herald-news/herald/locale"
)

// TestMain fails the run when a page looked up a text that its language's
// catalogue lacks: every page the tests open is then complete in English
// and Russian.
func TestMain(m *testing.M) {
	code := m.Run()
	if missing := locale.Missing(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "texts missing from the catalogues: %v\n", missing)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
