package web

import "html/template"

// The pages are self-contained: no external asset, styles inline, and the
// only script (the live preview and the time-zone guess) is an
// enhancement; every form works without it.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"zones":   func() []string { return commonZones },
	"favicon": func() template.URL { return favicon },
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<meta name="description" content="{{.Site}} emails you news on the topics you follow: one calm digest, only when something new was published.">
<link rel="icon" type="image/svg+xml" href="{{favicon}}">
<title>{{.Title}} — {{.Site}}</title>
<style>
:root{--fg:#1a1a1a;--bg:#fbfbfa;--muted:#5c6166;--accent:#1f5fbf;--line:#d9dcdf;--card:#ffffff;--bad:#b00020}
@media (prefers-color-scheme: dark){:root{--fg:#e8e8e8;--bg:#111418;--muted:#a4acb4;--accent:#7fb0ff;--line:#30363d;--card:#1b2027;--bad:#ff8a9a}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);max-width:42rem;margin:0 auto;padding:1rem 1.25rem 3rem;line-height:1.5;font-size:1.0625rem}
h1{font-size:1.75rem;margin:.5rem 0 .25rem}
h2{font-size:1.2rem;margin-top:2rem}
a{color:var(--accent)}
label,legend{display:block;font-weight:600;margin-top:1.1rem}
fieldset{border:0;padding:0;margin:0}
input,select,textarea,button{font:inherit;padding:.55rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--card);color:var(--fg)}
input[type=email],input[type=text],textarea,select{width:100%}
input[type=number]{width:6rem}
input[type=checkbox],input[type=radio]{width:auto;margin-right:.4rem}
.choice{display:block;font-weight:400;margin:.25rem 0}
button{margin-top:1.25rem;padding:.6rem 1.2rem;border-color:var(--accent);background:var(--accent);color:#fff;cursor:pointer;font-weight:600}
@media (prefers-color-scheme: dark){button{color:#0b0d10}}
button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad)}
.hint{font-weight:400;font-size:.92rem;color:var(--muted)}
.problems{border-left:4px solid var(--bad);padding:.25rem 1rem;margin:1rem 0}
.notice{border-left:4px solid var(--accent);padding:.25rem 1rem;margin:1rem 0}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.25rem 1rem 1rem;margin-top:1.25rem}
.row{display:flex;gap:1rem;flex-wrap:wrap}.row>div{flex:1 1 10rem}
#preview ul{padding-left:1.1rem}#preview li{margin:.3rem 0}
code{font-size:.95em}
form:has(input[name=frequency][value=instant]:checked) .hour-field{display:none}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}.facts dt{font-weight:600}.facts dd{margin:0}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
</style></head><body><main id="main">{{end}}
{{define "foot"}}</main><footer class="hint" style="margin-top:3rem">{{.Site}}{{with .Operator}} · run by {{.}}{{end}}</footer></body></html>{{end}}

{{define "prefs"}}
<label for="topics">Topics <span class="hint" id="topics-hint">— one per line, e.g. <code>belarus</code> or <code>"military cooperation" iran -israel</code></span></label>
<textarea id="topics" name="topics" rows="4" required aria-describedby="topics-hint">{{.Topics}}</textarea>
<fieldset><legend>How often</legend>
<label class="choice"><input type="radio" name="frequency" value="daily"{{if eq .Frequency "daily"}} checked{{end}}>Once a day</label>
<label class="choice"><input type="radio" name="frequency" value="weekly"{{if eq .Frequency "weekly"}} checked{{end}}>Once a week</label>
<label class="choice"><input type="radio" name="frequency" value="instant"{{if eq .Frequency "instant"}} checked{{end}}>As it happens (news of the same minute comes together)</label>
</fieldset>
<div class="row">
<div class="hour-field"><label for="hour">At hour <span class="hint" id="hour-hint">(0–23, your time)</span></label>
<input id="hour" name="hour" type="number" min="0" max="23" inputmode="numeric" value="{{.Hour}}" aria-describedby="hour-hint"></div>
<div><label for="tz">Time zone <span class="hint" id="tz-hint">(like Europe/Vilnius)</span></label>
<input id="tz" name="tz" type="text" value="{{.TZ}}" list="zones" autocomplete="off" spellcheck="false" aria-describedby="tz-hint">
<datalist id="zones">{{range zones}}<option value="{{.}}">{{end}}</datalist></div>
</div>
{{end}}

{{define "problems"}}{{with .}}<div class="problems" role="alert"><p>Please check:</p><ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}{{end}}

