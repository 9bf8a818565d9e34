package lb_test

import (
	"fmt"
	"testing"

	"github.com/distkit/distkit/lb"
)

// skews are the weight sets every weighted benchmark runs: equal weights,
// a mild spread, and one heavy endpoint among 99 light ones, the case that
// makes gRPC-go's scheduler loop.
var skews = []struct {
	name    string
	weights []int
}{
	{"equal100", repeat(1, 100)},
	{"mixed100", mixed(100)},
	{"heavy1of100", append([]int{100}, repeat(1, 99)...)},
	{"huge1000", hugeWeights(1000)},
}

func repeat(w, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = w
	}
	return out
}

func mixed(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + i%7*3
	}
	return out
}

// hugeWeights sums far beyond the default MaxSchedule, so the schedule is
// rounded.
func hugeWeights(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + (i*7919)%lb.MaxWeight
	}
	return out
}

func endpoints(weights []int) []lb.Endpoint {
	eps := make([]lb.Endpoint, len(weights))
	for i, w := range weights {
		eps[i] = lb.Endpoint{Addr: fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256), Weight: w}
	}
	return eps
}

func newBench(b *testing.B, cfg lb.Config, weights []int) *lb.Balancer {
	bal := lb.New(cfg)
	if err := bal.Update(endpoints(weights)); err != nil {
		b.Fatal(err)
	}
	return bal
}

// pickLoop measures one Pick plus its Done.
func pickLoop(b *testing.B, bal *lb.Balancer) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := bal.Pick()
		if err != nil {
			b.Fatal(err)
		}
		p.Done(nil)
	}
}

func BenchmarkPickRoundRobin(b *testing.B) {
	bal := newBench(b, lb.Config{Policy: lb.RoundRobin}, repeat(1, 100))
	pickLoop(b, bal)
}

func BenchmarkPickWeighted(b *testing.B) {
	for _, s := range skews {
		b.Run(s.name, func(b *testing.B) {
			bal := newBench(b, lb.Config{}, s.weights)
			pickLoop(b, bal)
		})
	}
}

func BenchmarkPickP2C(b *testing.B) {
	for _, s := range skews {
		b.Run(s.name, func(b *testing.B) {
			bal := newBench(b, lb.Config{Policy: lb.LeastLoaded}, s.weights)
			pickLoop(b, bal)
		})
	}
}

func BenchmarkPickPeakEWMA(b *testing.B) {
	bal := newBench(b, lb.Config{Policy: lb.PeakEWMA}, repeat(1, 100))
	pickLoop(b, bal)
}

func BenchmarkPickConsistentHash(b *testing.B) {
	bal := newBench(b, lb.Config{Policy: lb.ConsistentHash}, repeat(1, 100))
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p, err := bal.PickKey(keys[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		p.Done(nil)
		i++
	}
}

// BenchmarkPickWeightedParallel shows the cost of the shared pick counter
// under contention.
func BenchmarkPickWeightedParallel(b *testing.B) {
	bal := newBench(b, lb.Config{}, mixed(100))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, _ := bal.Pick()
			p.Done(nil)
		}
	})
}

func BenchmarkPickP2CParallel(b *testing.B) {
	bal := newBench(b, lb.Config{Policy: lb.LeastLoaded}, repeat(1, 100))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, _ := bal.Pick()
			p.Done(nil)
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	for _, s := range skews {
		b.Run(s.name, func(b *testing.B) {
			bal := lb.New(lb.Config{})
			eps := [2][]lb.Endpoint{endpoints(s.weights), endpoints(s.weights)}
			eps[1][0].Weight++ // alternate two sets so every Update rebuilds
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := bal.Update(eps[i&1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
