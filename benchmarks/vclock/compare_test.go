// Package vclockbench compares distkit's vclock with GoVector's vclock on
// identical workloads.
package vclockbench

import (
	"math/rand/v2"
	"strconv"
	"testing"

	govc "github.com/DistributedClocks/GoVector/govec/vclock"
	"github.com/distkit/distkit/vclock"
)

// pair is one clock comparison in both libraries' representations, with
// the order a correct implementation must report.
type pair struct {
	a, b       vclock.Clock
	ga, gb     govc.VClock
	want       vclock.Order
	withZeroes bool
}

// makePairs builds n pairs of 16-actor clocks: ordered pairs (one counter
// differs), equal pairs and concurrent pairs, a quarter of them carrying an
// explicit zero entry on one side, which a correct clock must ignore.
func makePairs(n int) []pair {
	rng := rand.New(rand.NewPCG(16, 16))
	pairs := make([]pair, n)
	for i := range pairs {
		ma, mb := map[vclock.Actor]uint64{}, map[vclock.Actor]uint64{}
		for a := range vclock.Actor(16) {
			v := 1 + rng.Uint64N(1000)
			ma[a], mb[a] = v, v
		}
		switch i % 3 {
		case 0: // a before b
			mb[vclock.Actor(rng.IntN(16))]++
		case 1: // concurrent
			ma[3]++
			mb[12]++
		}
		zeroes := i%4 == 0
		if zeroes {
			// An actor b has never heard of, written as an explicit zero.
			mb[100] = 0
		}
		p := pair{a: vclock.FromMap(ma), b: vclock.FromMap(mb), ga: toGoVector(ma), gb: toGoVector(mb), withZeroes: zeroes}
		p.want = p.a.Compare(p.b)
		pairs[i] = p
	}
	return pairs
}

func toGoVector(m map[vclock.Actor]uint64) govc.VClock {
	out := govc.New()
	for a, v := range m {
		out.Set(strconv.FormatUint(uint64(a), 10), v)
	}
	return out
}

// goVectorOrder asks GoVector for the order of a relative to b. Its Compare
// answers one condition at a time, so a full answer takes up to three calls.
func goVectorOrder(a, b govc.VClock) vclock.Order {
	switch {
	case a.Compare(b, govc.Equal):
		return vclock.Equal
	case a.Compare(b, govc.Descendant):
		return vclock.Before // b descends from a
	case a.Compare(b, govc.Ancestor):
		return vclock.After
	}
	return vclock.Concurrent
}

// BenchmarkVClockCompare16 classifies pairs of 16-entry clocks as before,
// after, equal or concurrent.
func BenchmarkVClockCompare16(b *testing.B) {
	pairs := makePairs(60)
	b.Run("distkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &pairs[i%len(pairs)]
			if p.a.Compare(p.b) != p.want {
				b.Fatal("wrong order")
			}
			i++
		}
	})
	b.Run("govector", func(b *testing.B) {
		b.ReportAllocs()
		i, wrong := 0, 0
		for b.Loop() {
			p := &pairs[i%len(pairs)]
			if goVectorOrder(p.ga, p.gb) != p.want {
				wrong++
			}
			i++
		}
		b.ReportMetric(float64(wrong)/float64(i), "wrong/op")
	})
}

// TestGoVectorExplicitZeroes records, as a test that would fail if either
// side changed, that GoVector misorders clocks with explicit zero entries
// while distkit orders them correctly.
func TestGoVectorExplicitZeroes(t *testing.T) {
	wrongGoVector, wrongDistkit, withZeroes := 0, 0, 0
	for _, p := range makePairs(600) {
		if p.withZeroes {
			withZeroes++
		}
		if got := goVectorOrder(p.ga, p.gb); got != p.want {
			wrongGoVector++
			if !p.withZeroes {
				t.Errorf("GoVector misordered a pair without explicit zeroes: got %v, want %v", got, p.want)
			}
		}
		if vclock.FromMap(mapOf(p.ga)).Compare(vclock.FromMap(mapOf(p.gb))) != p.want {
			wrongDistkit++
		}
	}
	if wrongDistkit != 0 {
		t.Fatalf("distkit misordered %d pairs", wrongDistkit)
	}
	if wrongGoVector == 0 {
		t.Fatalf("expected GoVector to misorder pairs with explicit zeroes; it got all %d right", withZeroes)
	}
	t.Logf("GoVector misordered %d of 600 pairs (%d had an explicit zero entry); distkit 0", wrongGoVector, withZeroes)
}

