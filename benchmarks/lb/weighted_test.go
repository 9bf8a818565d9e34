package lbbench

import (
	"fmt"
	"testing"

	"github.com/distkit/distkit/lb"
)

// heavyAmongLight is the weight set {100, 1 x 99}: one endpoint should take
// about half the picks, evenly interleaved with the 99 others.
func heavyAmongLight() []int {
	w := []int{100}
	for range 99 {
		w = append(w, 1)
	}
	return w
}

func newDistkit(tb testing.TB, cfg lb.Config, weights []int) (*lb.Balancer, map[string]int) {
	tb.Helper()
	b := lb.New(cfg)
	eps := make([]lb.Endpoint, len(weights))
	index := make(map[string]int, len(weights))
	for i, w := range weights {
		eps[i] = lb.Endpoint{Addr: fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256), Weight: w}
		index[eps[i].Addr] = i
	}
	if err := b.Update(eps); err != nil {
		tb.Fatal(err)
	}
	return b, index
}

// distkitLoop measures one Pick plus its Done.
func distkitLoop(b *testing.B, bal *lb.Balancer) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := bal.Pick()
		if err != nil {
			b.Fatal(err)
		}
		p.Done(nil)
	}
}

// BenchmarkWeightedPick compares one weighted pick plus its completion
// callback for the weights {100, 1 x 99}. gRPC's scheduler scales weights to
// 0..65535 and walks a shared atomic counter, skipping a slot unless the
// slot's endpoint is due, so with one heavy endpoint among 99 light ones it
// loops about 50 times (50 atomic increments and 150 divisions) per pick and
// allocates the Done closure; distkit reads one precomputed slot.
func BenchmarkWeightedPick(b *testing.B) {
	b.Run("distkit", func(b *testing.B) {
		bal, _ := newDistkit(b, lb.Config{}, heavyAmongLight())
		distkitLoop(b, bal)
	})
	b.Run("grpc", func(b *testing.B) {
		g := newGRPCWeighted(b, heavyAmongLight())
		b.ReportAllocs()
		for b.Loop() {
			g.pick()
		}
	})
}

// BenchmarkLeastLoadedPick compares a power-of-two-choices pick plus its
// completion callback over 100 equal endpoints. gRPC allocates a Done closure
// per pick (3 allocations with its pick_first child); distkit returns a value.
func BenchmarkLeastLoadedPick(b *testing.B) {
	b.Run("distkit", func(b *testing.B) {
		bal, _ := newDistkit(b, lb.Config{Policy: lb.LeastLoaded}, make100(1))
		distkitLoop(b, bal)
	})
	b.Run("grpc", func(b *testing.B) {
		g := newGRPCLeastRequest(b, 100)
		b.ReportAllocs()
		for b.Loop() {
			g.pick()
		}
	})
}

func make100(w int) []int {
	out := make([]int, 100)
	for i := range out {
		out[i] = w
	}
	return out
}

// sequenceStats describes a run of picks over weights.
type sequenceStats struct {
	heavyShare   float64 // fraction of picks that went to endpoint 0
	maxDeviation float64 // max over picks and endpoints of |picks - ideal share|
	heavyGap     int     // most consecutive picks that skip endpoint 0
	longestRun   int     // most consecutive picks of one endpoint
}

func measure(weights []int, seq []int) sequenceStats {
	total := 0
	for _, w := range weights {
		total += w
	}
	var st sequenceStats
	count := make([]int, len(weights))
	gap, run := 0, 0
	for t, e := range seq {
		count[e]++
		for i, w := range weights {
			dev := float64(count[i]) - float64(t+1)*float64(w)/float64(total)
			st.maxDeviation = max(st.maxDeviation, dev, -dev)
		}
		if e == 0 {
			gap = 0
		} else {
			gap++
			st.heavyGap = max(st.heavyGap, gap)
		}
		if t > 0 && seq[t-1] == e {
			run++
		} else {
			run = 1
		}
		st.longestRun = max(st.longestRun, run)
	}
	st.heavyShare = float64(count[0]) / float64(len(seq))
	return st
}

// TestWeightedSequence reports how closely each balancer follows the
// weights {100, 1 x 99} from its first pick, over 500 cycles of 199.
func TestWeightedSequence(t *testing.T) {
	weights := heavyAmongLight()
	const picks = 199 * 500

	bal, index := newDistkit(t, lb.Config{}, weights)
	seq := make([]int, picks)
	for i := range seq {
		p, err := bal.Pick()
		if err != nil {
			t.Fatal(err)
		}
		seq[i] = index[p.Addr()]
		p.Done(nil)
	}
	d := measure(weights, seq)
	t.Logf("distkit: heavy share %.4f, max deviation %.2f picks, heavy endpoint skipped at most %d picks in a row, longest run of one endpoint %d",
		d.heavyShare, d.maxDeviation, d.heavyGap, d.longestRun)
	if d.maxDeviation >= 2 || d.heavyGap > 1 {
		t.Errorf("distkit strays from the weights: %+v", d)
	}

	g := newGRPCWeighted(t, weights)
	for i := range seq {
		seq[i] = g.pick()
	}
	gs := measure(weights, seq)
	t.Logf("grpc:    heavy share %.4f, max deviation %.2f picks, heavy endpoint skipped at most %d picks in a row, longest run of one endpoint %d",
		gs.heavyShare, gs.maxDeviation, gs.heavyGap, gs.longestRun)
}
