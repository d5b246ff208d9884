package mailer

import (
	htmltemplate "html/template"
	texttemplate "text/template"
)

type (
	textTemplate = *texttemplate.Template
	htmlTemplate = *htmltemplate.Template
)

// The HTML emails keep every style inline (most clients drop <style>), and
// add one <style> block only for dark mode: clients that honour it get
// colours chosen for a dark background; the others invert the light ones,
// which stay readable because text and backgrounds are plain and solid.
const darkStyle = `<style>
:root{color-scheme:light dark;supported-color-schemes:light dark}
@media (prefers-color-scheme: dark){
.bg{background:#111418 !important}
.card{background:#1c2128 !important;color:#e6e6e6 !important}
.fg{color:#e6e6e6 !important}
.muted{color:#a0a8b0 !important}
.link{color:#7fb0ff !important}
.rule{border-color:#30363d !important}
.btn{background:#3b82f6 !important;color:#ffffff !important}
}
</style>`

// Every word of the emails comes from locale (messages/mail.*.toml): .L
// is the reader's printer, so {{.L.T "id"}} writes a message in their
// language, and html/template escapes it like any other value.

// footText and footHTML name the service and who runs it under every
// email, so that a reader knows who writes to them.
const footText = `{{define "foot"}}--
{{.L.T "mail.foot" "Site" .Site "Operator" .Operator}}
{{end}}`

const footHTML = `{{define "foot"}}<p class="muted" style="color:#555555;font-size:13px;margin-top:24px">{{.L.T "mail.foot" "Site" .Site "Operator" .Operator}}</p>{{end}}`

// askedText and askedHTML are the sentence saying what was asked for,
// with the topics it lists.
const askedText = `{{define "asked"}}{{.L.T .Asked "Site" .Site "Topics" (len .Topics)}}
{{range .Topics}}  - {{.}}
{{end}}{{end}}`

const askedHTML = `{{define "asked"}}<p>{{.L.T .Asked "Site" .Site "Topics" (len .Topics)}}</p>
{{with .Topics}}<ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}{{end}}`

// confirmText and confirmHTML carry a sign-up's confirmation link (or,
// with .Manage, an existing reader's manage link).
var confirmText = texttemplate.Must(texttemplate.New("").Parse(`{{.L.T "mail.hello"}}

{{template "asked" .}}
{{.L.T .Open}}
{{.Link}}

{{.L.T .NotYou}}

{{template "foot" .}}` + footText + askedText))

var confirmHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>{{.Subject}}</title>` + darkStyle + `</head>
<body class="card" style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
<p>{{.L.T "mail.hello"}}</p>
{{template "asked" .}}
<p><a class="btn" href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#1f5fbf;color:#ffffff;text-decoration:none;border-radius:6px">{{.L.T .Button}}</a></p>
<p class="muted" style="color:#555555;font-size:14px">{{.L.T "mail.button_fallback"}}<br><a class="link" href="{{.Link}}" style="color:#1f5fbf;word-break:break-all">{{.Link}}</a></p>
<p class="muted" style="color:#555555;font-size:14px">{{.L.T .NotYou}}</p>
{{template "foot" .}}
</body></html>
` + footHTML + askedHTML))

var digestText = texttemplate.Must(texttemplate.New("").Parse(`{{.Site}} · {{.Date}}
{{.L.N "mail.digest.count" .Count}}.
{{with .Archive}}{{$.L.T "mail.digest.view"}}: {{.}}
{{end}}{{range .Groups}}
== {{.Heading}} ==
({{.Topic}})
{{range .Entries}}
* {{.Title}}
  {{.Source}}{{with .Time}} · {{.}}{{end}}
  {{.URL}}
{{with .Summary}}  {{.}}
{{end}}{{end}}{{end}}
--
{{.L.T "mail.digest.manage"}}: {{.Manage}}
{{.L.T "mail.digest.unsubscribe"}}: {{.Unsubscribe}}
{{.L.T "mail.foot" "Site" .Site "Operator" .Operator}}
`))

var digestHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>{{.L.T "mail.digest.title" "Site" .Site}}</title>` + darkStyle + `</head>
<body class="bg" style="margin:0;padding:0;background:#f2f3f5">
<table role="presentation" class="bg" width="100%" cellpadding="0" cellspacing="0" style="background:#f2f3f5"><tr><td align="center" style="padding:16px 8px">
<table role="presentation" class="card" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;background:#ffffff;border-radius:8px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a">
<tr><td style="padding:20px 24px 4px 24px"><div class="fg" style="font-size:22px;font-weight:700;color:#1a1a1a">{{.Site}}</div>
<div class="muted" style="font-size:14px;color:#555555">{{.Date}} · {{.L.N "mail.digest.count" .Count}}{{with .Archive}} · <a class="link" href="{{.}}" style="color:#1f5fbf">{{$.L.T "mail.digest.view"}}</a>{{end}}</div></td></tr>
{{range .Groups}}
<tr><td style="padding:18px 24px 2px 24px"><h2 class="fg" style="margin:0;font-size:17px;color:#1a1a1a;overflow-wrap:anywhere">{{.Heading}}</h2>
<div class="muted" style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#5f6368;margin-top:2px;overflow-wrap:anywhere">{{.Topic}}</div></td></tr>
{{range .Entries}}
<tr><td class="rule" style="padding:12px 24px;border-bottom:1px solid #e3e5e8">
<a class="link" href="{{.URL}}" style="font-size:17px;font-weight:600;line-height:1.35;color:#1f5fbf;text-decoration:none;overflow-wrap:anywhere">{{.Title}}</a>
<div class="muted" style="font-size:13px;color:#5f6368;margin:3px 0 6px 0">{{.Source}}{{with .Time}} · {{.}}{{end}}</div>
{{with .SummaryHTML}}<div class="fg" style="font-size:15px;line-height:1.5;color:#1a1a1a;overflow-wrap:anywhere">{{.}}</div>{{end}}
</td></tr>
{{end}}{{end}}
<tr><td class="muted" style="padding:18px 24px 22px 24px;font-size:13px;color:#5f6368">
{{.L.T "mail.digest.why" "Site" .Site "Operator" .Operator}}<br>
<a class="link" href="{{.Manage}}" style="color:#1f5fbf">{{.L.T "mail.digest.manage"}}</a> · <a class="link" href="{{.Unsubscribe}}" style="color:#1f5fbf">{{.L.T "mail.digest.unsubscribe"}}</a>
</td></tr>
</table></td></tr></table>
</body></html>
`))