func mapOf(g govc.VClock) map[vclock.Actor]uint64 {
	out := map[vclock.Actor]uint64{}
	for k, v := range g.GetMap() {
		n, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			panic(err)
		}
		out[vclock.Actor(n)] = v
	}
	return out
}

// BenchmarkVClockMerge16 builds the merge of two concurrent 16-entry clocks
// as a new clock, leaving both inputs as they were: GoVector merges in
// place, so it copies first.
func BenchmarkVClockMerge16(b *testing.B) {
	var pairs []pair
	for _, p := range makePairs(60) {
		if p.want == vclock.Concurrent {
			pairs = append(pairs, p)
		}
	}
	b.Run("distkit", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &pairs[i%len(pairs)]
			if p.a.Merge(p.b).Len() != 16 {
				b.Fatal("wrong merge")
			}
			i++
		}
	})
	b.Run("govector", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := &pairs[i%len(pairs)]
			merged := p.ga.Copy()
			merged.Merge(p.gb)
			if len(merged) < 16 {
				b.Fatal("wrong merge")
			}
			i++
		}
	})
}

// TestGoVectorRandomPairs compares both libraries with the definition of
// the order (missing entry = 0) on random small clocks in which about one
// entry in five is an explicit zero, and reports how often each is wrong.
func TestGoVectorRandomPairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	randomMap := func() map[vclock.Actor]uint64 {
		m := map[vclock.Actor]uint64{}
		for range rng.IntN(6) {
			m[vclock.Actor(rng.IntN(6))] = uint64(rng.IntN(4)) // 0 is an explicit zero
		}
		return m
	}
	const pairs = 10000
	wrongGoVector, wrongDistkit := 0, 0
	for range pairs {
		ma, mb := randomMap(), randomMap()
		want := definitionOrder(ma, mb)
		if goVectorOrder(toGoVector(ma), toGoVector(mb)) != want {
			wrongGoVector++
		}
		if vclock.FromMap(ma).Compare(vclock.FromMap(mb)) != want {
			wrongDistkit++
		}
	}
	if wrongDistkit != 0 {
		t.Fatalf("distkit misordered %d of %d random pairs", wrongDistkit, pairs)
	}
	if wrongGoVector == 0 {
		t.Fatalf("expected GoVector to misorder some random pairs with explicit zeros")
	}
	t.Logf("random pairs misordered: GoVector %d of %d (%.1f%%), distkit 0", wrongGoVector, pairs, 100*float64(wrongGoVector)/pairs)
}

// definitionOrder is the order of two clocks straight from the definition,
// with a missing actor read as zero.
func definitionOrder(a, b map[vclock.Actor]uint64) vclock.Order {
	less, more := false, false
	for _, m := range []map[vclock.Actor]uint64{a, b} {
		for k := range m {
			less = less || a[k] < b[k]
			more = more || a[k] > b[k]
		}
	}
	switch {
	case less && more:
		return vclock.Concurrent
	case less:
		return vclock.Before
	case more:
		return vclock.After
	}
	return vclock.Equal
}

// BenchmarkVClockEncode16 encodes a 16-entry clock (actors 0-15, counters
// up to 1000) in each library's binary form and reports its size.
func BenchmarkVClockEncode16(b *testing.B) {
	p := makePairs(1)[0]
	b.Run("distkit", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			buf, _ = p.a.AppendBinary(buf[:0])
		}
		b.ReportMetric(float64(len(buf)), "bytes/clock")
	})
	b.Run("govector", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out = p.ga.Bytes()
		}
		b.ReportMetric(float64(len(out)), "bytes/clock")
	})
}
