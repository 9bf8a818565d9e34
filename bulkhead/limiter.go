package bulkhead

import (
	"math"
	"time"
)

// limiter computes an adaptive limit from completed calls. Its methods run
// under the bulkhead's mutex.
type limiter interface {
	// sample records a call that took rtt, started at start and ended at
	// now (offsets from the bulkhead's epoch), with inflight calls in
	// flight once it started, and returns the new limit.
	sample(rtt, start, now time.Duration, inflight int, dropped bool) int
}

func newLimiter(cfg Config) limiter {
	a := cfg.Adaptive
	switch a.Algorithm {
	case AIMD:
		return &aimd{
			limit: float64(cfg.MaxConcurrent), min: float64(a.MinLimit), max: float64(a.MaxLimit),
			backoff: a.Backoff, slowCall: a.SlowCall, lastCut: -1,
		}
	case Gradient:
		return &gradient{
			limit: float64(cfg.MaxConcurrent), min: float64(a.MinLimit), max: float64(a.MaxLimit),
			tolerance: a.Tolerance, smoothing: a.Smoothing, queueSize: float64(a.QueueSize),
			probeInterval: a.ProbeInterval, baseline: math.Inf(1),
		}
	}
	return nil
}

// aimd is additive increase, multiplicative decrease: the limit grows by
// one per limit's worth of normal completions while the bulkhead is in
// use, and shrinks by the backoff factor on a drop, at most once per
// window: drops of calls that started before the last cut are the same
// congestion event and are ignored.
type aimd struct {
	limit, min, max float64
	backoff         float64
	slowCall        time.Duration
	lastCut         time.Duration
}

func (a *aimd) sample(rtt, start, now time.Duration, inflight int, dropped bool) int {
	if a.slowCall > 0 && rtt > a.slowCall {
		dropped = true
	}
	switch {
	case dropped:
		if start > a.lastCut {
			a.limit = max(a.min, a.limit*a.backoff)
			a.lastCut = now
		}
	case float64(inflight)*2 >= a.limit:
		// Grow only when the limit is what holds calls back, not when
		// the caller sends little.
		a.limit = min(a.max, a.limit+1/a.limit)
	}
	return int(a.limit)
}

// gradient moves the limit toward limit × tolerance × baseline / latency +
// queueSize, smoothed, once per window of calls. A window holds as many
// calls as the limit (at least minWindow): about one round trip, so that
// each step sees the effect of the one before, as TCP does per round trip.
// Latency is the window's mean; baseline the lowest window mean since the
// last probe.
//
// Netflix's Gradient2 takes a long-term average of latency as its
// baseline, which rises under sustained overload and lets the limit creep
// up with it. Here the baseline only falls between probes; every
// probeInterval calls the concurrency is halved until a few calls that
// started at that lower concurrency have been measured, their mean latency
// becomes the new baseline (so a dependency that really got slower is
// followed), and the limit is restored.
type gradient struct {
	limit, min, max float64
	tolerance       float64
	smoothing       float64
	queueSize       float64
	probeInterval   int

	baseline float64 // nanoseconds; +Inf before the first window
	samples  int     // calls since the last probe

	windowSum      float64 // rtt total of the current window, nanoseconds
	windowCount    int
	windowInflight int // most calls in flight seen in the window
	lastInflight   int // windowInflight of the last complete window

	probing    bool
	probeLimit float64
	saved      float64 // the limit to restore after the probe
	probeSum   float64 // rtt total of calls started at probe concurrency
	probeGood  int     // such calls measured
	probeSeen  int     // calls completed during the probe
}

// minWindow is the fewest calls a gradient window holds.
const minWindow = 10

// probeCalls is how many calls at probe concurrency a probe measures.
const probeCalls = 5

func (g *gradient) sample(rtt, _, _ time.Duration, inflight int, _ bool) int {
	r := float64(max(rtt, 1))
	if g.probing {
		g.probe(r, inflight)
		return int(g.limit)
	}
	g.samples++
	if g.samples >= g.probeInterval {
		g.startProbe()
		return int(g.limit)
	}
	g.windowSum += r
	g.windowCount++
	g.windowInflight = max(g.windowInflight, inflight)
	if g.windowCount < max(minWindow, int(g.limit)) {
		return int(g.limit)
	}
	latency := g.windowSum / float64(g.windowCount)
	busy := float64(g.windowInflight) >= g.limit/2
	g.lastInflight = g.windowInflight
	g.windowSum, g.windowCount, g.windowInflight = 0, 0, 0
	g.baseline = min(g.baseline, latency)

	gradient := min(max(g.tolerance*g.baseline/latency, 0.5), 1)
	if gradient == 1 && !busy {
		return int(g.limit) // the caller sends little: no evidence to grow on
	}
	target := g.limit*gradient + g.queueSize
	g.limit = min(max(g.limit*(1-g.smoothing)+target*g.smoothing, g.min), g.max)
	return int(g.limit)
}

// startProbe halves the concurrency actually seen, not the limit: a limit
// far above the demand would otherwise be halved to no effect, and the
// probe would measure the loaded latency as the baseline.
func (g *gradient) startProbe() {
	g.probing = true
	g.saved = g.limit
	seen := g.limit
	if g.lastInflight > 0 {
		seen = min(seen, float64(g.lastInflight))
	}
	g.probeLimit = max(g.min, math.Floor(seen/2))
	g.limit = g.probeLimit
	g.probeSum, g.probeGood, g.probeSeen = 0, 0, 0
}

func (g *gradient) probe(rtt float64, inflight int) {
	g.probeSeen++
	if float64(inflight) <= g.probeLimit {
		g.probeSum += rtt
		g.probeGood++
	}
	// A probe that cannot bring concurrency down gives up after a few
	// windows and keeps the old baseline.
	if g.probeGood < probeCalls && float64(g.probeSeen) <= 4*g.saved+probeCalls {
		return
	}
	if g.probeGood > 0 {
		g.baseline = g.probeSum / float64(g.probeGood)
	}
	g.probing = false
	g.limit = g.saved
	g.samples = 0
	g.windowSum, g.windowCount, g.windowInflight = 0, 0, 0
}
