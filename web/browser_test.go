package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/herald-news/herald/internal/browsertest"
	"github.com/herald-news/herald/subscriptions"
)

// TestBrowser drives Chromium through sign-up, the emailed confirmation
// link, a change of preferences and unsubscribing, then renders a digest
// and keeps a screenshot of it.
func TestBrowser(t *testing.T) {
	s := newSite(t)
	ctx := browsertest.New(t)
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus.")
	s.publish(t, "pact", "Belarus & Iran agree on drones", "Belarus and Iran signed an agreement on drones in Minsk.")

	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "browser@example.org"),
		chromedp.SendKeys(chromedp.ID("topics"), "belarus"),
		// The live preview fills in as the reader types.
		chromedp.Poll[chromedp.Void](`document.getElementById('preview').textContent.includes('Minsk museum')`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if err != nil {
		t.Fatalf("sign-up page in the browser: %v", err)
	}
	preview, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("preview")))
	if err != nil || !strings.Contains(preview, "2 articles this week") {
		t.Errorf("preview text = %q, %v", preview, err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=frequency][value=daily]`)),
		chromedp.SetValue(chromedp.ID("hour"), "7"),
		chromedp.SetValue(chromedp.ID("tz"), "Europe/Vilnius"),
		chromedp.Click(chromedp.CSS(`#signup button:not([formaction])`)),
		chromedp.WaitVisible(`//h1[contains(., "Check your inbox")]`),
	)
	if err != nil {
		t.Fatalf("sign-up in the browser: %v", err)
	}
	confirmation := s.smtp.WaitMessagesTo(10*time.Second, "browser@example.org", 1)[0]
	link := confirmation.Link(s.base + "/confirm?token=")
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirmation.Text)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`//h1[contains(., "Confirm your digest")]`),
		chromedp.Click(`//button[contains(., "Confirm my subscription")]`),
		chromedp.WaitVisible(`//h1[contains(., "subscribed")]`),
		chromedp.Click(`//a[contains(., "Change topics")]`),
		chromedp.WaitVisible(chromedp.ID("topics")),
		chromedp.SetValue(chromedp.ID("topics"), "belarus\nmuseum*"),
		chromedp.Click(chromedp.CSS(`input[name=frequency][value=weekly]`)),
		chromedp.Click(`//button[@value="save"]`),
		chromedp.WaitVisible(`//p[contains(., "Saved.")]`),
	)
	if err != nil {
		t.Fatalf("preferences in the browser: %v", err)
	}
	sub, err := s.subs.ByEmail(context.Background(), "browser@example.org")
	if err != nil || sub.Status != subscriptions.StatusActive || sub.Frequency != "weekly" || sub.Hour != 7 ||
		sub.TZ != "Europe/Vilnius" || strings.Join(sub.Topics, ",") != "belarus,museum*" {
		t.Fatalf("reader after the browser session: %+v %v", sub, err)
	}

	// A digest, rendered in Chromium as a mail client would show it.
	s.publish(t, "treaty", "Belarus and Iran sign a treaty on drone factories", "Belarus and Iran signed a treaty in Minsk on Monday to build drone factories. Officials said talks would follow.")
	s.publish(t, "museums", "Museums across the Baltics open their archives", "Museums in Vilnius, Riga and Tallinn opened archives of maps to researchers.")
	if n, _ := s.m.SendDigests(context.Background(), true); n != 1 {
		t.Fatalf("digest not sent")
	}
	digest := s.smtp.WaitMessagesTo(10*time.Second, "browser@example.org", 2)[1]
	dir := browsertest.Dir(t)
	htmlFile := filepath.Join(dir, "digest.html")
	if err := os.WriteFile(htmlFile, []byte(digest.HTML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+htmlFile), chromedp.WaitVisible("body")); err != nil {
		t.Fatalf("render digest: %v", err)
	}
	browsertest.Shot(t, ctx, "digest")
	t.Logf("digest screenshot: %s", filepath.Join(dir, "digest.png"))

	// Unsubscribe through the page's button.
	unsub := digest.Link(s.base + "/unsubscribe?token=")
	err = chromedp.Do(ctx,
		chromedp.Navigate(unsub),
		chromedp.Click(`//button[contains(., "Stop sending")]`),
		chromedp.WaitVisible(`//h1[contains(., "Unsubscribed")]`),
	)
	if err != nil {
		t.Fatalf("unsubscribe in the browser: %v", err)
	}
	sub, _ = s.subs.Get(context.Background(), sub.ID)
	if sub.Status != subscriptions.StatusUnsubscribed {
		t.Fatalf("status after unsubscribing = %s", sub.Status)
	}
}
