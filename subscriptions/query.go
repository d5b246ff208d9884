package subscriptions

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/herald-news/herald/locale"
)

// Limits from SPEC: they keep one subscriber's query cheap to store and to
// check, whatever they type.
const (
	MaxQueryLen   = 256 // characters
	MaxQueryTerms = 16  // words, phrases, prefixes and sites
	MinPrefixLen  = 3   // letters before the * of a prefix
	maxDepth      = 8   // nested parentheses
)

// SyntaxError is a query that was refused: Pos is the 0-based character
// (not byte) offset in the query where the problem is, Msg says in English
// what was expected there (In says it in another language).
type SyntaxError struct {
	Pos int
	Msg string

	id   string // the message's id in locale's query catalogue, without "query."
	data []any  // its key-value pairs
}

func (e *SyntaxError) Error() string { return e.In(locale.Default) }

// In says what is wrong in a language of locale.Langs: "at character 5:
// expected …".
func (e *SyntaxError) In(lang string) string {
	p := locale.For(lang)
	if e.id == "" {
		return p.T("query.at", "Pos", e.Pos+1, "Msg", e.Msg)
	}
	return p.T("query.at", "Pos", e.Pos+1, "Msg", p.T("query."+e.id, e.data...))
}

// ErrorIn is err's message in a language: a SyntaxError's in that
// language, any other error's as it is.
func ErrorIn(err error, lang string) string {
	var se *SyntaxError
	if errors.As(err, &se) {
		return se.In(lang)
	}
	return err.Error()
}

func errAt(pos int, id string, kv ...any) error {
	return &SyntaxError{Pos: pos, Msg: locale.For(locale.Default).T("query."+id, kv...), id: id, data: kv}
}

// Query is a parsed, normalised topic query. It is immutable and safe for
// concurrent use.
type Query struct {
	root *node
}

type opKind uint8

const (
	opTerm opKind = iota
	opAnd
	opOr
	opNot
)

type termKind uint8

const (
	termWord   termKind = iota // a bare word: matches its inflections
	termPhrase                 // exact consecutive words (one word: that exact word)
	termPrefix                 // words starting with words[0]
	termSite                   // article host is words[0] or a subdomain of it
	termLang                   // article language (ISO 639-1) is words[0]
)

// node is one operator or term of a query's tree.
type node struct {
	op    opKind
	kids  []*node
	kind  termKind
	title bool     // the term must occur in the title
	words []string // folded words of the term; the host for termSite, the code for termLang
	stem  string   // Snowball stem, for termWord
	// stemID is vocab's number for stem (0: none), which finds its key
	// in an Index without hashing it.
	stemID uint32
	str    string // normalised text of this subtree
}

// Parse parses and normalises a topic query (SPEC, "Topic queries").
// Errors are *SyntaxError.
func Parse(q string) (*Query, error) {
	if n := utf8.RuneCountInString(q); n > MaxQueryLen {
		return nil, errAt(MaxQueryLen, "too_long", "Len", n, "Max", MaxQueryLen)
	}
	items, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{items: items}
	root, err := p.parseAnd(-1)
	if err != nil {
		return nil, err
	}
	return &Query{root: normalize(root)}, nil
}

// MustParse is Parse for queries written in code; it panics on an error.
func MustParse(q string) *Query {
	p, err := Parse(q)
	if err != nil {
		panic(fmt.Sprintf("subscriptions.MustParse(%q): %v", q, err))
	}
	return p
}

// String returns the normalised query: lower-case folded words, one space
// between terms, terms in a fixed order, duplicates and needless
// parentheses dropped. Queries that mean the same modulo these differences
// normalise identically, so the form serves to deduplicate them, and
// parsing it again gives it back unchanged.
func (q *Query) String() string { return q.root.str }

// Terms returns the positive words, phrases ("military cooperation") and
// prefixes ("drone*") of the query, the ones that can make it match; a
// summary highlights them to show why an article matched. Excluded terms
// site: and lang: are left out.
func (q *Query) Terms() []string {
	var out []string
	var walk func(n *node)
	walk = func(n *node) {
		switch n.op {
		case opNot:
			return
		case opAnd, opOr:
			for _, k := range n.kids {
				walk(k)
			}
			return
		}
		var t string
		switch n.kind {
		case termSite, termLang:
			return
		case termPrefix:
			t = n.words[0] + "*"
		default:
			t = strings.Join(n.words, " ")
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	walk(q.root)
	return out
}

// Match evaluates the query on its own against an article. It defines what
// a match is; Index gives the same answers faster for many queries.
func (q *Query) Match(d *Doc) bool { return q.root.eval(d) }

func (n *node) eval(d *Doc) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.eval(d) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.eval(d) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].eval(d)
	}
	switch n.kind {
	case termSite:
		return d.host != "" && onSite(d.host, n.words[0])
	case termLang:
		return d.lang == n.words[0]
	case termWord:
		s := d.sets()
		if n.title {
			return s.stemTitle[n.stem]
		}
		return s.stemAny[n.stem]
	case termPrefix:
		words := d.uniq
		if n.title {
			words = d.sets().words[:d.titleLen]
		}
		for _, w := range words {
			if strings.HasPrefix(w, n.words[0]) {
				return true
			}
		}
		return false
	}
	// A phrase: its words at consecutive positions, all in the title or
	// all in the text, never straddling the two.
	s := d.sets()
	for _, p := range s.positions[n.words[0]] {
		if phraseAt(s.words, d.titleLen, int(p), n.words, n.title) {
			return true
		}
	}
	return false
}

