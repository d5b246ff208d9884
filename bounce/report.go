package bounce

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
)

// Kind is what a report says happened to a message.
type Kind string

// The kinds of report. A DSN's Action field gives the first four
// (RFC 3464 §2.3.3; "expanded" reads as delivered); an ARF report is a
// complaint.
const (
	Failed    Kind = "failed"
	Delayed   Kind = "delayed"
	Delivered Kind = "delivered"
	Relayed   Kind = "relayed"
	Complaint Kind = "complaint"
)

// Report is one DSN or complaint, reduced to what decides the reader's
// fate.
type Report struct {
	Kind Kind
	// Status is the DSN's enhanced status code ("5.1.1"); empty for a
	// complaint.
	Status string
	// Recipient is the address the report is about (Final-Recipient or
	// Original-Rcpt-To), for logs only: the bounce address names the
	// reader.
	Recipient string
	// Detail is the Diagnostic-Code of a DSN or the Feedback-Type of a
	// complaint.
	Detail string
}

// Permanent reports whether a failure is a hard bounce: a 5.x.x status.
// A failure with a 4.x.x status is an MTA giving up after temporary errors
// (a soft bounce): the address may well be fine.
func (r *Report) Permanent() bool { return r.Kind == Failed && strings.HasPrefix(r.Status, "5.") }

// ErrNotReport means a message is not a DSN or a complaint report.
var ErrNotReport = errors.New("not a delivery status notification or feedback report")

// Parse reads a message and returns the report it carries: a
// multipart/report of report-type delivery-status (its
// message/delivery-status or message/global-delivery-status part) or
// feedback-report (its message/feedback-report part). Only the parts up to
// the report are read; the returned original message after it is not.
func Parse(r io.Reader) (*Report, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotReport, err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["boundary"] == "" {
		return nil, fmt.Errorf("%w: content type %q", ErrNotReport, msg.Header.Get("Content-Type"))
	}
	var want []string
	switch strings.ToLower(params["report-type"]) {
	case "delivery-status":
		want = []string{"message/delivery-status", "message/global-delivery-status"}
	case "feedback-report":
		want = []string{"message/feedback-report"}
	default:
		return nil, fmt.Errorf("%w: report-type %q", ErrNotReport, params["report-type"])
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("%w: no %s part: %w", ErrNotReport, want[0], err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		found := false
		for _, w := range want {
			found = found || pt == w
		}
		if !found {
			continue
		}
		// multipart undoes quoted-printable itself; base64 is left to us.
		var body io.Reader = p
		if strings.EqualFold(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		blocks, err := fieldBlocks(body)
		if err != nil {
			return nil, fmt.Errorf("%w: %s part: %w", ErrNotReport, pt, err)
		}
		if pt == "message/feedback-report" {
			return complaint(blocks)
		}
		return status(blocks)
	}
}

// fieldBlocks reads header-like field blocks separated by blank lines: a
// DSN's per-message block and one per recipient, or ARF's one block.
func fieldBlocks(r io.Reader) ([]textproto.MIMEHeader, error) {
	tp := textproto.NewReader(bufio.NewReader(io.LimitReader(r, 64<<10)))
	var out []textproto.MIMEHeader
	for len(out) < 100 {
		h, err := tp.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// severity orders a DSN's recipient actions: a report about several
// recipients is taken by its worst.
var severity = map[Kind]int{Relayed: 1, Delivered: 2, Delayed: 3, Failed: 4}

func status(blocks []textproto.MIMEHeader) (*Report, error) {
	var best *Report
	for _, h := range blocks {
		action := Kind(strings.ToLower(strings.TrimSpace(h.Get("Action"))))
		if action == "expanded" {
			action = Delivered
		}
		if severity[action] == 0 {
			continue // the per-message block, or an action we do not know
		}
		st, _, _ := strings.Cut(strings.TrimSpace(h.Get("Status")), " ")
		rep := &Report{Kind: action, Status: st, Recipient: address(h.Get("Final-Recipient")),
			Detail: oneLine(h.Get("Diagnostic-Code"))}
		if rep.Recipient == "" {
			rep.Recipient = address(h.Get("Original-Recipient"))
		}
		if best == nil || severity[action] > severity[best.Kind] {
			best = rep
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no recipient with an Action", ErrNotReport)
	}
	if best.Kind == Failed && !validStatus(best.Status) {
		return nil, fmt.Errorf("%w: failure with status %q", ErrNotReport, best.Status)
	}
	return best, nil
}

func complaint(blocks []textproto.MIMEHeader) (*Report, error) {
	if len(blocks) == 0 || blocks[0].Get("Feedback-Type") == "" {
		return nil, fmt.Errorf("%w: feedback report without Feedback-Type", ErrNotReport)
	}
	h := blocks[0]
	ft := strings.ToLower(strings.TrimSpace(h.Get("Feedback-Type")))
	if ft == "not-spam" {
		// RFC 6650's "this is not spam" is the opposite of a complaint.
		return nil, fmt.Errorf("%w: feedback type not-spam", ErrNotReport)
	}
	return &Report{Kind: Complaint, Recipient: strings.Trim(strings.TrimSpace(h.Get("Original-Rcpt-To")), "<>"), Detail: ft}, nil
}

// validStatus accepts "class.subject.detail" with class 2, 4 or 5.
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// address takes "rfc822; someone@example.org" apart.
func address(v string) string {
	_, a, ok := strings.Cut(v, ";")
	if !ok {
		a = v
	}
	return strings.Trim(strings.TrimSpace(a), "<>")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
