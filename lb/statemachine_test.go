package lb_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"

	"github.com/distkit/distkit/lb"
)

// openPick is a request in flight in the model.
type openPick struct {
	p           lb.Pick
	incarnation int
}

// step is one action of the state-machine test, drawn up front so that the
// run itself can happen inside a synctest bubble (rapid cannot run there).
type step struct {
	Action  int    // 0 Update, 1 pick, 2 complete, 3 sleep, 4 pick and complete
	Members uint8  // Update: which of the 8 addresses are in the set
	Weights [8]int // Update: their weights
	Pick    int    // pick: the key; complete: which open pick
	Outcome int    // complete: 0 success, 1 and 2 failure, 3 canceled
	Seconds int    // sleep
}

// TestBalancerStateMachine drives a balancer with random Updates, picks,
// completions with random outcomes and the passing of time, and checks it
// against a model after every step: picks name current endpoints only,
// in-flight counts match the open requests, ejections respect their cap and
// never empty the rotation.
func TestBalancerStateMachine(t *testing.T) {
	steps := rapid.Custom(func(rt *rapid.T) step {
		s := step{
			Action:  rapid.IntRange(0, 4).Draw(rt, "action"),
			Members: rapid.Uint8().Draw(rt, "members"),
			Pick:    rapid.IntRange(0, 99).Draw(rt, "pick"),
			Outcome: rapid.IntRange(0, 3).Draw(rt, "outcome"),
			Seconds: rapid.IntRange(0, 12).Draw(rt, "seconds"),
		}
		for i := range s.Weights {
			s.Weights[i] = rapid.IntRange(0, 5).Draw(rt, "weight")
		}
		return s
	})
	property := func(rt *rapid.T) {
		policy := rapid.SampledFrom([]lb.Policy{lb.WeightedRoundRobin, lb.LeastLoaded, lb.PeakEWMA, lb.ConsistentHash}).Draw(rt, "policy")
		plan := rapid.SliceOfN(steps, 1, 150).Draw(rt, "steps")
		var failure error
		synctest.Test(t, func(t *testing.T) { failure = runModel(policy, plan) })
		if failure != nil {
			rt.Fatal(failure)
		}
	}
	// Five runs of rapid's default 100 cases: 500 random plans.
	for range 5 {
		rapid.Check(t, property)
	}
}

// runModel runs plan against a balancer and a model, returning the first
// disagreement.
func runModel(policy lb.Policy, plan []step) error {
	window := 20 * time.Second
	if policy == lb.ConsistentHash {
		window = 0
	}
	b := lb.New(lb.Config{
		Policy:    policy,
		Ejection:  lb.Ejection{ConsecutiveFailures: 1, BaseTime: 10 * time.Second, MaxPercent: 40},
		SlowStart: lb.SlowStart{Window: window},
	})
	pool := addrs(8)
	current := map[string]bool{}
	incarnation := map[string]int{}
	var open []openPick
	defer func() {
		for _, o := range open {
			o.p.Done(nil)
		}
	}()
	for _, s := range plan {
		switch s.Action {
		case 0:
			var eps []lb.Endpoint
			next := map[string]bool{}
			for i, a := range pool {
				if s.Members&(1<<i) != 0 {
					eps = append(eps, lb.Endpoint{Addr: a, Weight: s.Weights[i]})
					next[a] = true
					if !current[a] {
						incarnation[a]++
					}
				}
			}
			if err := b.Update(eps); err != nil {
				return fmt.Errorf("update: %w", err)
			}
			current = next
		case 1, 4:
			p, err := b.PickKey(fmt.Sprint(s.Pick))
			switch {
			case len(current) == 0 && err == nil:
				return fmt.Errorf("picked %q from an empty set", p.Addr())
			case len(current) == 0:
				continue
			case err != nil:
				return fmt.Errorf("pick with %d endpoints: %w", len(current), err)
			case !current[p.Addr()]:
				return fmt.Errorf("picked %q, not in the set", p.Addr())
			}
			open = append(open, openPick{p, incarnation[p.Addr()]})
			if s.Action == 1 {
				break
			}
			fallthrough
		case 2:
			if len(open) == 0 {
				continue
			}
			k := s.Pick % len(open)
			if s.Action == 4 {
				k = len(open) - 1
			}
			open[k].p.Done([]error{nil, errBoom, errBoom, context.Canceled}[s.Outcome])
			open = append(open[:k], open[k+1:]...)
		case 3:
			time.Sleep(time.Duration(s.Seconds) * time.Second)
		}
		if err := checkModel(b, policy, current, incarnation, open); err != nil {
			return err
		}
	}
	return nil
}

func checkModel(b *lb.Balancer, policy lb.Policy, current map[string]bool, incarnation map[string]int, open []openPick) error {
	st := b.Stats()
	if st.Endpoints != len(current) {
		return fmt.Errorf("Stats has %d endpoints, model %d", st.Endpoints, len(current))
	}
	if len(current) > 0 && st.Available == 0 {
		return fmt.Errorf("no endpoint available out of %d", len(current))
	}
	limit := 0
	if n := len(current); n > 1 {
		limit = min(max(n*40/100, 1), n-1)
	}
	if st.Ejected > limit {
		return fmt.Errorf("%d of %d endpoints ejected, cap %d", st.Ejected, len(current), limit)
	}
	inFlight := map[string]int64{}
	for _, o := range open {
		if o.incarnation == incarnation[o.p.Addr()] && current[o.p.Addr()] {
			inFlight[o.p.Addr()]++
		}
	}
	for _, e := range st.PerEndpoint {
		if !current[e.Addr] {
			return fmt.Errorf("Stats lists %q, not in the set", e.Addr)
		}
		want := int64(0)
		if policy == lb.LeastLoaded || policy == lb.PeakEWMA {
			want = inFlight[e.Addr]
		}
		if e.InFlight != want {
			return fmt.Errorf("%s: %d in flight, model %d", e.Addr, e.InFlight, want)
		}
		if e.WeightFactor < 0 || e.WeightFactor > 1 {
			return fmt.Errorf("%s: weight factor %v", e.Addr, e.WeightFactor)
		}
	}
	return nil
}
