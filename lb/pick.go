package lb

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Pick is the endpoint chosen for one request. Call Done exactly once when
// the request ends; a Pick is a small value, so passing it around and
// calling Done allocate nothing. The zero Pick names no endpoint and its
// Done does nothing.
type Pick struct {
	b     *Balancer
	m     *member
	start int64 // when the pick was made, in ns since b.epoch; 0 if not timed
}

// Addr returns the picked endpoint's address ("" for the zero Pick).
func (p Pick) Addr() string {
	if p.m == nil {
		return ""
	}
	return p.m.addr
}

// Endpoint returns the picked endpoint as last given to Update. Treat its
// Meta as read-only.
func (p Pick) Endpoint() Endpoint {
	if p.m == nil {
		return Endpoint{}
	}
	return p.m.endpoint()
}

// Done reports how the request ended: nil for success, else its error.
// Errors for which Config.IsFailure is true count toward ejection (and
// keep the latency estimate from falling); other errors, by default only
// context.Canceled, are neutral. Under PeakEWMA or Config.RecordLatency,
// Done also records the time since the pick as a latency sample. Calling
// Done after the endpoint left the set is harmless.
func (p Pick) Done(err error) {
	// Small enough to inline: a plain round-robin success costs nothing.
	if p.m != nil && (err != nil || p.b.doneWork) {
		p.done(err)
	}
}

func (p Pick) done(err error) {
	m, b := p.m, p.b
	if b.loadAware {
		m.inflight.Add(-1)
	}
	failed := err != nil && b.isFailure(err)
	if p.start != 0 && (err == nil || failed) {
		now := b.now()
		rtt := now - p.start
		if failed {
			rtt = max(rtt, b.penalty)
		}
		m.observe(now, rtt, b.tau, failed)
	}
	if b.ejectAfter == 0 {
		return
	}
	if !failed {
		if err == nil && m.failures.Load() != 0 {
			m.failures.Store(0)
		}
		return
	}
	if m.failures.Add(1) >= b.ejectAfter {
		b.eject(m)
	}
}

// Pick chooses an endpoint for a request by the configured Policy. It
// returns ErrNoEndpoints if the set is empty and ErrKeyRequired under
// ConsistentHash. It takes no lock and does not allocate.
func (b *Balancer) Pick() (Pick, error) {
	s := b.snap.Load()
	policy := b.cfg.Policy
	if len(s.members) == 0 || policy == ConsistentHash {
		if policy == ConsistentHash {
			return Pick{}, ErrKeyRequired
		}
		return Pick{}, ErrNoEndpoints
	}
	switch policy {
	case LeastLoaded:
		return b.pickLeastLoaded(s), nil
	case PeakEWMA:
		return b.pickPeakEWMA(s), nil
	}
	i := s.cycle.next(&s.next)
	if s.sched != nil {
		i = uint64(s.sched[i])
	}
	m := s.members[i]
	if b.timed {
		return Pick{b: b, m: m, start: b.now()}, nil
	}
	return Pick{b: b, m: m}, nil
}

// picked returns the Pick of m, timed if latency is recorded.
func (b *Balancer) picked(m *member) Pick {
	if b.timed {
		return Pick{b: b, m: m, start: b.now()}
	}
	return Pick{b: b, m: m}
}

// PickKey chooses the endpoint for key under ConsistentHash: the same key
// maps to the same endpoint while that endpoint is available. Under other
// policies it ignores key and behaves as Pick. It returns ErrNoEndpoints
// if the set is empty.
func (b *Balancer) PickKey(key string) (Pick, error) {
	if b.cfg.Policy != ConsistentHash {
		return b.Pick()
	}
	s := b.snap.Load()
	if s.ring == nil || len(s.members) == 0 {
		return Pick{}, ErrNoEndpoints
	}
	m := s.ring.lookup(xxhash.Sum64String(key), s.avail)
	if m == nil {
		return Pick{}, ErrNoEndpoints
	}
	return b.picked(m), nil
}

