package bounce_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/herald-news/herald/bounce"
)

// dsn builds a multipart/report with the given status part (its content
// type, extra part headers and body).
func dsn(reportType, partType, partHeaders, body string) string {
	return strings.ReplaceAll(`From: MAILER-DAEMON@relay.example.net (Mail Delivery System)
To: b+token@bounces.example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=`+reportType+`;
	boundary="B0UNDARY"

This is a MIME-encapsulated message.

--B0UNDARY
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UNDARY
Content-Type: `+partType+`
`+partHeaders+`
`+body+`
--B0UNDARY
Content-Type: text/rfc822-headers

From: Herald <news@herald.test>
To: gone@example.org
Subject: Herald: 1 new article

--B0UNDARY--
`, "\n", "\r\n")
}

const failedBlocks = `Reporting-MTA: dns; relay.example.net
X-Postfix-Queue-ID: 4ABCD1234
Arrival-Date: Tue,  1 Dec 2026 08:00:00 +0000 (UTC)

Final-Recipient: rfc822; gone@example.org
Original-Recipient: rfc822;gone@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table
`

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		msg     string
		kind    bounce.Kind
		status  string
		rcpt    string
		perm    bool
		wantErr bool
	}{
		{name: "postfix hard bounce", msg: dsn("delivery-status", "message/delivery-status", "", failedBlocks),
			kind: bounce.Failed, status: "5.1.1", rcpt: "gone@example.org", perm: true},
		{name: "given up after temporary failures", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; slow@example.org\nAction: failed\nStatus: 4.4.1\nDiagnostic-Code: X-Postfix; connect to mx.example.org timed out\n"),
			kind: bounce.Failed, status: "4.4.1", rcpt: "slow@example.org"},
		{name: "delayed", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.2.0 (greylisted)\n"),
			kind: bounce.Delayed, status: "4.2.0", rcpt: "slow@example.org"},
		{name: "delivered", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; ok@example.org\nAction: delivered\nStatus: 2.0.0\n"),
			kind: bounce.Delivered, status: "2.0.0", rcpt: "ok@example.org"},
		{name: "expanded reads as delivered", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; list@example.org\nAction: Expanded\nStatus: 2.0.0\n"),
			kind: bounce.Delivered, status: "2.0.0", rcpt: "list@example.org"},
		{name: "worst recipient wins", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; a@example.org\nAction: delivered\nStatus: 2.0.0\n\nFinal-Recipient: rfc822; b@example.org\nAction: failed\nStatus: 5.2.1\n"),
			kind: bounce.Failed, status: "5.2.1", rcpt: "b@example.org", perm: true},
		{name: "report type and media type in capitals", msg: dsn("Delivery-Status", "Message/Delivery-Status", "", failedBlocks),
			kind: bounce.Failed, status: "5.1.1", rcpt: "gone@example.org", perm: true},
		{name: "SMTPUTF8 report", msg: dsn("delivery-status", "message/global-delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: utf-8; jürgen@example.de\nAction: failed\nStatus: 5.1.1\n"),
			kind: bounce.Failed, status: "5.1.1", rcpt: "jürgen@example.de", perm: true},
		{name: "base64 status part", msg: dsn("delivery-status", "message/delivery-status", "Content-Transfer-Encoding: base64\n",
			"UmVwb3J0aW5nLU1UQTogZG5zOyByZWxheQoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGdvbmVA\nZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjEuMQo=\n"),
			kind: bounce.Failed, status: "5.1.1", rcpt: "gone@example.org", perm: true},
		{name: "complaint", msg: dsn("feedback-report", "message/feedback-report", "",
			"Feedback-Type: abuse\nUser-Agent: SomeISP-FBL/1.0\nVersion: 1\nOriginal-Mail-From: <b+token@bounces.example.org>\nOriginal-Rcpt-To: <reader@example.org>\n"),
			kind: bounce.Complaint, rcpt: "reader@example.org"},
		{name: "not-spam is no complaint", msg: dsn("feedback-report", "message/feedback-report", "", "Feedback-Type: not-spam\nVersion: 1\n"), wantErr: true},
		{name: "feedback report without a type", msg: dsn("feedback-report", "message/feedback-report", "", "Version: 1\n"), wantErr: true},
		{name: "failure without a status", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\n"), wantErr: true},
		{name: "failure with a nonsense status", msg: dsn("delivery-status", "message/delivery-status", "",
			"Reporting-MTA: dns; relay\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 9.x.1\n"), wantErr: true},
		{name: "no action", msg: dsn("delivery-status", "message/delivery-status", "", "Reporting-MTA: dns; relay\n"), wantErr: true},
		{name: "other report type", msg: dsn("disposition-notification", "message/disposition-notification", "", "Disposition: manual-action/MDN-sent-manually; displayed\n"), wantErr: true},
		{name: "report type and part disagree", msg: dsn("feedback-report", "message/delivery-status", "", failedBlocks), wantErr: true},
		{name: "plain text bounce", msg: "From: MAILER-DAEMON@example.net\r\nSubject: failure notice\r\n\r\nSorry, I couldn't deliver your message.\r\n", wantErr: true},
		{name: "multipart without boundary", msg: "Content-Type: multipart/report; report-type=delivery-status\r\n\r\nbody\r\n", wantErr: true},
		{name: "truncated before the status part", msg: dsn("delivery-status", "message/delivery-status", "", failedBlocks)[:400], wantErr: true},
		{name: "not a message at all", msg: "\x00\x01\x02garbage", wantErr: true},
		{name: "empty", msg: "", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := bounce.Parse(strings.NewReader(c.msg))
			if c.wantErr {
				if err == nil || !errors.Is(err, bounce.ErrNotReport) {
					t.Fatalf("Parse = %+v, %v; want ErrNotReport", rep, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Kind != c.kind || rep.Status != c.status || rep.Recipient != c.rcpt || rep.Permanent() != c.perm {
				t.Fatalf("Parse = %+v (permanent %v); want kind %s status %q recipient %q permanent %v",
					rep, rep.Permanent(), c.kind, c.status, c.rcpt, c.perm)
			}
		})
	}
}

func TestParseDiagnosticIsOneLine(t *testing.T) {
	rep, err := bounce.Parse(strings.NewReader(dsn("delivery-status", "message/delivery-status", "", failedBlocks)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown in virtual mailbox table"; rep.Detail != want {
		t.Fatalf("Detail = %q, want %q", rep.Detail, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(dsn("delivery-status", "message/delivery-status", "", failedBlocks))
	f.Add(dsn("feedback-report", "message/feedback-report", "", "Feedback-Type: abuse\nVersion: 1\n"))
	f.Add(dsn("delivery-status", "message/delivery-status", "Content-Transfer-Encoding: base64\n", "QWN0aW9uOiBmYWlsZWQK"))
	f.Fuzz(func(t *testing.T, msg string) {
		rep, err := bounce.Parse(strings.NewReader(msg))
		if err == nil && (rep == nil || rep.Kind == "") {
			t.Fatalf("Parse returned %+v without an error", rep)
		}
		if err != nil && !errors.Is(err, bounce.ErrNotReport) {
			t.Fatalf("Parse error %v is not ErrNotReport", err)
		}
	})
}
