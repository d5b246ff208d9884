package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/herald-news/herald/internal/browsertest"
)

// hourHidden asks the browser whether the hour field is hidden.
const hourHidden = `getComputedStyle(document.querySelector('.hour-field')).display === 'none'`

// evaluate runs a script in the page and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}

// fieldState is what a person (and a screen reader) meets at a field.
type fieldState struct {
	Focused  string `json:"focused"`  // the id of the focused element
	Invalid  string `json:"invalid"`  // aria-invalid of the field
	Describe string `json:"describe"` // the text of what aria-describedby names
}

func field(t *testing.T, ctx context.Context, id string) fieldState {
	t.Helper()
	return evaluate[fieldState](t, ctx, `(function(){var f=document.getElementById('`+id+`');
 return {focused:document.activeElement?document.activeElement.id:'', invalid:f.getAttribute('aria-invalid')||'',
  describe:(f.getAttribute('aria-describedby')||'').split(' ').filter(Boolean).map(function(i){var e=document.getElementById(i);return e?e.textContent:'';}).join(' | ')};})()`)
}

// TestBrowserEnter types into the form as a person does and presses
// Enter: the errors come back marked and described, the focus on the
// first; then a good address and topic subscribe, by Enter again.
func TestBrowserEnter(t *testing.T) {
	s := newSite(t)
	ctx := browsertest.New(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("topics"), `"unclosed`),
		chromedp.SendKeys(chromedp.ID("email"), "reader@"+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("email-error")),
	)
	if err != nil {
		t.Fatalf("Enter with a bad address: %v", err)
	}
	email := field(t, ctx, "email")
	if email.Focused != "email" || email.Invalid != "true" || !strings.Contains(email.Describe, "no domain") {
		t.Errorf("the address after Enter: %+v; want focused, invalid, described as having no domain", email)
	}
	topics := field(t, ctx, "topics")
	if topics.Invalid != "true" || !strings.Contains(topics.Describe, "closing quote") || !strings.Contains(topics.Describe, "One per line") {
		t.Errorf("the topics after Enter: %+v", topics)
	}
	if v := evaluate[string](t, ctx, `document.getElementById('email').value+'|'+document.getElementById('topics').value`); v != `reader@|"unclosed` {
		t.Errorf("the input after Enter = %q, want what was typed", v)
	}
	if problems := evaluate[[]string](t, ctx, a11yScript); len(problems) > 0 {
		t.Errorf("the page with errors: %s", strings.Join(problems, "; "))
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	browsertest.Shot(t, ctx, "signup-errors-phone-light")

	// A good address: the topics are the first error now.
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("email"), "reader@example.org"),
		chromedp.SendKeys(chromedp.ID("email"), kb.Enter),
		chromedp.WaitNotPresent(chromedp.ID("email-error")),
		chromedp.WaitVisible(chromedp.ID("topics-error")),
	)
	if err != nil {
		t.Fatalf("Enter with a bad topic: %v", err)
	}
	if f := field(t, ctx, "topics"); f.Focused != "topics" || f.Invalid != "true" {
		t.Errorf("the topics after the second Enter: %+v; want focused and invalid", f)
	}
	if f := field(t, ctx, "email"); f.Invalid != "" {
		t.Errorf("the good address is still marked: %+v", f)
	}

	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("topics"), "belarus"),
		chromedp.SendKeys(chromedp.ID("email"), kb.Enter),
		chromedp.WaitVisible(`//h1[contains(., "Check your inbox")]`),
	)
	if err != nil {
		t.Fatalf("Enter with good input: %v", err)
	}
	s.smtp.WaitMessagesTo(10*time.Second, "reader@example.org", 1)
}

// a11yScript finds what an accessibility audit would flag on a page:
// form fields without a label, and text whose contrast with what is
// behind it is under WCAG AA's 4.5:1 (3:1 for large text).
const a11yScript = `(function(){
var out=[];
document.querySelectorAll('input:not([type=hidden]),select,textarea').forEach(function(f){
 if(f.closest('[aria-hidden=true]'))return;
 if(!(f.labels&&f.labels.length)&&!f.getAttribute('aria-label')&&!f.getAttribute('aria-labelledby'))out.push('no label: '+(f.id||f.name));
});
function rgb(s){var m=s.match(/[\d.]+/g);return m?m.map(Number):[0,0,0,0];}
function lum(c){var a=c.slice(0,3).map(function(v){v/=255;return v<=0.03928?v/12.92:Math.pow((v+0.055)/1.055,2.4);});return 0.2126*a[0]+0.7152*a[1]+0.0722*a[2];}
function bg(e){for(;e;e=e.parentElement){var c=rgb(getComputedStyle(e).backgroundColor);if(c.length<4||c[3]>0)return c;}return [255,255,255,1];}
var walker=document.createTreeWalker(document.body,NodeFilter.SHOW_TEXT);
for(var n=walker.nextNode();n;n=walker.nextNode()){
 var e=n.parentElement;if(!n.textContent.trim()||!e||e.closest('[aria-hidden=true],script,style,datalist,option'))continue;
 var st=getComputedStyle(e);if(st.visibility==='hidden'||st.display==='none'||e.getClientRects().length===0)continue;
 var l1=lum(rgb(st.color)),l2=lum(bg(e)),ratio=(Math.max(l1,l2)+0.05)/(Math.min(l1,l2)+0.05);
 var size=parseFloat(st.fontSize),large=size>=24||(size>=18.66&&Number(st.fontWeight)>=700);
 if(ratio<(large?3:4.5))out.push('contrast '+ratio.toFixed(2)+': '+n.textContent.trim().slice(0,40));
}
return out;})()`

