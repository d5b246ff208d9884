package subscriptions

import (
	"slices"
	"strings"
)

// Instructions of compiled queries: an opcode in the top 4 bits and an
// argument (a key id or a count) in the rest, run on a stack of booleans.
const (
	opShift  = 28
	argMask  = 1<<opShift - 1
	insAny   = 1 << opShift // key present anywhere
	insTitle = 2 << opShift // key present in the title
	insPhr   = 3 << opShift // phrase of arg words anywhere; the word ids follow
	insPhrT  = 4 << opShift // phrase of arg words in the title
	insAnd   = 5 << opShift // pop arg values, push their AND
	insOr    = 6 << opShift // pop arg values, push their OR
	insNot   = 7 << opShift // negate the top value
)

// keyKind says what an interned key is; each kind has its own dictionary.
type keyKind uint8

const (
	keyStem   keyKind = iota // stem of a bare word
	keyWord                  // exact folded word, for phrases
	keyPrefix                // prefix of a word
	keyHost                  // host or parent domain, for site:
	keyLang                  // article language, for lang:
	numKeyKinds
)

// filing returns the posting keys of a query and the check of the posting
// under each (see posting).
func (ix *Index) filing(root *node) (keys, checks []uint32) {
	keys, _ = ix.selectors(root, ix.buf.keys[:0])
	slices.Sort(keys)
	keys = slices.Compact(keys)
	ix.buf.keys = keys
	checks = slices.Grow(ix.buf.checks[:0], len(keys))[:len(keys)]
	ix.buf.checks = checks
	orOfTwo := root.op == opOr && len(keys) == 2 &&
		!slices.ContainsFunc(root.kids, func(k *node) bool { return !simpleTerm(k) })
	if orOfTwo {
		// "a OR b": a match under a; under b, a match unless a occurs too,
		// which the posting under a reports. No per-article marks needed.
		checks[0], checks[1] = checkExact, keys[0]|checkDecides|checkAbsent
		return keys, checks
	}
	check := ix.filingCheck(root, keys)
	switch {
	case check == checkEval && len(keys) == 1:
		check = checkEvalOne
	case check < checkEvalOne && check&checkDecides == 0 && len(keys) > 1:
		check |= checkShared
	}
	for i := range checks {
		checks[i] = check
	}
	return keys, checks
}

// filingCheck returns the check shared by all the postings of a query
// filed under keys.
func (ix *Index) filingCheck(root *node, keys []uint32) (check uint32) {
	switch root.op {
	case opTerm:
		if simpleTerm(root) {
			return checkExact
		}
		// A phrase, filed under its rarest word: check a second word,
		// and for two words their order, which then decides.
		check := ix.secondWord(root, keys[0])
		if check != checkEval && len(root.words) == 2 {
			if check>>1 == ix.dict[keyWord][root.words[0]] {
				return check | checkDecides | checkPhraseRev
			}
			return check | checkDecides | checkPhrase
		}
		return check
	case opOr:
		if !slices.ContainsFunc(root.kids, func(k *node) bool { return !simpleTerm(k) }) {
			if len(keys) == 1 { // "drone OR drones": one stem
				return checkExact
			}
			return checkOnce
		}
		return checkEval
	}
	// An AND: check its rarest single-key conjunct beside the one filed
	// under. If those two are all there is, that check decides.
	check, best := uint32(checkEval), 2.0
	var pick *node
	for _, k := range root.kids {
		if k.op != opTerm {
			continue
		}
		ks, c := ix.selectors(k, nil)
		if len(ks) == 1 && !slices.Contains(keys, ks[0]) && c < best {
			check, best, pick = ks[0], c, k
		}
	}
	if len(root.kids) == 2 && len(keys) == 1 {
		other := root.kids[0]
		if slices.Contains(ix.keysOf(other), keys[0]) {
			other = root.kids[1]
		}
		switch {
		case other == pick && simpleTerm(other) && simpleTerm(root.kids[0]) && simpleTerm(root.kids[1]):
			return check | checkDecides
		case other.op == opNot && other.kids[0].op == opTerm && simpleTerm(other.kids[0]) && root.kids[0].op == opTerm && simpleTerm(root.kids[0]):
			ks, _ := ix.selectors(other.kids[0], nil)
			return ks[0] | checkDecides | checkAbsent
		}
	}
	return check
}

// keysOf returns the posting keys of one node.
func (ix *Index) keysOf(n *node) []uint32 {
	if n.op == opNot {
		return nil
	}
	ks, _ := ix.selectors(n, nil)
	return ks
}

// simpleTerm reports a term whose presence is one key: a word, a prefix,
// a site or a one-word phrase.
func simpleTerm(n *node) bool {
	return n.op == opTerm && (n.kind != termPhrase || len(n.words) == 1)
}

// secondWord returns the posting key of a phrase word other than the one
// filed under, the rarest such, or checkEval if there is none.
func (ix *Index) secondWord(n *node, filed uint32) uint32 {
	field := uint32(0)
	if n.title {
		field = 1
	}
	check, best := uint32(checkEval), 2.0
	for _, w := range n.words {
		id := ix.dict[keyWord][w]
		if k, c := id*2+field, ix.shares[id]; k != filed && c < best {
			check, best = k, c
		}
	}
	return check
}

