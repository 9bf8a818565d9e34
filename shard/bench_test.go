package shard

import (
	"fmt"
	"strconv"
	"testing"
)

// benchKeys are the lookup keys of every benchmark: short strings like
// real identifiers, cycled so that lookups land all over the ring.
var benchKeys = func() []string {
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i*7919)
	}
	return keys
}()

// benchHashes are the benchKeys hashed, for the LocateHash benchmarks.
var benchHashes = func() []uint64 {
	hs := make([]uint64, len(benchKeys))
	for i, k := range benchKeys {
		hs[i] = HashString(k)
	}
	return hs
}()

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("10.0.%d.%d:7000", i/256, i%256)
	}
	return names
}

var sinkString string

func BenchmarkRingLocate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			r := NewRing(RingConfig{})
			if err := r.Add(nodeNames(n)...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkString = r.Locate(benchKeys[i&(len(benchKeys)-1)])
				i++
			}
		})
	}
}

func BenchmarkRingReplicas(b *testing.B) {
	r := NewRing(RingConfig{})
	if err := r.Add(nodeNames(100)...); err != nil {
		b.Fatal(err)
	}
	dst := make([]string, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sinkString = r.Replicas(benchKeys[i&(len(benchKeys)-1)], dst)[2]
		i++
	}
}

// BenchmarkRingAdd adds one node to a ring of 1,000 (and removes it again
// outside the timer, so every iteration sees the same ring).
func BenchmarkRingAdd(b *testing.B) {
	r := NewRing(RingConfig{})
	if err := r.Add(nodeNames(1000)...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Add("10.9.9.9:7000"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := r.Remove("10.9.9.9:7000"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkMaglevLocate measures Maglev's lookup on pre-hashed keys, as
// BenchmarkJump does; the "string" case adds hashing a string key, which
// costs about as much again.
func BenchmarkMaglevLocate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		m := NewMaglev(MaglevConfig{})
		if err := m.Add(nodeNames(n)...); err != nil {
			b.Fatal(err)
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkString = m.LocateHash(benchHashes[i&(len(benchHashes)-1)])
				i++
			}
		})
		if n == 1000 {
			b.Run("1000-string", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					sinkString = m.Locate(benchKeys[i&(len(benchKeys)-1)])
					i++
				}
			})
		}
	}
}

var sinkInt int

func BenchmarkJump(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 1 << 20} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			key := uint64(0)
			for b.Loop() {
				key += golden
				sinkInt = JumpHash(key, n)
			}
		})
	}
}

func BenchmarkRendezvousLocate(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var r Rendezvous
			if err := r.Add(nodeNames(n)...); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkString = r.Locate(benchKeys[i&(len(benchKeys)-1)])
				i++
			}
		})
	}
}

func BenchmarkBoundedAssign(b *testing.B) {
	r := NewRing(RingConfig{})
	if err := r.Add(nodeNames(100)...); err != nil {
		b.Fatal(err)
	}
	bl := NewBounded(r, BoundedConfig{})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		node, err := bl.Assign(benchKeys[i&(len(benchKeys)-1)])
		if err != nil {
			b.Fatal(err)
		}
		bl.Release(node)
		i++
	}
}

func BenchmarkRangesLocate(b *testing.B) {
	r := NewRanges(RangesConfig{})
	for i := 1; i < 1000; i++ {
		at := fmt.Sprintf("user:%07d", i*1000)
		if err := r.Split(at); err != nil {
			b.Fatal(err)
		}
		if err := r.Assign(at, fmt.Sprintf("shard-%d", i%16)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sinkString = r.Locate(benchKeys[i&(len(benchKeys)-1)])
		i++
	}
}
