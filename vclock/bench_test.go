package vclock

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

var sizes = []int{3, 16, 128}

// orderedPair returns clocks a and b of n entries where a happened before
// b: every counter is equal except one in the middle. Compare must read
// every entry to decide, the worst case for an ordered pair.
func orderedPair(n int) (Clock, Clock) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	m := map[Actor]uint64{}
	for a := range Actor(n) {
		m[a+1] = 1 + rng.Uint64N(1000)
	}
	a := FromMap(m)
	m[Actor(n/2+1)]++
	return a, FromMap(m)
}

// concurrentPair returns clocks of n entries over the same actors where
// each is ahead on half of them: Merge has to build a new clock.
func concurrentPair(n int) (Clock, Clock) {
	rng := rand.New(rand.NewPCG(2, uint64(n)))
	ma, mb := map[Actor]uint64{}, map[Actor]uint64{}
	for a := range Actor(n) {
		v := 1 + rng.Uint64N(1000)
		ma[a+1], mb[a+1] = v, v
		if a%2 == 0 {
			ma[a+1]++
		} else {
			mb[a+1]++
		}
	}
	return FromMap(ma), FromMap(mb)
}

func BenchmarkCompare(b *testing.B) {
	for _, n := range sizes {
		x, y := orderedPair(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var o Order
			for b.Loop() {
				o = x.Compare(y)
			}
			if o != Before {
				b.Fatalf("Compare = %v, want before", o)
			}
		})
	}
}

func BenchmarkMerge(b *testing.B) {
	for _, n := range sizes {
		x, y := concurrentPair(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			var c Clock
			for b.Loop() {
				c = x.Merge(y)
			}
			if c.Len() != n {
				b.Fatalf("merged %d entries, want %d", c.Len(), n)
			}
		})
		b.Run(strconv.Itoa(n)+"/into", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]Entry, 0, 2*n)
			var c Clock
			for b.Loop() {
				c = x.MergeInto(buf, y)
			}
			if c.Len() != n {
				b.Fatalf("merged %d entries, want %d", c.Len(), n)
			}
		})
	}
}

func BenchmarkTick(b *testing.B) {
	x, _ := orderedPair(16)
	b.Run("16", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = x.Tick(5)
		}
	})
	b.Run("16/into", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]Entry, 0, 17)
		for b.Loop() {
			_, _ = x.TickInto(buf, 5)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	c := sixteenActors()
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	b.ReportMetric(float64(c.BinarySize()), "bytes/clock")
	for b.Loop() {
		buf, _ = c.AppendBinary(buf[:0])
	}
	if len(buf) > 40 {
		b.Fatalf("16 entries encode in %d bytes, target 40", len(buf))
	}
}

func BenchmarkDecode(b *testing.B) {
	data, _ := sixteenActors().MarshalBinary()
	buf := make([]Entry, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := DecodeClockInto(buf, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHLCNow(b *testing.B) {
	var h HLC
	b.ReportAllocs()
	for b.Loop() {
		h.Now()
	}
}

func BenchmarkHLCUpdate(b *testing.B) {
	var h HLC
	remote := h.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Update(remote); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDVVSetPut(b *testing.B) {
	var s DVVSet[int]
	for r := range Actor(3) {
		s, _, _ = s.Put(r, Clock{}, int(r))
	}
	ctx := s.Context()
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = s.Put(1, ctx, 42)
	}
}

func BenchmarkDVVSetSync(b *testing.B) {
	var x, y DVVSet[int]
	for r := range Actor(3) {
		x, _, _ = x.Put(r, Clock{}, int(r))
	}
	y = y.Sync(x)
	x, _, _ = x.Put(0, x.Context(), 10)
	y, _, _ = y.Put(1, y.Context(), 11)
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Sync(y)
	}
}
