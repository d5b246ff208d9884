// Package browsertest gives tests a headless Chromium and a place for the
// screenshots people look at: the pages, the digests and the alerts.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium finds Debian's Chromium or skips the test, saying why.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium binary (apt-get install chromium; .ci/run installs it): skipping this browser test")
	return ""
}

// New starts a headless Chromium for the test (stopped when it ends) and
// returns a tab's context, bounded to two minutes: generous, since a
// loaded machine makes Chromium slow, and only there to end a stuck test.
func New(t testing.TB) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(480, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// Scheme makes the tab prefer a colour scheme, "light" or "dark".
func Scheme(t testing.TB, ctx context.Context, scheme string) {
	t.Helper()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	if err != nil {
		t.Fatalf("emulate %s: %v", scheme, err)
	}
}

// Sizes are the screens every screenshot is taken on.
var Sizes = []struct {
	Name string
	W, H int64
}{{"phone", 390, 844}, {"desktop", 1280, 900}}

// Dir is where tests leave files to look at: HERALD_ARTIFACTS, else
// testdata/artifacts/ at the top of the repository (gitignored).
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("HERALD_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				dir = filepath.Join(root, "testdata", "artifacts")
				break
			}
			if filepath.Dir(root) == root {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// Shot saves a screenshot of the whole page as Dir/name.png.
func Shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(Dir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
