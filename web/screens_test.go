package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// hourHidden asks the browser whether the hour field is hidden.
const hourHidden = `getComputedStyle(document.querySelector('.hour-field')).display === 'none'`

// TestBrowserScreens checks in Chromium what only a browser shows (the
// hour goes away "as it happens", without script), then keeps phone and
// desktop screenshots, light and dark, of the sign-up and confirmed pages
// in testdata/artifacts/.
func TestBrowserScreens(t *testing.T) {
	s := newSite(t)
	ctx := browser(t)
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus.")
	vis := func(sel string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](sel))
		if err != nil {
			t.Fatalf("evaluate %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	if vis(hourHidden) {
		t.Fatalf("the hour is hidden for a daily digest")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=frequency][value=instant]`))); err != nil {
		t.Fatal(err)
	}
	if !vis(hourHidden) {
		t.Errorf("the hour is shown for \"as it happens\"")
	}
	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=frequency][value=daily]`)),
		chromedp.SendKeys(chromedp.ID("email"), "screens@example.org"),
		chromedp.SendKeys(chromedp.ID("topics"), "belarus\nmuseum*"),
		chromedp.SetValue(chromedp.ID("hour"), "7"),
		chromedp.SetValue(chromedp.ID("tz"), "Europe/Vilnius"),
		chromedp.Click(chromedp.CSS(`#signup button:not([formaction])`)),
		chromedp.WaitVisible(`//h1[contains(., "Check your inbox")]`),
	)
	if err != nil {
		t.Fatalf("sign-up: %v", err)
	}
	link := s.smtp.WaitMessagesTo(10*time.Second, "screens@example.org", 1)[0].Link(s.base + "/confirm?token=")
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.Click(`//button[contains(., "Confirm my subscription")]`),
		chromedp.WaitVisible(`//h1[contains(., "subscribed")]`),
	)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}

	dir := artifacts(t)
	for _, scheme := range []string{"light", "dark"} {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		if err != nil {
			t.Fatalf("emulate %s: %v", scheme, err)
		}
		for _, size := range []struct {
			name string
			w, h int64
		}{{"phone", 390, 844}, {"desktop", 1280, 800}} {
			// A used link shows an active reader the confirmed page again.
			for page, u := range map[string]string{"signup": s.base + "/", "confirmed": link} {
				err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("footer")))
				if err != nil {
					t.Fatalf("%s %s: %v", page, size.name, err)
				}
				// Quality 100 makes a PNG; below, a JPEG.
				shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatalf("screenshot: %v", err)
				}
				f := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", page, size.name, scheme))
				if err := os.WriteFile(f, shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}
