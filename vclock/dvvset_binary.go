package vclock

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// errShrunk reports a value encoder that returned fewer bytes than it was
// given: it must only append.
var errShrunk = errors.New("vclock: value encoder removed bytes it was given")

// MaxSiblings is the largest number of values a decoder accepts in one
// DVVSet (65,536). A register with that many siblings has a client that
// writes without reading; rejecting it bounds the damage.
const MaxSiblings = 1 << 16

// The binary form of a DVVSet is
//
//	count   uvarint   number of actors
//	count × {
//	  gap     uvarint   first: actor; later: actor - previous actor - 1
//	  counter uvarint   counter - 1
//	  n       uvarint   number of values, at most counter
//	  n × {
//	    size  uvarint   length of the value's bytes
//	    bytes           the value as appendValue wrote it
//	  }
//	}
//
// with every uvarint in its shortest form, values oldest dot first. As for
// clocks, the structure has exactly one encoding; whether each value's bytes
// are canonical is up to the value codec.

// AppendBinary appends the binary form of s to b, encoding each value with
// appendValue, and returns the extended slice. An error from appendValue is
// returned unchanged; an appendValue that returns fewer bytes than it was
// given is an error too. On error the returned slice may hold part of the
// set after b's original bytes.
func (s DVVSet[V]) AppendBinary(b []byte, appendValue func(b []byte, v V) ([]byte, error)) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(s.entries)))
	for i, e := range s.entries {
		b = binary.AppendUvarint(b, actorGap(s.entries, i, dvvEntry[V].actorOf))
		b = binary.AppendUvarint(b, e.counter-1)
		b = binary.AppendUvarint(b, uint64(len(e.values)))
		for _, v := range e.values {
			var err error
			if b, err = appendSized(b, v, appendValue); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// appendSized appends v's encoding preceded by its length. The value is
// written first, then moved up to make room for the length, so the codec
// needs no scratch buffer.
func appendSized[V any](b []byte, v V, appendValue func([]byte, V) ([]byte, error)) ([]byte, error) {
	start := len(b)
	out, err := appendValue(b, v)
	if err != nil {
		return b, err
	}
	if len(out) < start {
		return b, errShrunk
	}
	b = out
	size := len(b) - start
	var prefix [binary.MaxVarintLen64]byte
	p := binary.PutUvarint(prefix[:], uint64(size))
	b = append(b, prefix[:p]...)
	copy(b[start+p:], b[start:start+size])
	copy(b[start:], prefix[:p])
	return b, nil
}

// DecodeDVVSet decodes the binary DVVSet at the start of data, decoding
// each value's bytes with decodeValue, and returns it with the number of
// bytes used. Structural problems (truncation, overlong varints, more
// values than the counter allows, actors or counters out of range, more
// than MaxEntries actors or MaxSiblings values) return a [*DecodeError]
// wrapping [ErrMalformed] or [ErrTooManyEntries]; an error from decodeValue
// is returned in a *DecodeError whose Err is that error. Counts are checked
// against the bytes present before anything is allocated.
func DecodeDVVSet[V any](data []byte, decodeValue func([]byte) (V, error)) (DVVSet[V], int, error) {
	const what = "dvvset"
	// Each actor takes at least three bytes (gap, counter, value count),
	// each value at least one (its size).
	const minActorBytes, minValueBytes = 3, 1
	count, pos, err := readUvarint(what, data, 0)
	if err != nil {
		return DVVSet[V]{}, 0, err
	}
	if count > MaxEntries {
		return DVVSet[V]{}, 0, tooMany(what, 0, "declares "+strconv.FormatUint(count, 10)+" actors, limit "+strconv.Itoa(MaxEntries))
	}
	if count > uint64(len(data)-pos)/minActorBytes {
		return DVVSet[V]{}, 0, malformed(what, pos, "declares "+strconv.FormatUint(count, 10)+" actors but only "+strconv.Itoa(len(data)-pos)+" bytes follow")
	}
	if count == 0 {
		return DVVSet[V]{}, pos, nil
	}
	entries := make([]dvvEntry[V], 0, count)
	siblings := 0
	var prev Actor
	for i := range int(count) {
		start := pos
		var gap, counter, n uint64
		if gap, pos, err = readUvarint(what, data, pos); err != nil {
			return DVVSet[V]{}, 0, err
		}
		if counter, pos, err = readUvarint(what, data, pos); err != nil {
			return DVVSet[V]{}, 0, err
		}
		if n, pos, err = readUvarint(what, data, pos); err != nil {
			return DVVSet[V]{}, 0, err
		}
		actor, ok := actorAfter(i, prev, gap)
		if !ok {
			return DVVSet[V]{}, 0, malformed(what, start, "actor beyond the largest actor id")
		}
		if counter == MaxCounter {
			return DVVSet[V]{}, 0, malformed(what, start, "counter beyond MaxCounter")
		}
		counter++
		if n > counter {
			return DVVSet[V]{}, 0, malformed(what, start, "more values than the counter has dots")
		}
		if n > MaxSiblings || siblings+int(n) > MaxSiblings {
			return DVVSet[V]{}, 0, tooMany(what, start, "more than "+strconv.Itoa(MaxSiblings)+" values")
		}
		if n > uint64(len(data)-pos)/minValueBytes {
			return DVVSet[V]{}, 0, malformed(what, pos, "declares "+strconv.FormatUint(n, 10)+" values but only "+strconv.Itoa(len(data)-pos)+" bytes follow")
		}
		siblings += int(n)
		var values []V
		if n > 0 {
			values = make([]V, n)
		}
		for k := range values {
			var size uint64
			valueAt := pos
			if size, pos, err = readUvarint(what, data, pos); err != nil {
				return DVVSet[V]{}, 0, err
			}
			if size > uint64(len(data)-pos) {
				return DVVSet[V]{}, 0, malformed(what, valueAt, "value of "+strconv.FormatUint(size, 10)+" bytes but only "+strconv.Itoa(len(data)-pos)+" follow")
			}
			end := pos + int(size)
			if values[k], err = decodeValue(data[pos:end:end]); err != nil {
				return DVVSet[V]{}, 0, &DecodeError{What: what, Offset: pos, Reason: "value", Err: err}
			}
			pos = end
		}
		entries = append(entries, dvvEntry[V]{actor: actor, counter: counter, values: values})
		prev = actor
	}
	return DVVSet[V]{entries: entries}, pos, nil
}