// phraseAt reports whether phrase occurs in words at position p.
func phraseAt(words []string, titleLen, p int, phrase []string, title bool) bool {
	end := p + len(phrase)
	if end > len(words) || (p < titleLen && end > titleLen) || (title && p >= titleLen) {
		return false
	}
	for k := 1; k < len(phrase); k++ {
		if words[p+k] != phrase[k] {
			return false
		}
	}
	return true
}

// ---- lexing ----

type itemKind uint8

const (
	itemEOF itemKind = iota
	itemWord
	itemPhrase
	itemLParen
	itemRParen
	itemOr
	itemAnd
	itemNot // "-" or NOT before a term or group
)

// item is one lexical unit; pos is its character offset.
type item struct {
	kind   itemKind
	pos    int
	text   string // word text or phrase contents
	field  string // "", "title", "site" or "lang"
	prefix bool   // the word ended in *
}

func isQuote(r rune) bool {
	switch r {
	case '"', '“', '”', '„', '‟', '«', '»', '″', '＂':
		return true
	}
	return false
}

// lex splits a query into items. It works on runes so that positions are
// character offsets, which is what a person counting along a query sees.
func lex(q string) ([]item, error) {
	rs := []rune(q)
	items := make([]item, 0, 8)
	i := 0
	// phrase reads a quoted phrase whose opening quote is at rs[i].
	phrase := func(field string, at int) error {
		open := i
		i++
		start := i
		for i < len(rs) && !isQuote(rs[i]) {
			i++
		}
		if i == len(rs) {
			return errAt(open, "open_quote")
		}
		items = append(items, item{kind: itemPhrase, pos: at, text: string(rs[start:i]), field: field})
		i++
		return nil
	}
	for i < len(rs) {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			items = append(items, item{kind: itemLParen, pos: i})
			i++
		case r == ')':
			items = append(items, item{kind: itemRParen, pos: i})
			i++
		case r == '|':
			items = append(items, item{kind: itemOr, pos: i})
			i++
		case isQuote(r):
			if err := phrase("", i); err != nil {
				return nil, err
			}
		case r == '-' || r == '−' || r == '–':
			if i+1 == len(rs) || unicode.IsSpace(rs[i+1]) || rs[i+1] == ')' || rs[i+1] == '|' {
				return nil, errAt(i, "after_minus")
			}
			items = append(items, item{kind: itemNot, pos: i})
			i++
		default:
			start := i
			for i < len(rs) && !unicode.IsSpace(rs[i]) && !strings.ContainsRune("()|", rs[i]) && !isQuote(rs[i]) {
				i++
			}
			word := string(rs[start:i])
			switch word {
			case "OR":
				items = append(items, item{kind: itemOr, pos: start})
				continue
			case "AND":
				items = append(items, item{kind: itemAnd, pos: start})
				continue
			case "NOT":
				items = append(items, item{kind: itemNot, pos: start})
				continue
			}
			it := item{kind: itemWord, pos: start, text: word}
			if f, rest, ok := strings.Cut(word, ":"); ok {
				switch f = strings.ToLower(f); f {
				case "lang":
					code, ok := langCode(rest)
					if !ok {
						return nil, errAt(start+len("lang:"), "lang_code")
					}
					items = append(items, item{kind: itemWord, pos: start, text: code, field: f})
					continue
				case "title", "site":
					it.field, it.text = f, rest
					if rest == "" {
						if i < len(rs) && isQuote(rs[i]) {
							if err := phrase(f, start); err != nil {
								return nil, err
							}
							continue
						}
						what := "field_word"
						if f == "site" {
							what = "field_host"
						}
						return nil, errAt(i, what, "Field", f)
					}
				}
			}
			if it.field != "site" {
				if k := strings.IndexRune(it.text, '*'); k >= 0 {
					if k != len(it.text)-1 {
						return nil, errAt(start+utf8.RuneCountInString(word[:len(word)-len(it.text)+k]), "star_inside")
					}
					it.text, it.prefix = it.text[:k], true
				}
				if !it.prefix && it.field == "" && !hasToken(it.text) {
					// Punctuation on its own ("Iran & Israel") says nothing.
					if len(items) > 0 && items[len(items)-1].kind == itemNot && items[len(items)-1].pos == start-1 {
						return nil, errAt(start, "minus_letters")
					}
					continue
				}
			}
			items = append(items, it)
		}
	}
	items = append(items, item{kind: itemEOF, pos: len(rs)})
	return items, nil
}

