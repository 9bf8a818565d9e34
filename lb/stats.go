package lb

import (
	"math"
	"time"
)

// Stats is a snapshot of a Balancer for metrics and debugging.
type Stats struct {
	Policy    Policy // as configured
	Endpoints int    // in the set
	Available int    // in rotation
	Ejected   int    // out by passive outlier ejection
	Unhealthy int    // out by active health checks
	Warming   int    // in rotation with a slow-start weight
	// FailOpen is true when every endpoint is unhealthy, so the balancer
	// uses them all (except ejected ones) rather than none.
	FailOpen bool
	// ScheduleLen is the length of the precomputed pick cycle: 0 when the
	// effective weights are equal (picks rotate) or under ConsistentHash.
	ScheduleLen int
	// PerEndpoint lists the endpoints in Update order.
	PerEndpoint []EndpointStats
}

// EndpointStats describes one endpoint.
type EndpointStats struct {
	Addr   string // as given to Update
	Weight int    // as configured (zero configured reads 1)
	// WeightFactor is the fraction of Weight in force: below 1 while
	// warming up, 0 while out of rotation.
	WeightFactor float64
	// InFlight counts requests picked and not yet Done; tracked under
	// LeastLoaded and PeakEWMA only.
	InFlight            int64
	ConsecutiveFailures int       // failures reported to Done since the last success
	Ejected             bool      // out of rotation by outlier ejection
	EjectedUntil        time.Time // zero unless Ejected
	Ejections           int       // times ejected, less those forgiven
	Healthy             bool      // by active checks; true without them
	// Latency is the peak-EWMA latency estimate, decayed to now; zero
	// before the first sample, and unless the policy is PeakEWMA or
	// Config.RecordLatency is set.
	Latency time.Duration
}

// Stats returns a snapshot of the balancer's state. It also brings
// expired ejections and slow-start ramps up to date.
func (b *Balancer) Stats() Stats {
	b.mu.Lock()
	now := time.Now()
	events := b.refreshLocked(now)
	s := b.snap.Load()
	st := Stats{
		Policy:      b.cfg.Policy,
		Endpoints:   len(b.members),
		Available:   len(s.members),
		FailOpen:    s.failOpen,
		ScheduleLen: len(s.sched),
		PerEndpoint: make([]EndpointStats, len(b.members)),
	}
	inRotation := make(map[*member]bool, len(s.members))
	for _, m := range s.members {
		inRotation[m] = true
	}
	tick := b.now()
	for i, m := range b.members {
		e := EndpointStats{
			Addr:                m.addr,
			Weight:              int(m.weight),
			InFlight:            m.inflight.Load(),
			ConsecutiveFailures: int(m.failures.Load()),
			Ejected:             m.ejected,
			Ejections:           b.ejectionsLocked(m, now),
			Healthy:             !m.unhealthy,
		}
		if m.ejected {
			st.Ejected++
			e.EjectedUntil = m.ejectedUntil
		}
		if m.unhealthy {
			st.Unhealthy++
		}
		if inRotation[m] {
			e.WeightFactor = 1
			if !m.warmFrom.IsZero() {
				st.Warming++
				e.WeightFactor = b.rampFactor(now.Sub(m.warmFrom))
			}
		}
		if stamp := m.stamp.Load(); stamp != 0 {
			e.Latency = time.Duration(math.Float64frombits(m.cost.Load()) * decay(tick-stamp, b.tau))
		}
		st.PerEndpoint[i] = e
	}
	b.mu.Unlock()
	b.emit(events)
	return st
}
