package vclock

import (
	"bytes"
	"strconv"
)

// The text form of a clock is "{" then the entries as actor:counter in
// ascending actor order separated by "," then "}": "{}", "{1:3,7:1}".
// Numbers are decimal without signs or leading zeros and counters are never
// zero, so the text form is canonical too. It is also the JSON form: a
// Clock marshals to a JSON string, which keeps 64-bit counters exact in
// JSON readers that hold numbers as float64.

// AppendText appends the text form of c to b. It never fails; the error is
// for [encoding.TextAppender]. It does not allocate when b has room.
func (c Clock) AppendText(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, e := range c.entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(e.Actor), 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, e.Counter, 10)
	}
	return append(b, '}'), nil
}

// MarshalText returns the text form of c.
func (c Clock) MarshalText() ([]byte, error) { return c.AppendText(nil) }

// UnmarshalText sets c to the clock in the canonical text form data. It
// rejects anything else (spaces, unsorted or duplicate actors, zero
// counters, leading zeros, more than MaxEntries entries) with a
// [*DecodeError]; on error c is unchanged.
func (c *Clock) UnmarshalText(data []byte) error {
	const what = "clock text"
	if len(data) < 2 || data[0] != '{' || data[len(data)-1] != '}' {
		return malformed(what, 0, "not enclosed in braces")
	}
	body := data[1 : len(data)-1]
	if len(body) == 0 {
		*c = Clock{}
		return nil
	}
	// Each entry holds exactly one ':', so this bounds the allocation by
	// the input length before anything is parsed.
	count := bytes.Count(body, []byte{':'})
	if count > MaxEntries {
		return tooMany(what, 0, "more than "+strconv.Itoa(MaxEntries)+" entries")
	}
	entries := make([]Entry, 0, count)
	pos := 1
	for {
		end := bytes.IndexByte(body, ',')
		field := body
		if end >= 0 {
			field = body[:end]
		}
		colon := bytes.IndexByte(field, ':')
		if colon < 0 {
			return malformed(what, pos, "entry without ':'")
		}
		actor, ok := parseCanonicalUint(field[:colon])
		if !ok {
			return malformed(what, pos, "actor is not a canonical decimal")
		}
		counter, ok := parseCanonicalUint(field[colon+1:])
		if !ok || counter == 0 {
			return malformed(what, pos+colon+1, "counter is not a canonical non-zero decimal")
		}
		if n := len(entries); n > 0 && Actor(actor) <= entries[n-1].Actor {
			return malformed(what, pos, "actors not in strictly ascending order")
		}
		entries = append(entries, Entry{Actor: Actor(actor), Counter: counter})
		if end < 0 {
			break
		}
		body = body[end+1:]
		pos += end + 1
	}
	*c = Clock{entries: entries}
	return nil
}

// parseCanonicalUint parses a decimal uint64 with no sign and no leading
// zero.
func parseCanonicalUint(s []byte) (uint64, bool) {
	if len(s) == 0 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	var v uint64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (MaxCounter-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