// ---- parsing ----
//
//	query  = group EOF
//	group  = clause { [AND] clause }
//	clause = ("-" | NOT) primary | primary { (OR | "|") primary }
//	primary = "(" group ")" | term

type parser struct {
	items []item
	i     int
	depth int
	terms int
	lang  bool // a lang: was read
}

func (p *parser) peek() item { return p.items[p.i] }
func (p *parser) next() item { it := p.items[p.i]; p.i++; return it }

// parseAnd parses a group; open is the position of its "(", or -1 for the
// whole query.
func (p *parser) parseAnd(open int) (*node, error) {
	n := &node{op: opAnd}
	start := p.peek().pos
	for {
		it := p.peek()
		switch it.kind {
		case itemEOF:
			if open >= 0 {
				return nil, errAt(it.pos, "close_paren", "Open", open+1)
			}
		case itemRParen:
			if open < 0 {
				return nil, errAt(it.pos, "stray_paren")
			}
		case itemOr:
			return nil, errAt(it.pos, "before_or")
		case itemAnd:
			if len(n.kids) == 0 {
				return nil, errAt(it.pos, "before_and")
			}
			p.next()
			if k := p.peek().kind; k == itemEOF || k == itemRParen || k == itemOr || k == itemAnd {
				return nil, errAt(p.peek().pos, "after_and")
			}
			continue
		}
		if it.kind == itemEOF || it.kind == itemRParen {
			break
		}
		c, err := p.parseClause()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, c)
	}
	end := p.next() // the EOF or ")"
	if len(n.kids) == 0 {
		if open >= 0 {
			return nil, errAt(end.pos, "empty_group")
		}
		return nil, errAt(end.pos, "word_or_phrase")
	}
	if !slices.ContainsFunc(n.kids, func(k *node) bool { return k.op != opNot && !(k.op == opTerm && k.kind == termLang) }) {
		if slices.ContainsFunc(n.kids, func(k *node) bool { return k.op == opTerm && k.kind == termLang }) {
			return nil, errAt(start, "lang_alone")
		}
		if open >= 0 {
			return nil, errAt(open, "group_all_excluded")
		}
		return nil, errAt(start, "all_excluded")
	}
	return n, nil
}

