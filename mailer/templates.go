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

// footText and footHTML name the service and who runs it under every
// email, so that a reader knows who writes to them.
const footText = `{{define "foot"}}--
{{.Site}}{{with .Operator}}, run by {{.}}{{end}}
{{end}}`

const footHTML = `{{define "foot"}}<p class="muted" style="color:#555555;font-size:13px;margin-top:24px">{{.Site}}{{with .Operator}}, run by {{.}}{{end}}</p>{{end}}`

var confirmText = texttemplate.Must(texttemplate.New("").Parse(`Hello,

{{if .Telegram}}someone (we hope you, from Telegram) asked {{.Site}} to email digests of a Telegram chat's topics to this address{{else}}someone (we hope you) asked {{.Site}} to send news digests to this address{{end}}{{with .Topics}} on:
{{range .}}  - {{.}}
{{end}}{{end}}
To start receiving them, open this link and press the button on the page:
{{.Link}}

If it was not you, ignore this email: nothing will be sent.

{{template "foot" .}}` + footText))

var confirmHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>Confirm your {{.Site}} digest</title>` + darkStyle + `</head>
<body class="card" style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
<p>Hello,</p>
<p>{{if .Telegram}}someone (we hope you, from Telegram) asked {{.Site}} to email digests of a Telegram chat's topics to this address{{else}}someone (we hope you) asked {{.Site}} to send news digests to this address{{end}}{{with .Topics}} on:</p>
<ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}.</p>{{end}}
<p><a class="btn" href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#1f5fbf;color:#ffffff;text-decoration:none;border-radius:6px">Confirm my subscription</a></p>
<p class="muted" style="color:#555555;font-size:14px">If the button does not work, open this link:<br><a class="link" href="{{.Link}}" style="color:#1f5fbf;word-break:break-all">{{.Link}}</a></p>
<p class="muted" style="color:#555555;font-size:14px">If it was not you, ignore this email: nothing will be sent.</p>
{{template "foot" .}}
</body></html>
` + footHTML))

var manageText = texttemplate.Must(texttemplate.New("").Parse(`Hello,

someone (we hope you) signed this address up for {{.Site}} news digests. It already
receives them{{with .Topics}}, on:
{{range .}}  - {{.}}
{{end}}{{else}}.
{{end}}
To change topics, frequency or time, pause, or stop them, open:
{{.Link}}

If it was not you, nothing changed; you can ignore this email.

{{template "foot" .}}` + footText))

var manageHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>Your {{.Site}} digest settings</title>` + darkStyle + `</head>
<body class="card" style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
<p>Hello,</p>
<p>someone (we hope you) signed this address up for {{.Site}} news digests. It already receives them{{with .Topics}}, on:</p>
<ul>{{range .}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}.</p>{{end}}
<p><a class="btn" href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#1f5fbf;color:#ffffff;text-decoration:none;border-radius:6px">Change my digest</a></p>
<p class="muted" style="color:#555555;font-size:14px">If the button does not work, open this link:<br><a class="link" href="{{.Link}}" style="color:#1f5fbf;word-break:break-all">{{.Link}}</a></p>
<p class="muted" style="color:#555555;font-size:14px">If it was not you, nothing changed; you can ignore this email.</p>
{{template "foot" .}}
</body></html>
` + footHTML))

var digestText = texttemplate.Must(texttemplate.New("").Parse(`{{.Site}} · {{.Date}}
{{.Count}} new article{{if ne .Count 1}}s{{end}} on your topics.
{{range .Groups}}
== {{.Heading}} ==
({{.Topic}})
{{range .Entries}}
* {{.Title}}
  {{.Source}}{{with .Time}} · {{.}}{{end}}
  {{.URL}}
{{with .Summary}}  {{.}}
{{end}}{{end}}{{end}}
--
Change topics, frequency or time: {{.Manage}}
Unsubscribe: {{.Unsubscribe}}
{{.Site}}{{with .Operator}}, run by {{.}}{{end}}
`))

var digestHTML = htmltemplate.Must(htmltemplate.New("").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><meta name="supported-color-schemes" content="light dark">
<title>{{.Site}} digest</title>` + darkStyle + `</head>
<body class="bg" style="margin:0;padding:0;background:#f2f3f5">
<table role="presentation" class="bg" width="100%" cellpadding="0" cellspacing="0" style="background:#f2f3f5"><tr><td align="center" style="padding:16px 8px">
<table role="presentation" class="card" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;background:#ffffff;border-radius:8px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a">
<tr><td style="padding:20px 24px 4px 24px"><div class="fg" style="font-size:22px;font-weight:700;color:#1a1a1a">{{.Site}}</div>
<div class="muted" style="font-size:14px;color:#555555">{{.Date}} · {{.Count}} new article{{if ne .Count 1}}s{{end}} on your topics</div></td></tr>
{{range .Groups}}
<tr><td style="padding:18px 24px 2px 24px"><h2 class="fg" style="margin:0;font-size:17px;color:#1a1a1a">{{.Heading}}</h2>
<div class="muted" style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#5f6368;margin-top:2px">{{.Topic}}</div></td></tr>
{{range .Entries}}
<tr><td class="rule" style="padding:12px 24px;border-bottom:1px solid #e3e5e8">
<a class="link" href="{{.URL}}" style="font-size:17px;font-weight:600;line-height:1.35;color:#1f5fbf;text-decoration:none">{{.Title}}</a>
<div class="muted" style="font-size:13px;color:#5f6368;margin:3px 0 6px 0">{{.Source}}{{with .Time}} · {{.}}{{end}}</div>
{{with .Summary}}<div class="fg" style="font-size:15px;line-height:1.5;color:#1a1a1a">{{.}}</div>{{end}}
</td></tr>
{{end}}{{end}}
<tr><td class="muted" style="padding:18px 24px 22px 24px;font-size:13px;color:#5f6368">
You get this because you asked {{.Site}}{{with .Operator}}, run by {{.}},{{end}} for news on these topics.<br>
<a class="link" href="{{.Manage}}" style="color:#1f5fbf">Change topics, frequency or time</a> · <a class="link" href="{{.Unsubscribe}}" style="color:#1f5fbf">Unsubscribe</a>
</td></tr>
</table></td></tr></table>
</body></html>
`))