{{define "preview"}}{{with .}}
<p class="hint">Searched {{.Articles}} articles from the last seven days.</p>
{{range .Topics}}<h3>{{.Topic}}</h3>
{{if .Error}}<p class="problems">{{.Error}}</p>{{else}}
<p>{{if eq .Count 0}}Nothing this week.{{else if eq .Count 1}}1 article this week:{{else}}{{.Count}} articles this week{{if gt .Count (len .Matches)}}, the latest {{len .Matches}}{{end}}:{{end}}</p>
{{with .Matches}}<ul>{{range .}}<li><a href="{{.URL}}" rel="noopener noreferrer">{{.Title}}</a> <span class="hint">{{.Source}}{{with .Published}} · {{.}}{{end}}</span></li>{{end}}</ul>{{end}}
{{end}}{{end}}{{end}}{{end}}

{{define "signup"}}{{template "head" $}}{{with .Data}}
<h1>{{$.Site}}</h1>
<p>News on the topics you follow, in one calm email, only when something new was published.</p>
{{if not .Email}}<p class="problems">Email digests are not enabled here.</p>{{end}}
{{template "problems" .Problems}}
<form id="signup" method="post" action="/subscribe">
<input type="hidden" name="form" value="{{.Form}}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{.Values.Email}}">
{{template "prefs" .Values}}
<div class="hp" aria-hidden="true"><label for="website">Leave this empty</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<button type="submit" formaction="/preview" class="secondary">Preview this week's matches</button>
<button type="submit">Subscribe</button>
</form>
<p class="hint">We send one email to confirm. Nothing else is sent until you open its link.</p>
<section aria-labelledby="preview-title"><h2 id="preview-title">What your topics matched this week</h2>
<div id="preview" aria-live="polite">{{if .Preview}}{{template "preview" .Preview}}{{else}}<p class="hint">Type topics above or press “Preview” to see recent matches.</p>{{end}}</div></section>
{{end}}
<script nonce="{{.Nonce}}">
(function(){
var tz=document.getElementById('tz');
try{var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(tz&&z&&tz.value==='UTC')tz.value=z;}catch(e){}
var ta=document.getElementById('topics'),out=document.getElementById('preview');
if(!ta||!out||!window.fetch)return;
var timer=0,seq=0;
function el(tag,text,cls){var e=document.createElement(tag);if(text)e.textContent=text;if(cls)e.className=cls;return e;}
function show(res){
 out.textContent='';
 if(!res.topics.length){out.appendChild(el('p','Type topics above to see recent matches.','hint'));return;}
 out.appendChild(el('p','Searched '+res.articles+' articles from the last seven days.','hint'));
 res.topics.forEach(function(t){
  out.appendChild(el('h3',t.topic));
  if(t.error){out.appendChild(el('p',t.error,'problems'));return;}
  out.appendChild(el('p',t.count===0?'Nothing this week.':(t.count===1?'1 article this week:':t.count+' articles this week'+(t.count>t.matches.length?', the latest '+t.matches.length:'')+':')));
  if(!t.matches.length)return;
  var ul=el('ul');
  t.matches.forEach(function(m){var li=el('li'),a=el('a',m.title);a.href=m.url;a.rel='noopener noreferrer';li.appendChild(a);
   li.appendChild(document.createTextNode(' '));li.appendChild(el('span',m.source+(m.published?' · '+m.published:''),'hint'));ul.appendChild(li);});
  out.appendChild(ul);
 });
}
function ask(){
 var my=++seq;
 fetch('/preview?format=json&topics='+encodeURIComponent(ta.value),{headers:{'Accept':'application/json'}})
 .then(function(r){return r.ok?r.json():null;}).then(function(res){if(res&&my===seq)show(res);}).catch(function(){});
}
ta.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(ask,400);});
})();
</script>
{{template "foot" $}}{{end}}