// key interns a key and returns its id.
func (ix *Index) key(kind keyKind, s string) uint32 {
	if id, ok := ix.dict[kind][s]; ok {
		return id
	}
	id := ix.nkeys
	ix.nkeys++
	ix.dict[kind][strings.Clone(s)] = id
	ix.lists = append(ix.lists, nil, nil)
	share := 0.0
	switch kind {
	case keyStem:
		share = ix.freq.share(s)
	case keyWord:
		share = ix.freq.share(stem(s))
	}
	ix.shares = append(ix.shares, share)
	switch kind {
	case keyWord:
		ix.byWord = setNumbered(ix.byWord, lookupWord(s).word, id)
	case keyStem:
		ix.byStem = setNumbered(ix.byStem, stemNumber(s), id)
	}
	if kind == keyPrefix {
		if i, found := slices.BinarySearch(ix.prefixLens, len(s)); !found {
			ix.prefixLens = slices.Insert(ix.prefixLens, i, len(s))
		}
	}
	return id
}

// stemKey returns the key of a word term's stem, interned if new. The
// vocabulary's number for the stem finds it in byStem without hashing the
// stem: at millions of queries the dictionary's look-ups were a sixth of
// loading them.
func (ix *Index) stemKey(n *node) uint32 {
	if k := n.stemID; k != 0 && int(k) < len(ix.byStem) && ix.byStem[k] != 0 {
		return ix.byStem[k] - 1
	}
	return ix.key(keyStem, n.stem)
}

// setNumbered records key id under vocab number n, if it has one.
func setNumbered(tab []uint32, n, id uint32) []uint32 {
	if n == 0 {
		return tab
	}
	if int(n) >= len(tab) {
		tab = append(tab, make([]uint32, int(n)+1-len(tab))...)
	}
	tab[n] = id + 1
	return tab
}

// numbered returns the key id that tab holds for vocab number n, or
// looks the string up in dict when n is 0 (vocab was full).
func numbered(tab []uint32, n uint32, dict map[string]uint32, s string) (uint32, bool) {
	if n != 0 {
		if int(n) < len(tab) && tab[n] != 0 {
			return tab[n] - 1, true
		}
		return 0, false
	}
	id, ok := dict[s]
	return id, ok
}

// compile appends the postfix code of n to code.
func (ix *Index) compile(n *node, code []uint32) []uint32 {
	switch n.op {
	case opAnd, opOr:
		for _, k := range n.kids {
			code = ix.compile(k, code)
		}
		op := uint32(insAnd)
		if n.op == opOr {
			op = insOr
		}
		return append(code, op|uint32(len(n.kids)))
	case opNot:
		return append(ix.compile(n.kids[0], code), insNot)
	}
	field := uint32(insAny)
	if n.title {
		field = insTitle
	}
	switch n.kind {
	case termWord:
		return append(code, field|ix.stemKey(n))
	case termPrefix:
		return append(code, field|ix.key(keyPrefix, n.words[0]))
	case termSite:
		return append(code, insAny|ix.key(keyHost, n.words[0]))
	case termLang:
		return append(code, insAny|ix.key(keyLang, n.words[0]))
	}
	op := uint32(insPhr)
	if n.title {
		op = insPhrT
	}
	code = append(code, op|uint32(len(n.words)))
	for _, w := range n.words {
		code = append(code, ix.key(keyWord, w))
	}
	return code
}

// selectors returns the posting keys under which n must be filed so that
// any article it matches finds it, with an estimate of how often they
// occur. Keys were interned by compile.
func (ix *Index) selectors(n *node, keys []uint32) ([]uint32, float64) {
	switch n.op {
	case opAnd:
		// Every positive conjunct must occur: the rarest one suffices.
		var best []uint32
		bestCost := 2.0
		for _, k := range n.kids {
			if k.op == opNot {
				continue
			}
			ks, c := ix.selectors(k, nil)
			if best == nil || c < bestCost {
				best, bestCost = ks, c
			}
		}
		return append(keys, best...), bestCost
	case opOr:
		total := 0.0
		for _, k := range n.kids {
			var c float64
			keys, c = ix.selectors(k, keys)
			total += c
		}
		return keys, total
	}
	field := uint32(0)
	scale := 1.0
	if n.title {
		field, scale = 1, 0.1 // titles are short: far fewer articles have the word there
	}
	switch n.kind {
	case termWord:
		id := ix.stemKey(n)
		return append(keys, id*2+field), scale * ix.shares[id]
	case termPrefix:
		return append(keys, ix.dict[keyPrefix][n.words[0]]*2+field), scale * 0.5 / float64(len(n.words[0]))
	case termSite:
		return append(keys, ix.dict[keyHost][n.words[0]]*2), 0.05
	case termLang:
		// Most articles are in a few languages: file a query under its
		// words, and let the language be the check beside them.
		return append(keys, ix.dict[keyLang][n.words[0]]*2), 0.5
	}
	// A phrase: file it under its rarest word.
	bw, bc := uint32(0), 2.0
	for _, w := range n.words {
		id := ix.dict[keyWord][w]
		if c := ix.shares[id]; c < bc {
			bw, bc = id, c
		}
	}
	return append(keys, bw*2+field), scale * bc * 0.5
}
