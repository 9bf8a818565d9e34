package vclock

import (
	"encoding/binary"
	"strconv"
)

// MaxEntries is the largest number of entries a decoder accepts in one
// clock (65,536). Together with the rule that a declared count must fit in
// the bytes actually present, it bounds what a hostile header can make the
// decoder allocate: nothing before the entries are read, and at most 8
// bytes of memory per input byte after.
const MaxEntries = 1 << 16

// minEntryBytes is the smallest encoding of one clock entry: a one-byte
// actor gap and a one-byte counter.
const minEntryBytes = 2

// The binary form of a clock is
//
//	count   uvarint   number of entries
//	count × {
//	  gap     uvarint   first entry: actor; later: actor - previous actor - 1
//	  counter uvarint   counter - 1
//	}
//
// with every uvarint in its shortest form. Gaps make ascending, duplicate
// free actors the only thing that can be written, and counter-1 makes zero
// counters unrepresentable, so each clock has exactly one encoding. Sixteen
// actors with ids below 128 and counters up to 128 take 33 bytes.

// AppendBinary appends the canonical binary form of c to b and returns the
// extended slice. It never fails; the error is for [encoding.BinaryAppender].
// It does not allocate when b has room.
func (c Clock) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(c.entries)))
	for i, e := range c.entries {
		b = binary.AppendUvarint(b, actorGap(c.entries, i, entryActor))
		b = binary.AppendUvarint(b, e.Counter-1)
	}
	return b, nil
}

// MarshalBinary returns the canonical binary form of c.
func (c Clock) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, c.BinarySize()))
}

// BinarySize returns the length of c's binary form.
func (c Clock) BinarySize() int {
	n := uvarintLen(uint64(len(c.entries)))
	for i, e := range c.entries {
		n += uvarintLen(actorGap(c.entries, i, entryActor)) + uvarintLen(e.Counter-1)
	}
	return n
}

// UnmarshalBinary sets c to the clock encoded in data, which must be exactly
// one canonical binary clock. On error c is unchanged and the error is a
// [*DecodeError].
func (c *Clock) UnmarshalBinary(data []byte) error {
	d, n, err := DecodeClockInto(nil, data)
	if err != nil {
		return err
	}
	if n != len(data) {
		return malformed("clock", n, strconv.Itoa(len(data)-n)+" trailing bytes")
	}
	*c = d
	return nil
}

// DecodeClock decodes the canonical binary clock at the start of data and
// returns it with the number of bytes it used, so a clock can be embedded
// in a larger message. Input that is truncated, not canonical (overlong
// varints, an actor or counter out of range) or that declares more than
// MaxEntries entries returns a [*DecodeError] wrapping [ErrMalformed] or
// [ErrTooManyEntries].
func DecodeClock(data []byte) (Clock, int, error) {
	return DecodeClockInto(nil, data)
}

// DecodeClockInto is DecodeClock storing the entries in buf[:0]; it does
// not allocate when cap(buf) holds them. The returned Clock shares buf: do
// not write to buf while the result is in use.
func DecodeClockInto(buf []Entry, data []byte) (Clock, int, error) {
	const what = "clock"
	count, pos, err := readUvarint(what, data, 0)
	if err != nil {
		return Clock{}, 0, err
	}
	if count > MaxEntries {
		return Clock{}, 0, tooMany(what, 0, "declares "+strconv.FormatUint(count, 10)+" entries, limit "+strconv.Itoa(MaxEntries))
	}
	if count > uint64(len(data)-pos)/minEntryBytes {
		return Clock{}, 0, malformed(what, pos, "declares "+strconv.FormatUint(count, 10)+" entries but only "+strconv.Itoa(len(data)-pos)+" bytes follow")
	}
	if count == 0 {
		return Clock{}, pos, nil
	}
	entries := buf[:0]
	if cap(entries) < int(count) {
		entries = make([]Entry, 0, count)
	}
	var prev Actor
	for i := range int(count) {
		start := pos
		var gap, counter uint64
		if gap, pos, err = readUvarint(what, data, pos); err != nil {
			return Clock{}, 0, err
		}
		if counter, pos, err = readUvarint(what, data, pos); err != nil {
			return Clock{}, 0, err
		}
		actor, ok := actorAfter(i, prev, gap)
		if !ok {
			return Clock{}, 0, malformed(what, start, "actor beyond the largest actor id")
		}
		if counter == MaxCounter {
			return Clock{}, 0, malformed(what, start, "counter beyond MaxCounter")
		}
		entries = append(entries, Entry{Actor: actor, Counter: counter + 1})
		prev = actor
	}
	return Clock{entries: entries[:len(entries):len(entries)]}, pos, nil
}

func entryActor(e Entry) Actor { return e.Actor }

// actorGap returns what the binary forms store for the actor of entry i:
// the actor itself for the first entry, else its distance from the
// previous actor minus one, so ascending ids cost little and a duplicate
// or out-of-order actor cannot be written.
func actorGap[E any](entries []E, i int, actor func(E) Actor) uint64 {
	if i == 0 {
		return uint64(actor(entries[0]))
	}
	return uint64(actor(entries[i]) - actor(entries[i-1]) - 1)
}

// actorAfter inverts actorGap for entry i given the previous actor. It
// reports false if the actor would pass MaxActor.
func actorAfter(i int, prev Actor, gap uint64) (Actor, bool) {
	if i == 0 {
		return Actor(gap), true
	}
	a := prev + 1 + Actor(gap)
	return a, a > prev // a wrapped sum is not above prev
}

// readUvarint reads one shortest-form uvarint at data[pos:].
func readUvarint(what string, data []byte, pos int) (uint64, int, error) {
	v, n := binary.Uvarint(data[pos:])
	switch {
	case n == 0:
		return 0, 0, malformed(what, pos, "truncated varint")
	case n < 0:
		return 0, 0, malformed(what, pos, "varint overflows 64 bits")
	case n > 1 && data[pos+n-1] == 0:
		return 0, 0, malformed(what, pos, "overlong varint")
	}
	return v, pos + n, nil
}

// uvarintLen returns the length of v's shortest uvarint form.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