{{define "check"}}{{template "head" $}}
<h1>Check your inbox</h1>
<p>If {{with .Data}}{{with .Email}}<strong>{{.}}</strong>{{else}}the address{{end}}{{else}}the address{{end}} can receive digests, an email is on its way to it. Open the link in it to start or to change your digest.</p>
<p class="hint">Nothing arrived after a few minutes? Look in the spam folder, or <a href="/">try again</a>.</p>
{{template "foot" $}}{{end}}

{{define "confirm"}}{{template "head" $}}{{with .Data}}
<h1>Confirm your digest</h1>
<p>{{$.Site}} will email <strong>{{.Pending.Reader.Email}}</strong> when something new matches{{if .Pending.Chat}} your Telegram chat's topics{{end}}:</p>
<ul>{{range .Pending.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
{{with .Pending.Frequency}}<p class="hint">{{if eq . "instant"}}As it happens{{else if eq . "weekly"}}Once a week{{else}}Once a day{{end}}{{if ne . "instant"}}, at {{$.Data.Pending.Hour}}:00 {{$.Data.Pending.TZ}}{{end}}.</p>{{end}}
<form method="post" action="/confirm">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit">Confirm my subscription</button>
</form>
<p class="hint">Nothing is sent until you press the button. If you did not ask for this, close this page.</p>
{{end}}{{template "foot" $}}{{end}}

{{define "confirmed"}}{{template "head" $}}{{with .Data}}
<h1>You're subscribed</h1>
<p>{{$.Site}} will email <strong>{{.Sub.Email}}</strong> when something new matches{{if .Sub.LinkedTo}} your Telegram chat's topics{{end}}:</p>
<ul>{{range .Sub.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
<dl class="facts">
<dt>How often</dt><dd>{{if eq .Sub.Frequency "weekly"}}Once a week{{else if eq .Sub.Frequency "instant"}}As it happens{{else}}Once a day{{end}}</dd>
{{if ne .Sub.Frequency "instant"}}<dt>At</dt><dd>{{printf "%02d:00" .Sub.Hour}}</dd>{{end}}
<dt>Time zone</dt><dd>{{.Zone}}</dd>
<dt>First {{if eq .Sub.Frequency "instant"}}alert{{else}}digest{{end}}</dt><dd>{{with .First}}{{.}} ({{$.Data.Zone}} time){{else}}Within minutes of a matching article{{end}}, if something new matches by then</dd>
</dl>
<p><a href="/manage?token={{.Manage}}">Change topics, frequency or time</a></p>
{{end}}{{template "foot" $}}{{end}}

{{define "manage"}}{{template "head" $}}{{with .Data}}
<h1>Your digest</h1>
<p>For <strong>{{.Sub.Email}}</strong>{{if eq .Sub.Status "unsubscribed"}} · unsubscribed{{else if eq .Sub.Status "suspended"}} · suspended because emails to it bounced{{else if eq .Sub.Status "pending"}} · not confirmed yet{{end}}{{with .Paused}} · paused {{.}}{{end}}.</p>
{{if .Sub.LinkedTo}}<p class="hint">These topics are shared with your Telegram chat: a change here changes them there too.</p>{{end}}
{{with .Notice}}<p class="notice" role="status">{{.}}</p>{{end}}
{{template "problems" .Problems}}
<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="prefs-title">
<h2 id="prefs-title">Topics and timing</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{template "prefs" .Values}}
<button type="submit" name="action" value="save">Save changes</button>
</form>
<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="pause-title">
<h2 id="pause-title">{{if or .Paused (ne .Sub.Status "active")}}Resume{{else}}Pause{{end}}</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if or .Paused (ne .Sub.Status "active")}}
<p>No digests are sent now. What matches meanwhile is not saved up.</p>
<button type="submit" name="action" value="resume">Resume digests</button>
{{else}}
<label for="pause">Pause digests for</label>
<select id="pause" name="pause"><option value="7d">one week</option><option value="14d">two weeks</option><option value="30d">a month</option><option value="forever">until I resume them</option></select>
<button type="submit" name="action" value="pause">Pause</button>
{{end}}
</form>
{{if ne .Sub.Status "unsubscribed"}}<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="unsub-title">
<h2 id="unsub-title">Unsubscribe</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p>Stop all digests to this address. Your topics are kept, so you can resume here later.</p>
<button type="submit" name="action" value="unsubscribe" class="danger">Unsubscribe</button>
</form>{{end}}
<section class="card" aria-labelledby="data-title">
<h2 id="data-title">Your data</h2>
<p><a href="/manage/export?token={{.Token}}" download>Download my data (JSON)</a></p>
{{with .FeedURL}}<p>Your matches as a feed, for a feed reader: <a href="{{.}}" rel="noreferrer">{{.}}</a>. Keep this address to yourself: anyone who has it can read the feed.</p>{{end}}
<form method="post" action="/manage/delete?token={{.Token}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label class="choice"><input type="checkbox" name="sure" value="yes" required>Delete my address, topics and everything waiting for my next digest</label>
<button type="submit" class="danger">Delete all my data</button>
</form>
</section>
{{end}}{{template "foot" $}}{{end}}

{{define "unsubscribe"}}{{template "head" $}}{{with .Data}}
<h1>Unsubscribe</h1>
<p>Stop sending digests to <strong>{{.Sub.Email}}</strong>?</p>
<form method="post" action="/unsubscribe?token={{.Token}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Stop sending me digests</button>
</form>
{{end}}{{template "foot" $}}{{end}}

{{define "unsubscribed"}}{{template "head" $}}{{with .Data}}
<h1>Unsubscribed</h1>
<p>No more digests will be sent to this address.</p>
<p class="hint">Changed your mind, or want everything deleted? <a href="/manage?token={{.Manage}}">Open your settings</a>.</p>
{{end}}{{template "foot" $}}{{end}}

{{define "deleted"}}{{template "head" $}}
<h1>Deleted</h1>
<p>{{$.Site}} no longer holds your address, your topics or anything waiting for you.</p>
{{template "foot" $}}{{end}}

{{define "notfound"}}{{template "head" $}}
<h1>{{$.Site}}</h1>
<p role="alert">There is no page at this address.</p>
<p><a href="/">Go to the sign-up page</a></p>
{{template "foot" $}}{{end}}

{{define "message"}}{{template "head" $}}{{with .Data}}
<h1>{{$.Site}}</h1>
<p role="alert">{{.Message}}</p>
<p><a href="/">Go to the sign-up page</a></p>
{{end}}{{template "foot" $}}{{end}}
`))

// commonZones fill the time-zone field's suggestions; any IANA name works.
var commonZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Warsaw", "Europe/Vilnius", "Europe/Riga", "Europe/Tallinn", "Europe/Helsinki", "Europe/Kyiv", "Europe/Minsk",
	"Europe/Moscow", "Europe/Istanbul", "Asia/Tbilisi", "Asia/Yerevan", "Asia/Tehran", "Asia/Dubai", "Asia/Almaty",
	"Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "America/New_York", "America/Chicago",
	"America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Africa/Cairo", "Africa/Johannesburg"}

// favicon is the pages' icon, inline (a data: URI) so that no page makes
// a second request or fetches anything from elsewhere: a blue rounded
// square with a white "H".
const favicon = template.URL("data:image/svg+xml," +
	"%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E" +
	"%3Crect width='32' height='32' rx='7' fill='%231f5fbf'/%3E" +
	"%3Cpath d='M9 7h4v7h6V7h4v18h-4v-7h-6v7H9z' fill='%23fff'/%3E%3C/svg%3E")