func (p *parser) parseClause() (*node, error) {
	if p.peek().kind == itemNot {
		p.next()
		k, err := p.parsePrimary("-")
		if err != nil {
			return nil, err
		}
		if it := p.peek(); it.kind == itemOr {
			return nil, errAt(it.pos, "or_after_exclusion")
		}
		return &node{op: opNot, kids: []*node{k}}, nil
	}
	first, err := p.parsePrimary("")
	if err != nil {
		return nil, err
	}
	if p.peek().kind != itemOr {
		return first, nil
	}
	if first.op == opTerm && first.kind == termLang {
		return nil, errAt(p.peek().pos, "or_after_lang")
	}
	n := &node{op: opOr, kids: []*node{first}}
	for p.peek().kind == itemOr {
		p.next()
		if it := p.peek(); it.kind == itemNot {
			return nil, errAt(it.pos, "exclusion_after_or")
		}
		k, err := p.parsePrimary("OR")
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
	return n, nil
}

// parsePrimary parses a term or a parenthesised group; after names what
// came before, for the error message.
func (p *parser) parsePrimary(after string) (*node, error) {
	it := p.next()
	switch it.kind {
	case itemLParen:
		if p.depth >= maxDepth {
			return nil, errAt(it.pos, "too_deep", "Max", maxDepth)
		}
		p.depth++
		n, err := p.parseAnd(it.pos)
		p.depth--
		return n, err
	case itemWord, itemPhrase:
		if it.field == "lang" {
			// One language for the whole query: inside a group, an
			// exclusion or an OR it would ask for articles in two
			// languages at once, or for all but one.
			switch {
			case after != "":
				return nil, errAt(it.pos, "lang_after", "After", after)
			case p.depth > 0:
				return nil, errAt(it.pos, "lang_in_group")
			case p.lang:
				return nil, errAt(it.pos, "two_langs")
			}
			p.lang = true
			return &node{op: opTerm, kind: termLang, words: []string{it.text}}, nil
		}
		p.terms++
		if p.terms > MaxQueryTerms {
			return nil, errAt(it.pos, "too_many_terms", "Max", MaxQueryTerms)
		}
		return termNode(it)
	}
	id := "term"
	if after != "" {
		id = "term_after"
	}
	if it.kind == itemEOF {
		id += "_end"
	}
	return nil, errAt(it.pos, id, "After", after)
}

func termNode(it item) (*node, error) {
	n := &node{op: opTerm, title: it.field == "title"}
	if it.field == "site" {
		h, ok := siteHost(it.text)
		if !ok {
			return nil, errAt(it.pos, "site_host")
		}
		n.kind, n.words = termSite, []string{h}
		return n, nil
	}
	var words []string
	if plainWord(it.text) {
		words = []string{strings.ToLower(it.text)} // what Tokens gives, faster
	} else {
		words = Tokens(it.text)
	}
	switch {
	case it.prefix:
		if len(words) != 1 {
			return nil, errAt(it.pos, "prefix_word")
		}
		if utf8.RuneCountInString(words[0]) < MinPrefixLen {
			return nil, errAt(it.pos, "prefix_short", "Min", MinPrefixLen)
		}
		n.kind = termPrefix
	case len(words) == 0 && it.kind == itemPhrase:
		return nil, errAt(it.pos, "empty_phrase")
	case len(words) == 0:
		return nil, errAt(it.pos, "letters")
	case len(words) == 1 && it.kind == itemWord:
		e := lookupWord(words[0])
		n.kind, n.stem, n.stemID = termWord, e.stem, e.stemID
	default:
		// A quoted phrase, or a word that splits into several
		// (Belarus-Ukraine, U.S.): both mean these words in a row.
		n.kind = termPhrase
	}
	n.words = words
	return n, nil
}

// langCode normalises the argument of lang:, a two-letter ISO 639-1 code.
func langCode(s string) (string, bool) {
	if len(s) != 2 {
		return "", false
	}
	s = strings.ToLower(s)
	for i := 0; i < 2; i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return "", false
		}
	}
	return s, true
}

// siteHost normalises the argument of site:, accepting a pasted URL.
func siteHost(s string) (string, bool) {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "", false
		}
		s = u.Hostname()
	} else {
		if k := strings.IndexAny(s, "/?#"); k >= 0 {
			s = s[:k]
		}
		if h, _, ok := strings.Cut(s, ":"); ok {
			s = h
		}
	}
	s = strings.Trim(normHost(s), ".")
	s = strings.TrimPrefix(s, "*.")
	if s == "" {
		return "", false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return "", false
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return "", false
			}
		}
	}
	return s, true
}

// ---- normalising ----

// normalize flattens nested ANDs and ORs, drops duplicates and one-child
// groups, puts terms in a fixed order and fills in str, bottom up.
func normalize(n *node) *node {
	switch n.op {
	case opTerm:
		n.str = termString(n)
		return n
	case opNot:
		k := normalize(n.kids[0])
		n.kids[0] = k
		if k.op == opTerm {
			n.str = "-" + k.str
		} else {
			n.str = "-(" + k.str + ")"
		}
		return n
	}
	var kids []*node
	for _, k := range n.kids {
		k = normalize(k)
		if k.op == n.op {
			kids = append(kids, k.kids...)
		} else {
			kids = append(kids, k)
		}
	}
	slices.SortFunc(kids, func(a, b *node) int {
		if an, bn := a.op == opNot, b.op == opNot; an != bn {
			if an {
				return 1
			}
			return -1
		}
		return strings.Compare(a.str, b.str)
	})
	kids = slices.CompactFunc(kids, func(a, b *node) bool { return a.str == b.str })
	if len(kids) == 1 {
		return kids[0]
	}
	n.kids = kids
	parts := make([]string, len(kids))
	for i, k := range kids {
		parts[i] = k.str
		if n.op == opOr && k.op == opAnd {
			parts[i] = "(" + k.str + ")"
		}
	}
	if n.op == opOr {
		n.str = strings.Join(parts, " OR ")
	} else {
		n.str = strings.Join(parts, " ")
	}
	return n
}

func termString(n *node) string {
	var s string
	switch n.kind {
	case termSite:
		return "site:" + n.words[0]
	case termLang:
		return "lang:" + n.words[0]
	case termWord:
		s = n.words[0]
	case termPrefix:
		s = n.words[0] + "*"
	case termPhrase:
		s = `"` + strings.Join(n.words, " ") + `"`
	}
	if n.title {
		return "title:" + s
	}
	return s
}