// TestBrowserScreens checks in Chromium what only a browser shows (the
// hour goes away "as it happens", without script; labels and contrast),
// then keeps phone and desktop screenshots, light and dark, of the
// sign-up, preview, confirmed, manage and archive pages and of the
// manage and sign-up pages in Russian in testdata/artifacts/.
func TestBrowserScreens(t *testing.T) {
	s := newSite(t)
	ctx := browsertest.New(t)
	s.publish(t, "museum", "Minsk museum shows Belarus maps", "A museum in Minsk opened an exhibition of old maps of Belarus, drawn between the sixteenth and the nineteenth century.")
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	if evaluate[bool](t, ctx, hourHidden) {
		t.Fatalf("the hour is hidden for a daily digest")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=frequency][value=instant]`))); err != nil {
		t.Fatal(err)
	}
	if !evaluate[bool](t, ctx, hourHidden) {
		t.Errorf("the hour is shown for \"as it happens\"")
	}
	// Bounded apart from the test, so that a page that never comes is
	// told with what the browser shows instead (once, in a CI run, the
	// wait ran out and said nothing more).
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	err := chromedp.Do(wait,
		chromedp.Click(chromedp.CSS(`input[name=frequency][value=daily]`)),
		chromedp.SendKeys(chromedp.ID("email"), "screens@example.org"),
		chromedp.SendKeys(chromedp.ID("topics"), "belarus\nmuseum*"),
		chromedp.SetValue(chromedp.ID("hour"), "7"),
		chromedp.SetValue(chromedp.ID("tz"), "Europe/Vilnius"),
		chromedp.Click(chromedp.CSS(`#signup button:not([formaction])`)),
		chromedp.WaitVisible(`//h1[contains(., "Check your inbox")]`),
	)
	cancel()
	if err != nil {
		t.Fatalf("sign-up: %v; the browser shows %s: %.600q", err,
			evaluate[string](t, ctx, `location.href`), evaluate[string](t, ctx, `document.body ? document.body.innerText : ""`))
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
	manage := evaluate[string](t, ctx, `document.querySelector('a[href^="/manage?token="]').href`)
	// Matches for the archive and the manage page's preview.
	s.publish(t, "treaty", "Belarus and Iran sign a treaty on drone factories", "Belarus and Iran signed a treaty in Minsk on Monday to build drone factories. Officials said talks would follow.")
	s.publish(t, "museums", "Museums across the Baltics open their archives", "Museums in Vilnius, Riga and Tallinn opened archives of maps to researchers.")
	if err := chromedp.Do(ctx, chromedp.Navigate(manage), chromedp.WaitVisible(chromedp.ID("topics"))); err != nil {
		t.Fatal(err)
	}
	archive := evaluate[string](t, ctx, `document.querySelector('a[href^="/archive/"]').href`)
	preview := s.base + "/preview?topics=" + strings.ReplaceAll("Belarus+%7C+Minsk%0Amuseum*", " ", "+") + "&tz=Europe%2FVilnius"

	dir := browsertest.Dir(t)
	type screen struct{ name, url string }
	screens := []screen{{"signup", s.base + "/"}, {"preview", preview}, {"confirmed", link}, {"manage", manage}, {"archive", archive},
		// The switch's link sets the cookie and comes back, in Russian.
		{"manage-ru", s.base + "/lang?to=ru&back=" + strings.TrimPrefix(manage, s.base)}, {"signup-ru", s.base + "/"}}
	for _, scheme := range []string{"light", "dark"} {
		browsertest.Scheme(t, ctx, scheme)
		for _, size := range browsertest.Sizes {
			for _, sc := range screens {
				lang := "en"
				if strings.HasSuffix(sc.name, "-ru") {
					lang = "ru"
				}
				err := chromedp.Do(ctx, chromedp.EmulateViewport(size.W, size.H), chromedp.Navigate(sc.url),
					chromedp.WaitVisible(chromedp.CSS("footer")), chromedp.WaitVisible(chromedp.CSS(`html[lang=`+lang+`]`)))
				if err != nil {
					t.Fatalf("%s %s: %v", sc.name, size.Name, err)
				}
				if problems := evaluate[[]string](t, ctx, a11yScript); len(problems) > 0 {
					t.Errorf("%s, %s, %s: %s", sc.name, size.Name, scheme, strings.Join(problems, "; "))
				}
				if w := evaluate[int](t, ctx, `document.documentElement.scrollWidth`); w > int(size.W) {
					t.Errorf("%s, %s: the page is %d px wide, wider than the screen", sc.name, size.Name, w)
				}
				browsertest.Shot(t, ctx, fmt.Sprintf("%s-%s-%s", sc.name, size.Name, scheme))
			}
			// Back to English for the next round.
			if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/lang?to=en&back=/"), chromedp.WaitVisible(chromedp.CSS(`html[lang=en]`))); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}
