package vclock

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func ts(t testing.TB, wallMillis int64, logical uint16) Timestamp {
	t.Helper()
	out, err := NewTimestamp(wallMillis, logical)
	require.NoError(t, err, "timestamp (%d, %d)", wallMillis, logical)
	return out
}

func TestHLCNowFollowsWallClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h HLC // the zero value is ready
		first := h.Now()
		assert.Equal(t, time.Now().UnixMilli(), first.WallMillis(), "wall part is the wall clock")
		assert.Equal(t, uint16(0), first.Logical(), "a fresh millisecond starts at logical 0")
		second := h.Now()
		assert.Equal(t, first+1, second, "within one millisecond the logical part counts up")
		time.Sleep(5 * time.Millisecond)
		third := h.Now()
		assert.Equal(t, time.Now().UnixMilli(), third.WallMillis(), "the wall part follows time forward")
		assert.Equal(t, uint16(0), third.Logical(), "and the logical part resets")
		assert.Equal(t, third, h.Stats().Last, "Stats reports the last timestamp")
	})
}

func TestHLCNowMonotonicWhenWallStepsBack(t *testing.T) {
	wall := int64(1_000)
	h := HLC{wallMillis: func() int64 { return wall }}
	assert.Equal(t, ts(t, 1000, 0), h.Now(), "at wall 1000")
	wall = 900 // the wall clock is stepped back 100 ms
	assert.Equal(t, ts(t, 1000, 1), h.Now(), "the wall part stays, the logical part counts")
	assert.Equal(t, ts(t, 1000, 2), h.Now(), "still behind")
	wall = 1_001
	assert.Equal(t, ts(t, 1001, 0), h.Now(), "once the wall clock passes, it is followed again")
	assert.Equal(t, uint64(2), h.Stats().WallBehind, "two readings were behind")
}

func TestHLCLogicalOverflowCarriesIntoWall(t *testing.T) {
	h := HLC{wallMillis: func() int64 { return 5_000 }}
	prev := h.Now()
	for range math.MaxUint16 + 1 {
		next := h.Now()
		if next <= prev {
			t.Fatalf("timestamp %v after %v: every timestamp must be greater than the one before", next, prev)
		}
		prev = next
	}
	assert.Equal(t, ts(t, 5001, 0), prev, "65,536 events in one millisecond carry into the next")
}

func TestHLCSaturatesAtTheEndOfTime(t *testing.T) {
	h := HLC{wallMillis: func() int64 { return math.MaxInt64 }}
	assert.Equal(t, ts(t, maxWallMillis, 0), h.Now(), "wall time beyond 2^48 ms is clamped")
	h.last.Store(math.MaxUint64)
	assert.Equal(t, Timestamp(math.MaxUint64), h.Now(), "the largest timestamp saturates instead of wrapping to zero")
	h2 := HLC{wallMillis: func() int64 { return -5 }}
	assert.Equal(t, ts(t, 0, 1), h2.Now(), "a wall clock before 1970 is clamped to zero, and the first timestamp is above zero")
}

func TestHLCUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHLC(HLCConfig{MaxOffset: 100 * time.Millisecond})
		now := time.Now().UnixMilli()

		ahead := ts(t, now+100, 7)
		got, err := h.Update(ahead)
		require.NoError(t, err, "a remote exactly MaxOffset ahead is accepted")
		assert.Equal(t, ahead+1, got, "the receive event is right after the remote event")
		assert.Greater(t, h.Now(), got, "later local events follow it")

		behind := ts(t, now-1_000, 3)
		got2, err := h.Update(behind)
		require.NoError(t, err, "a remote in the past is accepted")
		assert.Greater(t, got2, got, "but the clock does not go back")

		before := h.Stats().Last
		_, err = h.Update(ts(t, now+101, 0))
		require.ErrorIs(t, err, ErrClockOffset, "a remote beyond MaxOffset is rejected")
		var oe *OffsetError
		require.ErrorAs(t, err, &oe, "with the offset details")
		assert.Equal(t, 101*time.Millisecond, oe.Offset, "offset")
		assert.Equal(t, 100*time.Millisecond, oe.MaxOffset, "limit")
		assert.Equal(t, now, oe.Local.WallMillis(), "local wall time")
		assert.Contains(t, err.Error(), "101ms ahead", "the message says by how much")
		assert.Equal(t, before, h.Stats().Last, "a rejected remote leaves the clock unchanged")

		time.Sleep(time.Millisecond) // once local time catches up, it is accepted
		_, err = h.Update(ts(t, now+101, 0))
		require.NoError(t, err, "the same remote one millisecond later")

		stats := h.Stats()
		assert.Equal(t, uint64(3), stats.Updates, "accepted updates")
		assert.Equal(t, uint64(1), stats.Rejected, "rejected updates")
	})
}

func TestHLCDefaultMaxOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h HLC
		now := time.Now().UnixMilli()
		_, err := h.Update(ts(t, now+DefaultMaxOffset.Milliseconds(), 0))
		require.NoError(t, err, "DefaultMaxOffset ahead is accepted")
		_, err = h.Update(ts(t, now+DefaultMaxOffset.Milliseconds()+1, 0))
		require.ErrorIs(t, err, ErrClockOffset, "one millisecond more is rejected")
	})
}

func TestHLCSubMillisecondMaxOffset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHLC(HLCConfig{MaxOffset: time.Microsecond})
		now := time.Now().UnixMilli()
		_, err := h.Update(ts(t, now, 9))
		require.NoError(t, err, "a remote in the same millisecond is not ahead")
		_, err = h.Update(ts(t, now+1, 0))
		require.ErrorIs(t, err, ErrClockOffset, "a limit below a millisecond rejects any remote ahead")
	})
}

