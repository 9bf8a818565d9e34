package vclock

import (
	"encoding/binary"
	"strconv"
	"time"
)

// Timestamp is a hybrid logical clock reading packed in one uint64: the top
// 48 bits are wall time in milliseconds since the Unix epoch, the low 16
// bits a logical counter that orders events within one millisecond.
//
// Timestamps compare with <, and so do their binary (8 bytes big-endian)
// and text (16 hex digits) forms compared as bytes, so they sort correctly
// as database keys, in logs and in files. 48 bits of milliseconds last until
// the year 10889. Milliseconds rather than nanoseconds leave room for a
// 16-bit logical part in one word; clock offsets between machines are
// milliseconds anyway, so finer wall time would not order events better.
// A clock issuing more than 65,536 timestamps in one millisecond carries
// into the wall part, running at most that far ahead of real time.
type Timestamp uint64

const (
	logicalBits = 16
	logicalMask = 1<<logicalBits - 1
	// maxWallMillis is the largest wall time a Timestamp holds.
	maxWallMillis = 1<<(64-logicalBits) - 1
)

// NewTimestamp returns the timestamp with the given wall time in
// milliseconds since the Unix epoch and logical counter. It returns
// [ErrInvalidTimestamp] if wallMillis is negative or beyond 2^48-1.
func NewTimestamp(wallMillis int64, logical uint16) (Timestamp, error) {
	if wallMillis < 0 || wallMillis > maxWallMillis {
		return 0, ErrInvalidTimestamp
	}
	return Timestamp(uint64(wallMillis)<<logicalBits | uint64(logical)), nil
}

// WallMillis returns the wall time part in milliseconds since the Unix epoch.
func (t Timestamp) WallMillis() int64 { return int64(t >> logicalBits) }

// Wall returns the wall time part as a time.Time in UTC.
func (t Timestamp) Wall() time.Time { return time.UnixMilli(t.WallMillis()).UTC() }

// Logical returns the logical part.
func (t Timestamp) Logical() uint16 { return uint16(t & logicalMask) }

// String returns the wall time in RFC 3339 with milliseconds, then "/" and
// the logical part: "2024-05-01T12:00:00.000Z/3". For a sortable form use
// MarshalText.
func (t Timestamp) String() string {
	b := t.Wall().AppendFormat(nil, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '/')
	return string(strconv.AppendUint(b, uint64(t.Logical()), 10))
}

// AppendBinary appends the 8-byte big-endian form of t, which sorts
// bytewise in timestamp order. It never fails.
func (t Timestamp) AppendBinary(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint64(b, uint64(t)), nil
}

// MarshalBinary returns the 8-byte big-endian form of t.
func (t Timestamp) MarshalBinary() ([]byte, error) { return t.AppendBinary(make([]byte, 0, 8)) }

// UnmarshalBinary sets t from exactly 8 bytes written by MarshalBinary;
// any other length returns a [*DecodeError] wrapping [ErrMalformed].
func (t *Timestamp) UnmarshalBinary(data []byte) error {
	if len(data) != 8 {
		return malformed("timestamp", 0, "length "+strconv.Itoa(len(data))+", want 8")
	}
	*t = Timestamp(binary.BigEndian.Uint64(data))
	return nil
}

const hexDigits = "0123456789abcdef"

// AppendText appends t as exactly 16 lowercase hex digits, which sort
// lexicographically in timestamp order. It never fails. Timestamps in JSON
// use this form as a string.
func (t Timestamp) AppendText(b []byte) ([]byte, error) {
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(t>>shift)&0xf])
	}
	return b, nil
}

// MarshalText returns t as 16 lowercase hex digits.
func (t Timestamp) MarshalText() ([]byte, error) { return t.AppendText(make([]byte, 0, 16)) }

// UnmarshalText sets t from exactly 16 lowercase hex digits; anything else
// (other lengths, upper case, signs) returns a [*DecodeError] wrapping
// [ErrMalformed], so each timestamp has one text form.
func (t *Timestamp) UnmarshalText(data []byte) error {
	if len(data) != 16 {
		return malformed("timestamp text", 0, "length "+strconv.Itoa(len(data))+", want 16")
	}
	var v uint64
	for i, ch := range data {
		var d byte
		switch {
		case '0' <= ch && ch <= '9':
			d = ch - '0'
		case 'a' <= ch && ch <= 'f':
			d = ch - 'a' + 10
		default:
			return malformed("timestamp text", i, "not a lowercase hex digit")
		}
		v = v<<4 | uint64(d)
	}
	*t = Timestamp(v)
	return nil
}
