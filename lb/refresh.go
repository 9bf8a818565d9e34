package lb

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// refreshLocked ends expired ejections, advances slow-start ramps,
// publishes a new snapshot if what picks should see changed, and arms the
// timer for the next scheduled change. It returns the hooks to run once
// b.mu is released.
func (b *Balancer) refreshLocked(now time.Time) []event {
	events, next := b.advanceLocked(now)
	pickable, failOpen := b.pickableLocked()
	raw, warming := b.effectiveWeightsLocked(pickable, now)
	if warming {
		next = earliest(next, now.Add(max(b.cfg.SlowStart.Window/rampSteps, time.Millisecond)))
	}
	s := &snapshot{members: pickable, raw: raw, failOpen: failOpen}
	if b.cfg.Policy == ConsistentHash {
		s.ring, s.avail = b.ring, b.ringAvailability(pickable)
	}
	if !b.snap.Load().sameAs(s) {
		b.buildSchedule(s)
		s.next.Store(rand.Uint64N(max(s.cycle.d, 1)))
		b.snap.Store(s)
	}
	b.armTimerLocked(now, next)
	return events
}

// advanceLocked returns endpoints whose ejection has expired to rotation
// and ends finished ramps. It returns the events to report and when the
// next ejection or ramp ends (zero if none is pending).
func (b *Balancer) advanceLocked(now time.Time) (events []event, next time.Time) {
	window := b.cfg.SlowStart.Window
	for _, m := range b.members {
		if m.ejected && !now.Before(m.ejectedUntil) {
			m.ejected = false
			m.returnedAt = now
			m.failures.Store(0)
			if window > 0 {
				m.warmFrom = now
			}
			events = append(events, event{kind: eventReturn, ep: m.endpoint()})
		}
		if m.ejected {
			next = earliest(next, m.ejectedUntil)
		}
		if !m.warmFrom.IsZero() {
			if end := m.warmFrom.Add(window); now.Before(end) {
				next = earliest(next, end)
			} else {
				m.warmFrom = time.Time{}
			}
		}
	}
	return events, next
}

// earliest returns the earlier of two times, a zero time meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// pickableLocked returns the endpoints in rotation: those neither ejected nor
// unhealthy. If there are none, it fails open with every endpoint not
// ejected (the ejection cap leaves at least one).
func (b *Balancer) pickableLocked() (pickable []*member, failOpen bool) {
	pickable = make([]*member, 0, len(b.members))
	for _, m := range b.members {
		if !m.ejected && !m.unhealthy {
			pickable = append(pickable, m)
		}
	}
	if len(pickable) > 0 || len(b.members) == 0 {
		return pickable, false
	}
	for _, m := range b.members {
		if !m.ejected {
			pickable = append(pickable, m)
		}
	}
	return pickable, true
}

// effectiveWeightsLocked returns the weights picks should follow now, and
// whether any endpoint is warming up.
func (b *Balancer) effectiveWeightsLocked(pickable []*member, now time.Time) (raw []uint64, warming bool) {
	raw = make([]uint64, len(pickable))
	for i, m := range pickable {
		raw[i] = m.weight
		if b.cfg.Policy == RoundRobin {
			raw[i] = 1
		}
		warming = warming || !m.warmFrom.IsZero()
	}
	if !warming {
		return raw, false
	}
	// Fixed point with three decimals keeps ramps smooth; reduceWeights
	// narrows the result again.
	for i, m := range pickable {
		if m.warmFrom.IsZero() {
			raw[i] *= 1000
		} else {
			raw[i] = max(1, uint64(float64(raw[i])*1000*b.rampFactor(now.Sub(m.warmFrom))+0.5))
		}
	}
	return raw, true
}

// rampSteps is how many times a slow-start ramp is re-evaluated.
const rampSteps = 20

// rampFactor is the share of its weight an endpoint warming up for el has.
func (b *Balancer) rampFactor(el time.Duration) float64 {
	s := b.cfg.SlowStart
	f := float64(el) / float64(s.Window)
	if s.Aggression != 1 {
		f = math.Pow(f, 1/s.Aggression)
	}
	return min(1, max(f, s.MinPercent/100))
}

// ringAvailability marks which ring members are pickable.
func (b *Balancer) ringAvailability(pickable []*member) []bool {
	if b.ring == nil {
		return nil
	}
	in := make(map[*member]bool, len(pickable))
	for _, m := range pickable {
		in[m] = true
	}
	avail := make([]bool, len(b.ring.members))
	for i, m := range b.ring.members {
		avail[i] = in[m]
	}
	return avail
}

// buildSchedule fills in how s picks among its members by weight.
func (b *Balancer) buildSchedule(s *snapshot) {
	if b.cfg.Policy == ConsistentHash || len(s.members) == 0 {
		return
	}
	reduced, total := reduceWeights(s.raw, b.cfg.MaxSchedule)
	s.weights = make([]uint32, len(reduced))
	equal := true
	for i, w := range reduced {
		s.weights[i] = uint32(w)
		equal = equal && w == reduced[0]
	}
	if equal {
		s.cycle = newCycleCounter(uint64(len(s.members)))
		return
	}
	s.sched = pfairSchedule(reduced, total)
	s.cycle = newCycleCounter(total)
}

// sameAs reports whether picks from s would behave exactly as from old, so
// old (and its position in the cycle) can stay. s need not be built yet.
func (old *snapshot) sameAs(s *snapshot) bool {
	return old.ring == s.ring && old.failOpen == s.failOpen &&
		slices.Equal(old.members, s.members) && slices.Equal(old.raw, s.raw) && slices.Equal(old.avail, s.avail)
}

// armTimerLocked makes the timer fire at next, or stops it if next is zero.
func (b *Balancer) armTimerLocked(now, next time.Time) {
	if next.IsZero() {
		if b.timer != nil && !b.timerAt.IsZero() {
			b.timer.Stop()
			b.timerAt = time.Time{}
		}
		return
	}
	if next.Equal(b.timerAt) {
		return
	}
	b.timerAt = next
	if b.timer == nil {
		b.timer = time.AfterFunc(next.Sub(now), b.onTimer)
		return
	}
	b.timer.Reset(next.Sub(now))
}

func (b *Balancer) onTimer() {
	b.mu.Lock()
	b.timerAt = time.Time{}
	events := b.refreshLocked(time.Now())
	b.mu.Unlock()
	b.emit(events)
}
