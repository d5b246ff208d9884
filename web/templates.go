package web

// pageTemplates are the pages; pages.go parses them. $.L prints the
// page's texts in its language, $.Data is the page's own.
const pageTemplates = `
{{define "head"}}<!doctype html>
<html lang="{{.L.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<meta name="description" content="{{.L.T "web.meta.description" "Site" .Site}}">
<link rel="icon" type="image/svg+xml" href="{{favicon}}">
<title>{{.Title}} — {{.Site}}</title>
<style>
:root{--fg:#1a1a1a;--bg:#fbfbfa;--muted:#575c61;--accent:#1f5fbf;--line:#d0d4d8;--card:#ffffff;--bad:#b00020;--mark:#fff0a8}
@media (prefers-color-scheme: dark){:root{--fg:#e8e8e8;--bg:#111418;--muted:#a9b1b9;--accent:#8ab8ff;--line:#3a424b;--card:#1b2027;--bad:#ff9aa8;--mark:#5a4a00}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);max-width:44rem;margin:0 auto;padding:.5rem 1.25rem 2rem;line-height:1.5;font-size:1.0625rem}
.top{display:flex;justify-content:space-between;align-items:center;gap:1rem;padding:.25rem 0;border-bottom:1px solid var(--line)}
.brand{font-weight:700;text-decoration:none;color:var(--fg)}
.langs{display:flex;gap:.75rem;font-size:.95rem}.langs a,.langs span{padding:.35rem .1rem}.langs span{font-weight:600}
h1{font-size:1.75rem;margin:1rem 0 .25rem;line-height:1.25}
h2{font-size:1.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
a{color:var(--accent);overflow-wrap:anywhere}
code{overflow-wrap:anywhere}
label,legend{display:block;font-weight:600;margin-top:1.1rem}
fieldset{border:0;padding:0;margin:0}legend{padding:0}
.card>h2:first-of-type{margin-top:.9rem}
input,select,textarea,button{font:inherit;padding:.55rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--card);color:var(--fg)}
input[type=email],input[type=text],textarea,select{width:100%}
input[type=number]{width:6rem}
input[type=checkbox],input[type=radio]{width:auto;margin-right:.4rem}
[aria-invalid=true]{border:2px solid var(--bad)}
.choice{display:block;font-weight:400;margin:.25rem 0}
.buttons{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
button{padding:.6rem 1.2rem;border-color:var(--accent);background:var(--accent);color:#fff;cursor:pointer;font-weight:600}
form>button,.card button{margin-top:1.25rem}
@media (prefers-color-scheme: dark){button{color:#0b0d10}}
button.secondary{background:transparent;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad)}
.hint{font-weight:400;font-size:.92rem;color:var(--muted)}
p.hint{margin:.2rem 0}
.field-error{color:var(--bad);font-weight:600;margin:.3rem 0 0;font-size:.95rem}
.field-error ul{margin:0;padding-left:1.1rem}
.problems{border-left:4px solid var(--bad);padding:.25rem 1rem;margin:1rem 0}
.notice{border-left:4px solid var(--accent);padding:.25rem 1rem;margin:1rem 0}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.25rem 1rem 1rem;margin-top:1.25rem}
.row{display:flex;gap:1rem;flex-wrap:wrap}.row>div{flex:1 1 10rem}
.gets{padding-left:1.1rem}.gets li{margin:.2rem 0}
.check{margin:.4rem 0 0;padding:0;list-style:none;font-size:.95rem}.check li{margin:.15rem 0}
.syntax{margin-top:.5rem;font-size:.95rem}.syntax summary{cursor:pointer;color:var(--accent);padding:.25rem 0}
.syntax table{border-collapse:collapse;margin-top:.25rem;width:100%}.syntax td{padding:.25rem .5rem .25rem 0;vertical-align:top;border-top:1px solid var(--line)}
.syntax td:first-child{white-space:nowrap}
.matches{padding-left:1.1rem}.matches li{margin:.35rem 0}
.sources{columns:2 12rem;padding-left:1.1rem;font-size:.95rem}
.digest article{padding:.6rem 0;border-top:1px solid var(--line)}.digest article:first-of-type{border-top:0}
.digest h3{margin:.1rem 0}.digest p{margin:.2rem 0}
mark{background:var(--mark);color:inherit;padding:0 .1em;border-radius:.15em}
code{font-size:.95em}
form:has(input[name=frequency][value=instant]:checked) .hour-field{display:none}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}.facts dt{font-weight:600}.facts dd{margin:0}
footer{margin-top:3rem;border-top:1px solid var(--line);padding-top:.5rem}footer p{margin:.2rem 0}
:focus-visible{outline:3px solid #f5a300;outline-offset:2px}
</style></head><body>
<header class="top"><a class="brand" href="/">{{.Site}}</a>
<nav class="langs" aria-label="{{.L.T "web.lang.switch"}}">{{range .Langs}}{{if .Current}}<span lang="{{.Code}}" aria-current="true">{{.Name}}</span>{{else}}<a href="{{.Href}}" lang="{{.Code}}" hreflang="{{.Code}}">{{.Name}}</a>{{end}}{{end}}</nav>
</header>
<main id="main">{{end}}

{{define "foot"}}</main><footer class="hint">
<p>{{.Site}}{{with .Operator}} · {{$.L.T "web.foot.operator" "Operator" .}}{{end}}</p>
<p>{{.L.T "web.foot.privacy"}}</p>
</footer></body></html>{{end}}

{{define "ferr"}}{{with .Msgs}}<div class="field-error" id="{{$.ID}}-error">{{if eq (len .) 1}}{{index . 0}}{{else}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>{{end}}{{end}}

{{define "prefs"}}{{$L := .P.L}}{{$f := .V}}{{$e := $f.Errors}}
<label for="topics">{{$L.T "web.field.topics"}}</label>
<p class="hint" id="topics-hint">{{$L.T "web.field.topics.hint"}}</p>
<textarea id="topics" name="topics" rows="4" required aria-describedby="topics-hint{{if index $e "topics"}} topics-error{{end}}"{{if index $e "topics"}} aria-invalid="true"{{if first $e "topics"}} autofocus{{end}}{{end}}>{{$f.Values.Topics}}</textarea>
{{template "ferr" (ferr "topics" (index $e "topics"))}}
<div id="topics-check" aria-live="polite">{{with $f.Preview}}{{template "check" (with2 $.P .)}}{{end}}</div>
<details class="syntax"><summary>{{$L.T "web.syntax.title"}}</summary>
<table><tbody>
<tr><td><code>iran drones</code></td><td>{{$L.T "web.syntax.and"}}</td></tr>
<tr><td><code>"military cooperation"</code></td><td>{{$L.T "web.syntax.phrase"}}</td></tr>
<tr><td><code>belarus OR minsk</code></td><td>{{$L.T "web.syntax.or"}}</td></tr>
<tr><td><code>iran -israel</code></td><td>{{$L.T "web.syntax.not"}}</td></tr>
<tr><td><code>drone*</code></td><td>{{$L.T "web.syntax.prefix"}}</td></tr>
<tr><td><code>title:sanctions</code></td><td>{{$L.T "web.syntax.title_only"}}</td></tr>
<tr><td><code>site:bbc.co.uk</code></td><td>{{$L.T "web.syntax.site"}}</td></tr>
<tr><td><code>lang:ru</code></td><td>{{$L.T "web.syntax.lang"}}</td></tr>
<tr><td><code>(belarus OR minsk) -sport</code></td><td>{{$L.T "web.syntax.group"}}</td></tr>
</tbody></table></details>
<fieldset{{if index $e "frequency"}} aria-describedby="frequency-error"{{end}}><legend>{{$L.T "web.field.frequency"}}</legend>
<label class="choice"><input type="radio" name="frequency" value="daily"{{if eq $f.Values.Frequency "daily"}} checked{{end}}>{{$L.T "web.frequency.daily"}}</label>
<label class="choice"><input type="radio" name="frequency" value="weekly"{{if eq $f.Values.Frequency "weekly"}} checked{{end}}>{{$L.T "web.frequency.weekly"}}</label>
<label class="choice"><input type="radio" name="frequency" value="instant"{{if eq $f.Values.Frequency "instant"}} checked{{end}}>{{$L.T "web.frequency.instant.long"}}</label>
</fieldset>
{{template "ferr" (ferr "frequency" (index $e "frequency"))}}
<div class="row">
<div class="hour-field"><label for="hour">{{$L.T "web.field.hour"}} <span class="hint" id="hour-hint">{{$L.T "web.field.hour.hint"}}</span></label>
<input id="hour" name="hour" type="number" min="0" max="23" inputmode="numeric" value="{{$f.Values.Hour}}" aria-describedby="hour-hint{{if index $e "hour"}} hour-error{{end}}"{{if index $e "hour"}} aria-invalid="true"{{if first $e "hour"}} autofocus{{end}}{{end}}>
{{template "ferr" (ferr "hour" (index $e "hour"))}}</div>
<div><label for="tz">{{$L.T "web.field.tz"}} <span class="hint" id="tz-hint">{{$L.T "web.field.tz.hint"}}</span></label>
<input id="tz" name="tz" type="text" value="{{$f.Values.TZ}}" list="zones" autocomplete="off" spellcheck="false" aria-describedby="tz-hint{{if index $e "tz"}} tz-error{{end}}"{{if index $e "tz"}} aria-invalid="true"{{if first $e "tz"}} autofocus{{end}}{{end}}>
<datalist id="zones">{{range zones}}<option value="{{.}}">{{end}}</datalist>
{{template "ferr" (ferr "tz" (index $e "tz"))}}</div>
</div>
{{if $f.Manage}}<label for="lang">{{$L.T "web.field.lang"}}</label>
<select id="lang" name="lang">{{range langs}}<option value="{{.}}" lang="{{.}}"{{if eq . $f.Values.Lang}} selected{{end}}>{{langName .}}</option>{{end}}</select>{{end}}
{{end}}

{{define "check"}}{{$L := .P.L}}{{with .V}}{{if .Topics}}<ul class="check">{{range .Topics}}<li>{{if .Error}}<code>{{.Topic}}</code> — {{.Error}}{{else}}<code>{{.Query}}</code> — {{$L.N "web.preview.count" .Count}}{{with .Note}}<br><span class="hint">{{.}}</span>{{end}}{{end}}</li>{{end}}</ul>{{end}}{{end}}{{end}}

{{define "preview"}}{{$L := .P.L}}{{with .V}}
<p class="hint">{{$L.N "web.preview.searched" .Articles}}</p>
{{range .Topics}}{{if not .Error}}<h3><code>{{.Query}}</code></h3>
<p>{{if eq .Count 0}}{{$L.T "web.preview.none"}}{{else if gt .Count (len .Matches)}}{{$L.N "web.preview.latest" (len .Matches) "Count" ($L.N "web.preview.count" .Count)}}{{else}}{{$L.N "web.preview.count" .Count}}:{{end}}</p>
{{with .Matches}}<ul class="matches">{{range .}}<li><a href="{{.URL}}" rel="noopener noreferrer">{{.Title}}</a> <span class="hint">{{.Source}}{{with .Published}} · <time datetime="{{.ISO}}">{{.Text}}</time>{{end}}</span></li>{{end}}</ul>{{end}}
{{end}}{{end}}{{end}}{{end}}

{{define "preview-script"}}
<script nonce="{{.Nonce}}">
(function(){
var tz=document.getElementById('tz');
try{var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(tz&&z&&tz.value==='UTC'&&!tz.hasAttribute('aria-invalid'))tz.value=z;}catch(e){}
var ta=document.getElementById('topics'),check=document.getElementById('topics-check'),out=document.getElementById('preview');
if(!ta||!check||!window.fetch)return;
var timer=0,seq=0;
function ask(){
 var my=++seq;
 fetch('/preview?format=json&topics='+encodeURIComponent(ta.value)+'&tz='+encodeURIComponent(tz?tz.value:''),{headers:{'Accept':'application/json'}})
 .then(function(r){return r.ok?r.json():null;}).then(function(res){if(!res||my!==seq)return;check.innerHTML=res.html.check;if(out)out.innerHTML=res.html.list;}).catch(function(){});
}
ta.addEventListener('input',function(){clearTimeout(timer);timer=setTimeout(ask,400);});
if(tz)tz.addEventListener('change',ask);
})();
</script>{{end}}

{{define "signup"}}{{template "head" $}}{{with .Data}}
<h1>{{$.Site}}</h1>
<p>{{$.L.T "web.signup.lead" "Site" $.Site}}</p>
<ul class="gets">
<li>{{$.L.T "web.signup.get.digest"}}</li>
<li>{{$.L.T "web.signup.get.quiet"}}</li>
<li>{{$.L.T "web.signup.get.control"}}</li>
</ul>
{{if not .Email}}<p class="problems">{{$.L.T "web.signup.email_off"}}</p>{{end}}
{{with .Problem}}<p class="problems" role="alert">{{.}}</p>{{end}}
{{with .Errors}}<div class="problems"><p>{{$.L.N "web.form.problems" (len .)}}</p></div>{{end}}
<form id="signup" method="post" action="/subscribe" novalidate>
<input type="hidden" name="form" value="{{.Form}}">
<input type="hidden" name="lang" value="{{$.L.Lang}}">
<label for="email">{{$.L.T "web.field.email"}}</label>
<input id="email" name="email" type="email" required autocomplete="email" value="{{.Values.Email}}"{{if index .Errors "email"}} aria-invalid="true" aria-describedby="email-error"{{if first .Errors "email"}} autofocus{{end}}{{end}}>
{{template "ferr" (ferr "email" (index .Errors "email"))}}
{{template "prefs" (with2 $ .View)}}
<div class="hp" aria-hidden="true"><label for="website">{{$.L.T "web.honeypot"}}</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<div class="buttons">
<button type="submit">{{$.L.T "web.signup.subscribe"}}</button>
<button type="submit" formaction="/preview" class="secondary">{{$.L.T "web.signup.preview"}}</button>
</div>
</form>
<p class="hint">{{$.L.T "web.signup.confirm_note"}}</p>
<section aria-labelledby="preview-title"><h2 id="preview-title">{{$.L.T "web.preview.title"}}</h2>
<div id="preview" aria-live="polite">{{if .Preview}}{{template "preview" (with2 $ .Preview)}}{{else}}<p class="hint">{{$.L.T "web.preview.empty"}}</p>{{end}}</div></section>
<section aria-labelledby="sample-title"><h2 id="sample-title">{{$.L.T "web.sample.title"}}</h2>
{{with .Sample}}<p class="hint">{{$.L.T "web.sample.hint"}}</p>
<div class="card digest">{{range .}}<article><h3><a href="{{.URL}}" rel="noopener noreferrer">{{.Title}}</a></h3>
<p class="hint">{{.Source}}{{with .Published}} · <time datetime="{{.ISO}}">{{.Text}}</time>{{end}}</p>{{with .Summary}}<p>{{.}}</p>{{end}}</article>{{end}}</div>
{{else}}<p class="hint">{{$.L.T "web.sample.none"}}</p>{{end}}</section>
<section aria-labelledby="sources-title"><h2 id="sources-title">{{$.L.T "web.sources.title"}}</h2>
{{with .Sources}}<p>{{$.L.N "web.sources.count" $.Data.SourceCount}}</p>
<ul class="sources">{{range .}}<li>{{if .URL}}<a href="{{.URL}}" rel="noopener noreferrer">{{.Name}}</a>{{else}}{{.Name}}{{end}}</li>{{end}}</ul>
{{if gt $.Data.SourceCount (len .)}}<p class="hint">{{$.L.N "web.sources.more" (len .)}}</p>{{end}}
{{else}}<p class="hint">{{$.L.T "web.sources.none"}}</p>{{end}}</section>
{{end}}
{{template "preview-script" $}}
{{template "foot" $}}{{end}}

{{define "check-inbox"}}{{template "head" $}}
<h1>{{.L.T "web.check.heading"}}</h1>
<p>{{with .Data}}{{with .Email}}{{$.L.T "web.check.sent.before"}} <strong>{{.}}</strong> {{$.L.T "web.check.sent.after"}}{{else}}{{$.L.T "web.check.sent.any"}}{{end}}{{else}}{{$.L.T "web.check.sent.any"}}{{end}}</p>
<p class="hint">{{.L.T "web.check.spam"}} <a href="/">{{.L.T "web.check.again"}}</a></p>
{{template "foot" $}}{{end}}

{{define "confirm"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.confirm.heading"}}</h1>
<p>{{if .Pending.Chat}}{{$.L.T "web.confirm.lead.chat" "Site" $.Site}}{{else}}{{$.L.T "web.confirm.lead" "Site" $.Site}}{{end}} <strong>{{.Pending.Reader.Email}}</strong>:</p>
<ul>{{range .Pending.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
{{with .When}}<p class="hint">{{.}}</p>{{end}}
<form method="post" action="/confirm">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit">{{$.L.T "web.confirm.button"}}</button>
</form>
<p class="hint">{{$.L.T "web.confirm.note"}}</p>
{{end}}{{template "foot" $}}{{end}}

{{define "confirmed"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.confirmed.heading"}}</h1>
<p>{{if .Sub.LinkedTo}}{{$.L.T "web.confirmed.lead.chat" "Site" $.Site}}{{else}}{{$.L.T "web.confirmed.lead" "Site" $.Site}}{{end}} <strong>{{.Sub.Email}}</strong>:</p>
<ul>{{range .Sub.Topics}}<li><code>{{.}}</code></li>{{end}}</ul>
<dl class="facts">
<dt>{{$.L.T "web.field.frequency"}}</dt><dd>{{.How}}</dd>
{{if ne .Sub.Frequency "instant"}}<dt>{{$.L.T "web.confirmed.at"}}</dt><dd>{{printf "%02d:00" .Sub.Hour}}</dd>{{end}}
<dt>{{$.L.T "web.field.tz"}}</dt><dd>{{.Zone}}</dd>
<dt>{{if eq .Sub.Frequency "instant"}}{{$.L.T "web.confirmed.first.alert"}}{{else}}{{$.L.T "web.confirmed.first.digest"}}{{end}}</dt><dd>{{with .First}}{{$.L.T "web.confirmed.first.when" "When" . "Zone" $.Data.Zone}}{{else}}{{$.L.T "web.confirmed.first.instant"}}{{end}}</dd>
</dl>
<p><a href="/manage?token={{.Manage}}">{{$.L.T "web.confirmed.manage"}}</a></p>
{{end}}{{template "foot" $}}{{end}}

{{define "manage"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.manage.heading"}}</h1>
<p>{{$.L.T "web.manage.for"}} <strong>{{.Sub.Email}}</strong>{{with .State}} · {{.}}{{end}}.</p>
{{if .Sub.LinkedTo}}<p class="hint">{{$.L.T "web.manage.linked"}}</p>{{end}}
{{with .Notice}}<div class="notice" role="status"><p>{{.}}</p>{{with $.Data.Rewrites}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>{{end}}
{{with .Problems}}<div class="problems" role="alert"><ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{with .Errors}}<div class="problems"><p>{{$.L.N "web.form.problems" (len .)}}</p></div>{{end}}
<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="prefs-title" novalidate>
<h2 id="prefs-title">{{$.L.T "web.manage.prefs"}}</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{template "prefs" (with2 $ .View)}}
<button type="submit" name="action" value="save">{{$.L.T "web.manage.save"}}</button>
</form>
<section class="card" aria-labelledby="preview-title"><h2 id="preview-title">{{$.L.T "web.preview.title"}}</h2>
<div id="preview" aria-live="polite">{{if .Preview}}{{template "preview" (with2 $ .Preview)}}{{else}}<p class="hint">{{$.L.T "web.preview.empty"}}</p>{{end}}</div></section>
<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="pause-title">
<h2 id="pause-title">{{if or .Paused (ne .Sub.Status "active")}}{{$.L.T "web.manage.resume.title"}}{{else}}{{$.L.T "web.manage.pause.title"}}{{end}}</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if or .Paused (ne .Sub.Status "active")}}
<p>{{$.L.T "web.manage.resume.text"}}</p>
<button type="submit" name="action" value="resume">{{$.L.T "web.manage.resume.button"}}</button>
{{else}}
<label for="pause">{{$.L.T "web.manage.pause.for"}}</label>
<select id="pause" name="pause"><option value="7d">{{$.L.T "web.manage.pause.7d"}}</option><option value="14d">{{$.L.T "web.manage.pause.14d"}}</option><option value="30d">{{$.L.T "web.manage.pause.30d"}}</option><option value="forever">{{$.L.T "web.manage.pause.forever"}}</option></select>
<button type="submit" name="action" value="pause">{{$.L.T "web.manage.pause.button"}}</button>
{{end}}
</form>
{{if ne .Sub.Status "unsubscribed"}}<form method="post" action="/manage?token={{.Token}}" class="card" aria-labelledby="unsub-title">
<h2 id="unsub-title">{{$.L.T "web.manage.unsub.title"}}</h2>
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p>{{$.L.T "web.manage.unsub.text"}}</p>
<button type="submit" name="action" value="unsubscribe" class="danger">{{$.L.T "web.manage.unsub.button"}}</button>
</form>{{end}}
<section class="card" aria-labelledby="data-title">
<h2 id="data-title">{{$.L.T "web.manage.data.title"}}</h2>
{{with .ArchiveURL}}<p><a href="{{.}}">{{$.L.T "web.manage.archive"}}</a></p>{{end}}
<p><a href="/manage/export?token={{.Token}}" download>{{$.L.T "web.manage.export"}}</a></p>
{{with .FeedURL}}<p>{{$.L.T "web.manage.feed"}} <a href="{{.}}" rel="noreferrer">{{.}}</a>. {{$.L.T "web.manage.feed.secret"}}</p>{{end}}
<form method="post" action="/manage/delete?token={{.Token}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label class="choice"><input type="checkbox" name="sure" value="yes" required>{{$.L.T "web.manage.delete.sure"}}</label>
<button type="submit" class="danger">{{$.L.T "web.manage.delete.button"}}</button>
</form>
</section>
{{end}}
{{template "preview-script" $}}
{{template "foot" $}}{{end}}

{{define "archive"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.archive.heading"}}</h1>
<p>{{$.L.N "web.archive.lead" .Days "Count" ($.L.N "web.archive.count" .Count)}}</p>
{{range .Groups}}<section class="card digest" aria-labelledby="day-{{.ID}}"><h2 id="day-{{.ID}}">{{.Heading}}</h2>
{{range .Items}}<article><h3><a href="{{.URL}}" rel="noopener noreferrer">{{.Title}}</a></h3>
<p class="hint">{{.Source}} · <time datetime="{{.ISO}}">{{.Clock}}</time> · <code>{{.Topic}}</code></p>{{with .Summary}}<p>{{.}}</p>{{end}}</article>{{end}}
</section>{{else}}<p class="hint">{{$.L.T "web.archive.none"}}</p>{{end}}
{{end}}{{template "foot" $}}{{end}}

{{define "unsubscribe"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.unsubscribe.heading"}}</h1>
<p>{{$.L.T "web.unsubscribe.ask"}} <strong>{{.Sub.Email}}</strong>?</p>
<form method="post" action="/unsubscribe?token={{.Token}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">{{$.L.T "web.unsubscribe.button"}}</button>
</form>
{{end}}{{template "foot" $}}{{end}}

{{define "unsubscribed"}}{{template "head" $}}{{with .Data}}
<h1>{{$.L.T "web.unsubscribed.heading"}}</h1>
<p>{{$.L.T "web.unsubscribed.text"}}</p>
<p class="hint">{{$.L.T "web.unsubscribed.again"}} <a href="/manage?token={{.Manage}}">{{$.L.T "web.unsubscribed.manage"}}</a></p>
{{end}}{{template "foot" $}}{{end}}

{{define "deleted"}}{{template "head" $}}
<h1>{{.L.T "web.deleted.heading"}}</h1>
<p>{{.L.T "web.deleted.text" "Site" .Site}}</p>
{{template "foot" $}}{{end}}

{{define "notfound"}}{{template "head" $}}
<h1>{{.Site}}</h1>
<p role="alert">{{.L.T "web.notfound.text"}}</p>
<p><a href="/">{{.L.T "web.home"}}</a></p>
{{template "foot" $}}{{end}}

{{define "message"}}{{template "head" $}}{{with .Data}}
<h1>{{$.Site}}</h1>
<p role="alert">{{.Message}}</p>
<p><a href="/">{{$.L.T "web.home"}}</a></p>
{{end}}{{template "foot" $}}{{end}}
`