// candidates draws two endpoint indexes for the load-aware policies from
// the random r, each with probability proportional to its effective weight,
// trying to make them distinct.
func (s *snapshot) candidates(r uint64) (int, int) {
	hi, lo := r>>32, r&math.MaxUint32
	if s.sched == nil {
		n := uint64(len(s.members))
		i := hi * n >> 32
		j := lo * (n - 1) >> 32
		if j >= i && n > 1 {
			j++
		}
		return int(i), int(j)
	}
	span := uint64(len(s.sched))
	i, j := s.sched[hi*span>>32], s.sched[lo*span>>32]
	if i == j {
		// One redraw, from bits of r scrambled by an odd multiplier (a
		// bijection, so still uniform): a heavy endpoint may still meet
		// itself, which only happens in proportion to its weight.
		j = s.sched[(r*0x9e3779b97f4a7c15>>32)*span>>32]
	}
	return int(i), int(j)
}

// maxLoad bounds the in-flight counts compared, so that the products below
// cannot overflow whatever callers do with Done.
const maxLoad = 1 << 40

func (b *Balancer) pickLeastLoaded(s *snapshot) Pick {
	i, j := s.candidates(rand.Uint64())
	la, lc := s.members[i].inflight.Load(), s.members[j].inflight.Load()
	var cWins bool
	if s.sched == nil {
		cWins = lc < la
	} else {
		// c wins if (lc+1)/wc < (la+1)/wa.
		la, lc := uint64(min(max(la, 0), maxLoad)), uint64(min(max(lc, 0), maxLoad))
		cWins = (lc+1)*uint64(s.weights[i]) < (la+1)*uint64(s.weights[j])
	}
	if cWins { // an index select, which compiles without a branch
		i = j
	}
	a := s.members[i]
	a.inflight.Add(1)
	if b.timed {
		return Pick{b: b, m: a, start: b.now()}
	}
	return Pick{b: b, m: a}
}

func (b *Balancer) pickPeakEWMA(s *snapshot) Pick {
	i, j := s.candidates(rand.Uint64())
	now := b.now()
	a, c := s.members[i], s.members[j]
	if c.peakLoad(now, b.tau, s.weights[j]) < a.peakLoad(now, b.tau, s.weights[i]) {
		a = c
	}
	a.inflight.Add(1)
	return Pick{b: b, m: a, start: now}
}

// now returns a monotonic time in ns since b.epoch, never 0.
func (b *Balancer) now() int64 {
	return int64(time.Since(b.epoch)) + 1
}

// unmeasuredPenalty is the cost of an endpoint that has no latency sample
// yet and already has a request in flight: it waits for that first answer
// before getting more (Finagle's rule).
const unmeasuredPenalty = 1e18

// peakLoad is the PeakEWMA cost of sending one more request to m: its
// latency estimate, decayed since the last sample, times its requests in
// flight plus one, per unit of weight.
func (m *member) peakLoad(now int64, tau float64, weight uint32) float64 {
	pending := float64(min(max(m.inflight.Load(), 0), maxLoad))
	stamp := m.stamp.Load()
	if stamp == 0 {
		if pending == 0 {
			return 0
		}
		return unmeasuredPenalty + pending
	}
	c := math.Float64frombits(m.cost.Load()) * decay(now-stamp, tau)
	return c * (pending + 1) / float64(weight)
}

// decay returns e^(-el/tau), the weight left to a measurement el ns old.
// Picks and completions of a busy endpoint are nanoseconds to milliseconds
// apart, far below tau, where a Taylor polynomial is exact to 1e-10 and
// several times cheaper than math.Exp.
func decay(el int64, tau float64) float64 {
	if el <= 0 {
		return 1
	}
	x := float64(el) / tau
	if x < 1e-3 {
		return 1 - x*(1-x*0.5)
	}
	return math.Exp(-x)
}

// observe folds a latency sample into m's estimate: a sample above the
// estimate replaces it (the peak), a lower one is averaged in with the
// weight of the time since the previous sample. A failure never lowers it,
// and its sample is at least Config.FailurePenalty (see Pick.done).
func (m *member) observe(now, rtt int64, tau float64, failed bool) {
	sample := float64(max(rtt, 0))
	prev := m.stamp.Swap(now)
	keep := 0.0 // weight of the old estimate
	if prev != 0 {
		keep = decay(now-prev, tau)
	}
	for {
		old := m.cost.Load()
		c := math.Float64frombits(old)
		next := c*keep + sample*(1-keep)
		switch {
		case prev == 0:
			next = sample
		case failed:
			next = max(c, sample)
		case sample > c:
			next = sample
		}
		if m.cost.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}
