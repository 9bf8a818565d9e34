package vclock

import (
	"encoding/binary"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func uvarints(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

func sixteenActors() Clock {
	m := map[Actor]uint64{}
	for a := range Actor(16) {
		m[a+1] = uint64(100 + a)
	}
	return FromMap(m)
}

func TestBinaryForm(t *testing.T) {
	c := FromMap(map[Actor]uint64{1: 3, 2: 1, 300: 129})
	b, err := c.MarshalBinary()
	require.NoError(t, err, "encoding never fails")
	// count 3; actor 1 counter 3; gap 0 counter 1; gap 297 counter 129.
	assert.Equal(t, []byte{3, 1, 2, 0, 0, 0xa9, 0x02, 0x80, 0x01}, b, "gap and counter-1 varints")
	assert.Equal(t, []byte{0}, must(Clock{}.MarshalBinary()), "the empty clock is one zero byte")

	sixteen := sixteenActors()
	assert.Equal(t, 33, len(must(sixteen.MarshalBinary())), "16 small actors with counters up to 128 encode in 33 bytes")
	assert.LessOrEqual(t, sixteen.BinarySize(), 40, "target: 16 entries in at most 40 bytes")

	appended, _ := c.AppendBinary([]byte("prefix"))
	got, n, err := DecodeClock(appended[len("prefix"):])
	require.NoError(t, err, "AppendBinary output decodes")
	assert.Equal(t, len(b), n, "DecodeClock reports the bytes it used")
	assert.True(t, got.Equal(c), "round trip")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDecodeClockEmbedded(t *testing.T) {
	c := FromMap(map[Actor]uint64{7: 2})
	msg, _ := c.AppendBinary(nil)
	msg = append(msg, "payload"...)
	got, n, err := DecodeClock(msg)
	require.NoError(t, err, "a clock followed by other data decodes")
	assert.True(t, got.Equal(c), "decoded clock")
	assert.Equal(t, "payload", string(msg[n:]), "n points past the clock")

	var whole Clock
	err = whole.UnmarshalBinary(msg)
	require.ErrorIs(t, err, ErrMalformed, "UnmarshalBinary rejects trailing bytes")
	assert.Contains(t, err.Error(), "7 trailing bytes", "the error says how many")

	buf := make([]Entry, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		_, _, err = DecodeClockInto(buf, msg)
	})
	require.NoError(t, err, "DecodeClockInto decodes")
	assert.Zero(t, allocs, "DecodeClockInto with room in buf must not allocate")
}

func TestDecodeClockRejects(t *testing.T) {
	maxVarint := uvarints(1<<64 - 1)
	tests := []struct {
		name   string
		data   []byte
		reason string
		err    error
	}{
		{"empty input", nil, "truncated varint", ErrMalformed},
		{"count without entries", []byte{1}, "declares 1 entries but only 0 bytes follow", ErrMalformed},
		{"hostile count", uvarints(MaxEntries, 1, 0, 0, 0), "declares 65536 entries but only 4 bytes follow", ErrMalformed},
		{"count above limit", uvarints(MaxEntries + 1), "limit 65536", ErrTooManyEntries},
		{"huge count", uvarints(1 << 62), "limit 65536", ErrTooManyEntries},
		{"overlong count", []byte{0x81, 0x00, 1, 0}, "overlong varint", ErrMalformed},
		{"overlong zero counter", []byte{1, 1, 0x80, 0x00}, "overlong varint", ErrMalformed},
		{"varint over 64 bits", append([]byte{1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0), "overflows 64 bits", ErrMalformed},
		{"truncated entry", []byte{2, 1, 0, 0x80, 0x80}, "truncated varint", ErrMalformed},
		{"counter beyond max", append([]byte{1, 5}, maxVarint...), "counter beyond MaxCounter", ErrMalformed},
		{"actor past the largest id", append(append([]byte{2}, maxVarint...), 0, 0, 0), "actor beyond the largest actor id", ErrMalformed},
		{"gap wraps around", append(uvarints(2, 5, 0), append(uvarints(1<<64-6), 0)...), "actor beyond the largest actor id", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeClock(tt.data)
			require.ErrorIs(t, err, tt.err, "decoding % x", tt.data)
			var de *DecodeError
			require.ErrorAs(t, err, &de, "decoders return *DecodeError")
			assert.Contains(t, de.Reason, tt.reason, "reason for % x", tt.data)
			var c Clock
			assert.Error(t, c.UnmarshalBinary(tt.data), "UnmarshalBinary agrees")
		})
	}
}

func TestTextForm(t *testing.T) {
	c := FromMap(map[Actor]uint64{0: 1, 10: 22, MaxActor: MaxCounter})
	txt := must(c.MarshalText())
	assert.Equal(t, "{0:1,10:22,18446744073709551615:18446744073709551615}", string(txt), "text form")
	var got Clock
	require.NoError(t, got.UnmarshalText(txt), "text round trip")
	assert.True(t, got.Equal(c), "text round trip")
	require.NoError(t, got.UnmarshalText([]byte("{}")), "empty clock")
	assert.True(t, got.IsZero(), "{} is the empty clock")
}

func TestUnmarshalTextRejects(t *testing.T) {
	for _, in := range []string{
		"", "{", "}", "1:1", "[1:1]", "{1}", "{:1}", "{1:}", "{1:0}", "{01:1}", "{1:01}",
		"{2:1,1:1}", "{1:1,1:2}", "{1:1,}", "{,1:1}", "{ 1:1}", "{1:1 }", "{1:+1}", "{-1:1}",
		"{1:18446744073709551616}", "{18446744073709551616:1}", "{1:1:1}", "{1:1;2:1}", "{1:1}\n",
	} {
		t.Run(in, func(t *testing.T) {
			c := FromMap(map[Actor]uint64{9: 9})
			err := c.UnmarshalText([]byte(in))
			require.ErrorIs(t, err, ErrMalformed, "%q is not canonical text", in)
			assert.Equal(t, "{9:9}", c.String(), "on error the clock is unchanged")
		})
	}
	tooMany := "{" + strings.Repeat("1:1,", MaxEntries) + "1:1}"
	var c Clock
	require.ErrorIs(t, c.UnmarshalText([]byte(tooMany)), ErrTooManyEntries, "more than MaxEntries entries")
}

func TestJSON(t *testing.T) {
	type doc struct {
		Version Clock     `json:"version"`
		At      Timestamp `json:"at"`
	}
	in := doc{Version: FromMap(map[Actor]uint64{1: 2, 3: 4}), At: Timestamp(0x018f2a6b3c400007)}
	b, err := json.Marshal(in)
	require.NoError(t, err, "a Clock and a Timestamp marshal as JSON strings")
	assert.JSONEq(t, `{"version":"{1:2,3:4}","at":"018f2a6b3c400007"}`, string(b), "JSON form")
	var out doc
	require.NoError(t, json.Unmarshal(b, &out), "and unmarshal back")
	assert.True(t, out.Version.Equal(in.Version), "clock round trip")
	assert.Equal(t, in.At, out.At, "timestamp round trip")
	require.ErrorIs(t, json.Unmarshal([]byte(`{"version":"{2:1,1:1}"}`), &out), ErrMalformed, "JSON decoding is canonical too")
}

// TestHostileHeaderAllocation measures the bytes decoders allocate for
// inputs whose headers declare far more than they contain. It must not run
// in parallel: it reads process-wide allocation counters.
func TestHostileHeaderAllocation(t *testing.T) {
	bytesValue := func(b []byte) ([]byte, error) { return b, nil }
	inputs := map[string]func() error{
		"clock count at limit":     func() error { _, _, err := DecodeClock(uvarints(MaxEntries, 1, 1)); return err },
		"clock count beyond limit": func() error { _, _, err := DecodeClock(uvarints(1<<63, 1, 1)); return err },
		"dvvset actor count": func() error {
			_, _, err := DecodeDVVSet(uvarints(MaxEntries, 1, 1, 1), bytesValue)
			return err
		},
		"dvvset value count": func() error {
			_, _, err := DecodeDVVSet(uvarints(1, 1, MaxSiblings, MaxSiblings-1, 1, 2), bytesValue)
			return err
		},
		"clock text with many colons": func() error {
			var c Clock
			return c.UnmarshalText([]byte("{1:1,0:" + strings.Repeat(":", 64) + "}"))
		},
	}
	for name, decode := range inputs {
		t.Run(name, func(t *testing.T) {
			require.Error(t, decode(), "hostile input must be rejected")
			const runs = 100
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				_ = decode()
			}
			runtime.ReadMemStats(&after)
			perRun := (after.TotalAlloc - before.TotalAlloc) / runs
			assert.LessOrEqual(t, perRun, uint64(4096), "a hostile header may allocate at most 4 KiB, got %d bytes", perRun)
		})
	}
}

// TestDecodeAllocationProportionalToInput checks the other half of the
// bound: a large valid input allocates in proportion to its size.
func TestDecodeAllocationProportionalToInput(t *testing.T) {
	const n = 4096
	data := uvarints(n, 0, 0) // actor 0, counter 1
	for range n - 1 {
		data = append(data, 0, 0) // next actor, counter 1
	}
	c, used, err := DecodeClock(data)
	require.NoError(t, err, "a dense valid clock")
	assert.Equal(t, n, c.Len(), "entries")
	assert.Equal(t, len(data), used, "all input used")
	allocs := testing.AllocsPerRun(10, func() { _, _, _ = DecodeClock(data) })
	assert.Equal(t, 1.0, allocs, "one allocation for the entries")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _ = DecodeClock(data)
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(8*len(data)+64), "at most 8 bytes per input byte")
}
