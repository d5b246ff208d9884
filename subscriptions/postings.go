package subscriptions

// posting is one entry filed under a key. check says what else decides
// the match when the key occurs, so that most candidates are settled from
// the posting alone, without touching the entry:
//
//   - checkExact: the key is the whole query: a match.
//   - checkOnce: a match, unless already reached through another key
//     (an OR of three or more plain terms).
//   - checkEval: evaluate the query, once if it is filed under several
//     keys (checkEvalOne: filed under this key alone).
//   - otherwise a second posting key (key*2+field) that the query needs:
//     if it is absent, no match; if present, then with checkDecides the
//     match is certain (two-term ANDs), with checkPhrase or
//     checkPhraseRev the two words must also be next to each other (a
//     two-word phrase: this posting's word first, or the second key's
//     word first), and otherwise the query is evaluated (once if
//     checkShared). With checkAbsent the second key must be absent
//     instead ("a -b", and the second posting of "a OR b", which leaves
//     the article to the first when both occur).
type posting struct {
	entry, check uint32
}

// postingList is the entries filed under one posting key, apart by how
// their match is settled so that Match runs a tight loop over each part:
//
//   - exact: checkExact, matches whenever the key occurs: only reports.
//   - cond: a second key decides (checkDecides, maybe checkAbsent, no
//     phrase): the checks alone, with condReps beside them.
//   - other: everything else, postings with otherReps beside them.
//
// Checks and reports are apart so that the candidates that do not match,
// which are many, cost 4 or 8 bytes of memory to read, not 48.
type postingList struct {
	exact     []report
	cond      []uint32
	condReps  []report
	other     []posting
	otherReps []report
}

// Parts of a postingList; an entry's place in a list is part<<placeShift
// | index.
const (
	partExact  = 0
	partCond   = 1
	partOther  = 2
	placeShift = 30
	placeMask  = 1<<placeShift - 1
)

// partOf returns the part of a postingList that a posting with check c
// goes in.
func partOf(c uint32) uint32 {
	switch {
	case c == checkExact:
		return partExact
	case c < checkEvalOne && c&checkDecides != 0 && c&(checkPhrase|checkPhraseRev) == 0:
		return partCond
	}
	return partOther
}

// add appends a posting and returns its place.
func (l *postingList) add(p posting, r report) uint32 {
	switch part := partOf(p.check); part {
	case partExact:
		l.exact = append(l.exact, r)
		return uint32(len(l.exact) - 1)
	case partCond:
		l.cond = append(l.cond, p.check)
		l.condReps = append(l.condReps, r)
		return partCond<<placeShift | uint32(len(l.cond)-1)
	}
	l.other = append(l.other, p)
	l.otherReps = append(l.otherReps, r)
	return partOther<<placeShift | uint32(len(l.other)-1)
}

func (l *postingList) empty() bool {
	return len(l.exact) == 0 && len(l.cond) == 0 && len(l.other) == 0
}

// report returns the report at a place.
func (l *postingList) report(at uint32) *report {
	i := at & placeMask
	switch at >> placeShift {
	case partExact:
		return &l.exact[i]
	case partCond:
		return &l.condReps[i]
	}
	return &l.otherReps[i]
}

// remove drops the posting at a place by moving the last of its part
// there; it returns the report of the moved posting and the place it
// moved from, or nil if none moved.
func (l *postingList) remove(at uint32) (*report, uint32) {
	i := int(at & placeMask)
	var reps []report
	switch at >> placeShift {
	case partExact:
		reps = l.exact
		l.exact = l.exact[:len(l.exact)-1]
	case partCond:
		reps = l.condReps
		last := len(l.cond) - 1
		l.cond[i] = l.cond[last]
		l.cond, l.condReps = l.cond[:last], l.condReps[:last]
	default:
		reps = l.otherReps
		last := len(l.other) - 1
		l.other[i] = l.other[last]
		l.other, l.otherReps = l.other[:last], l.otherReps[:last]
	}
	last := len(reps) - 1
	reps[i] = reps[last]
	reps[last] = report{}
	if i == last {
		return nil, 0
	}
	return &reps[i], at&^placeMask | uint32(last)
}

// report is what a posting hands to MatchQueries' callback: the entry's
// query and ids, in one string that all the reports of the entry share.
type report struct {
	ids IDs
}

const (
	checkExact     = ^uint32(0)
	checkOnce      = ^uint32(0) - 1
	checkEval      = ^uint32(0) - 2
	checkEvalOne   = ^uint32(0) - 3
	checkDecides   = 1 << 31
	checkAbsent    = 1 << absentShift
	absentShift    = 30
	checkShared    = 1 << 29
	checkPhrase    = 1 << 28
	checkPhraseRev = 1 << 27
	checkKeyMask   = checkPhraseRev - 1
)

// trim gives back the room left at the end of the list's parts.
func (l *postingList) trim() {
	l.exact = trimmed(l.exact)
	l.cond, l.condReps = trimmed(l.cond), trimmed(l.condReps)
	l.other, l.otherReps = trimmed(l.other), trimmed(l.otherReps)
}

// trimmed returns s in an array of its length, when that saves more than
// an eighth of it.
func trimmed[T any](s []T) []T {
	if cap(s)-len(s) <= cap(s)/8 {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}
