package vclock

import (
	"bytes"
	"errors"
	"testing"
)

func requireDecodeError(t *testing.T, err error) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("decoders must fail with *DecodeError, got %T %v", err, err)
	}
}

func clockSeeds() [][]byte {
	seeds := [][]byte{
		nil, {0}, {1}, {1, 0, 0}, {2, 1, 0, 0, 0}, {0x80, 0x00},
		{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
		uvarints(MaxEntries, 1, 1), uvarints(2, 1<<64-1, 0, 0, 0),
	}
	for _, c := range []Clock{sixteenActors(), FromMap(map[Actor]uint64{0: 1, MaxActor: MaxCounter})} {
		seeds = append(seeds, must(c.MarshalBinary()))
	}
	return seeds
}

func FuzzDecodeClock(f *testing.F) {
	for _, s := range clockSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, n, err := DecodeClock(data)
		if err != nil {
			requireDecodeError(t, err)
			return
		}
		if n < 1 || n > len(data) {
			t.Fatalf("used %d of %d bytes", n, len(data))
		}
		for i, e := range c.entries {
			if e.Counter == 0 || i > 0 && e.Actor <= c.entries[i-1].Actor {
				t.Fatalf("decoded clock %v is not canonical", c.entries)
			}
		}
		again, _ := c.AppendBinary(nil)
		if !bytes.Equal(again, data[:n]) {
			t.Fatalf("accepted % x but it encodes as % x: not canonical", data[:n], again)
		}
		var whole Clock
		if err := whole.UnmarshalBinary(data); (err == nil) != (n == len(data)) {
			t.Fatalf("UnmarshalBinary error %v with %d trailing bytes", err, len(data)-n)
		}
		if c.Compare(c) != Equal || !c.Merge(c).Equal(c) {
			t.Fatalf("decoded clock %v does not equal itself", c)
		}
	})
}

func FuzzClockText(f *testing.F) {
	for _, s := range []string{"{}", "{1:1}", "{0:1,10:22}", "{1:0}", "{01:1}", "{2:1,1:1}", "{1:1,}", "{1:18446744073709551616}", "{:}", "{1:1:1}"} {
		f.Add([]byte(s))
	}
	for _, c := range []Clock{sixteenActors(), FromMap(map[Actor]uint64{0: 1, MaxActor: MaxCounter})} {
		f.Add(must(c.MarshalText()))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Clock
		if err := c.UnmarshalText(data); err != nil {
			requireDecodeError(t, err)
			return
		}
		if again := must(c.MarshalText()); !bytes.Equal(again, data) {
			t.Fatalf("accepted %q but it encodes as %q: not canonical", data, again)
		}
	})
}

func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"", "0000000000000000", "ffffffffffffffff", "018f2a6b3c400007", "018F2A6B3C400007", "+18f2a6b3c40000", "\x00\x01\x02\x03\x04\x05\x06\x07"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts Timestamp
		if err := ts.UnmarshalText(data); err != nil {
			requireDecodeError(t, err)
		} else if again := must(ts.MarshalText()); !bytes.Equal(again, data) {
			t.Fatalf("accepted text %q but it encodes as %q", data, again)
		}
		if err := ts.UnmarshalBinary(data); err != nil {
			requireDecodeError(t, err)
		} else if again := must(ts.MarshalBinary()); !bytes.Equal(again, data) {
			t.Fatalf("accepted binary % x but it encodes as % x", data, again)
		}
	})
}

func FuzzDecodeDVVSet(f *testing.F) {
	for _, s := range dvvSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, n, err := DecodeDVVSet(data, decodeStringValue)
		if err != nil {
			requireDecodeError(t, err)
			return
		}
		if n < 1 || n > len(data) {
			t.Fatalf("used %d of %d bytes", n, len(data))
		}
		checkDVVInvariants(t, s)
		again, err := s.AppendBinary(nil, appendStringValue)
		if err != nil || !bytes.Equal(again, data[:n]) {
			t.Fatalf("accepted % x but it encodes as % x (%v): not canonical", data[:n], again, err)
		}
		if synced := s.Sync(s); synced.Len() != s.Len() || !synced.Context().Equal(s.Context()) {
			t.Fatalf("syncing %v with itself changed it", s.Values())
		}
	})
}