func TestHLCOffsetOfFarFutureSaturates(t *testing.T) {
	var h HLC
	_, err := h.Update(ts(t, maxWallMillis, 0))
	var oe *OffsetError
	require.ErrorAs(t, err, &oe, "a remote in the year 10889 is rejected")
	assert.Equal(t, time.Duration(math.MaxInt64), oe.Offset, "an offset beyond what a Duration holds saturates instead of wrapping negative")
}

func TestHLCUpdateRejectsLargestTimestamp(t *testing.T) {
	h := NewHLC(HLCConfig{MaxOffset: NoOffsetLimit})
	_, err := h.Update(Timestamp(math.MaxUint64))
	require.ErrorIs(t, err, ErrInvalidTimestamp, "nothing can follow the largest timestamp")
	got, err := h.Update(Timestamp(math.MaxUint64 - 1))
	require.NoError(t, err, "with no offset limit, the second largest is accepted")
	assert.Equal(t, Timestamp(math.MaxUint64), got, "and is followed by the largest")
}

func TestHLCConcurrentNowIsUnique(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHLC(HLCConfig{})
		const goroutines, each = 8, 500
		results := make([][]Timestamp, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					if i%50 == 0 {
						time.Sleep(time.Millisecond)
					}
					if i%7 == 0 {
						ts, err := h.Update(Timestamp(h.Stats().Last))
						if err != nil {
							t.Error(err)
							return
						}
						results[g] = append(results[g], ts)
						continue
					}
					results[g] = append(results[g], h.Now())
				}
			})
		}
		wg.Wait()
		seen := map[Timestamp]bool{}
		for g, list := range results {
			for i, v := range list {
				require.False(t, seen[v], "timestamp %v issued twice", v)
				seen[v] = true
				if i > 0 {
					require.Greater(t, v, list[i-1], "goroutine %d saw time go back", g)
				}
			}
		}
		assert.Len(t, seen, goroutines*each, "every call got its own timestamp")
	})
}

func TestHLCConfig(t *testing.T) {
	require.NoError(t, HLCConfig{}.Validate(), "the zero config is valid")
	require.Error(t, HLCConfig{MaxOffset: -1}.Validate(), "a negative offset is invalid")
	assert.PanicsWithValue(t, "vclock: HLCConfig.MaxOffset is negative", func() { NewHLC(HLCConfig{MaxOffset: -time.Second}) }, "NewHLC panics on a programming error")
}

func TestTimestamp(t *testing.T) {
	stamp := ts(t, 1_714_564_800_123, 3)
	assert.Equal(t, int64(1_714_564_800_123), stamp.WallMillis(), "wall part")
	assert.Equal(t, uint16(3), stamp.Logical(), "logical part")
	assert.Equal(t, time.UnixMilli(1_714_564_800_123).UTC(), stamp.Wall(), "wall as time.Time")
	assert.Equal(t, "2024-05-01T12:00:00.123Z/3", stamp.String(), "readable form")
	assert.Equal(t, "018f34069e7b0003", string(must(stamp.MarshalText())), "sortable text form")
	assert.Equal(t, []byte{0x01, 0x8f, 0x34, 0x06, 0x9e, 0x7b, 0x00, 0x03}, must(stamp.MarshalBinary()), "big-endian binary form")

	for _, bad := range []int64{-1, maxWallMillis + 1, math.MaxInt64} {
		_, err := NewTimestamp(bad, 0)
		require.ErrorIs(t, err, ErrInvalidTimestamp, "wall %d is out of range", bad)
	}
	_, err := NewTimestamp(maxWallMillis, math.MaxUint16)
	require.NoError(t, err, "the largest wall time is valid")

	var got Timestamp
	require.ErrorIs(t, got.UnmarshalBinary([]byte{1, 2, 3}), ErrMalformed, "binary must be 8 bytes")
	require.ErrorIs(t, got.UnmarshalText([]byte("018F34069E7B0003")), ErrMalformed, "text must be lowercase")
	require.ErrorIs(t, got.UnmarshalText([]byte("18f34069e7b0003")), ErrMalformed, "text must be 16 digits")
}

// TestTimestampEncodingsSortLikeTimestamps checks that byte order of both
// encodings is timestamp order, which is what makes them usable as keys.
func TestTimestampEncodingsSortLikeTimestamps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := Timestamp(rapid.Uint64().Draw(t, "a"))
		b := Timestamp(rapid.Uint64().Draw(t, "b"))
		want := 0
		if a < b {
			want = -1
		} else if a > b {
			want = 1
		}
		if got := bytes.Compare(must(a.MarshalBinary()), must(b.MarshalBinary())); got != want {
			t.Fatalf("binary order of %v and %v is %d, want %d", a, b, got, want)
		}
		if got := bytes.Compare(must(a.MarshalText()), must(b.MarshalText())); got != want {
			t.Fatalf("text order of %v and %v is %d, want %d", a, b, got, want)
		}
		var back Timestamp
		if err := back.UnmarshalText(must(a.MarshalText())); err != nil || back != a {
			t.Fatalf("text round trip of %v: %v %v", a, back, err)
		}
		if err := back.UnmarshalBinary(must(a.MarshalBinary())); err != nil || back != a {
			t.Fatalf("binary round trip of %v: %v %v", a, back, err)
		}
	})
}
