package lb

import (
	"slices"
	"time"
)

// eject takes m out of rotation after its failures reached the threshold,
// unless the ejection cap or the last-endpoint rule forbids it.
func (b *Balancer) eject(m *member) {
	b.mu.Lock()
	if m.removed || m.ejected || m.failures.Load() < b.ejectAfter {
		b.mu.Unlock()
		return
	}
	now := time.Now()
	e := b.cfg.Ejection
	ejected, othersUp := 0, 0
	for _, o := range b.members {
		if o.ejected {
			ejected++
		} else if o != m && !o.unhealthy {
			othersUp++
		}
	}
	if ejected >= b.ejectionLimitLocked() || othersUp == 0 {
		b.mu.Unlock()
		return
	}
	m.ejections = b.ejectionsLocked(m, now) + 1
	d := e.MaxTime
	if time.Duration(m.ejections) <= e.MaxTime/e.BaseTime {
		d = min(e.BaseTime*time.Duration(m.ejections), e.MaxTime)
	}
	m.ejected = true
	m.ejectedUntil = now.Add(d)
	m.warmFrom = time.Time{}
	events := append([]event{{kind: eventEject, ep: m.endpoint(), d: d}}, b.refreshLocked(now)...)
	b.mu.Unlock()
	b.emit(events)
}

// ejectionsLocked returns how many of m's ejections still count at now:
// one is forgiven for every BaseTime m has spent back in rotation.
func (b *Balancer) ejectionsLocked(m *member, now time.Time) int {
	if m.ejected || m.ejections == 0 || m.returnedAt.IsZero() {
		return m.ejections
	}
	forgiven := min(now.Sub(m.returnedAt)/b.cfg.Ejection.BaseTime, 1<<20)
	return max(0, m.ejections-int(forgiven))
}

// ejectionLimitLocked is how many endpoints may be ejected at once:
// MaxPercent of them, at least one if there are two or more, and never all.
func (b *Balancer) ejectionLimitLocked() int {
	n := len(b.members)
	return min(max(n*b.cfg.Ejection.MaxPercent/100, 1), n-1)
}

// capEjectionsLocked returns ejected endpoints to rotation, those due back
// first, until no more than the limit are out. An Update that removes
// endpoints lowers the limit below the ejections already made.
func (b *Balancer) capEjectionsLocked(now time.Time) {
	var ejected []*member
	for _, m := range b.members {
		if m.ejected {
			ejected = append(ejected, m)
		}
	}
	excess := len(ejected) - max(b.ejectionLimitLocked(), 0)
	if excess <= 0 {
		return
	}
	slices.SortFunc(ejected, func(x, y *member) int { return x.ejectedUntil.Compare(y.ejectedUntil) })
	for _, m := range ejected[:excess] {
		m.ejectedUntil = now // refreshLocked returns it, reporting OnReturn
	}
}

type eventKind int

const (
	eventEject eventKind = iota
	eventReturn
	eventHealth
)

type event struct {
	kind    eventKind
	ep      Endpoint
	d       time.Duration
	healthy bool
}

// emit runs the hooks for events; b.mu must not be held.
func (b *Balancer) emit(events []event) {
	log := b.cfg.Logger
	for _, e := range events {
		switch e.kind {
		case eventEject:
			if log != nil {
				log.Warn("lb: endpoint ejected", "addr", e.ep.Addr, "for", e.d)
			}
			if b.cfg.OnEject != nil {
				b.cfg.OnEject(e.ep, e.d)
			}
		case eventReturn:
			if log != nil {
				log.Info("lb: endpoint returned from ejection", "addr", e.ep.Addr)
			}
			if b.cfg.OnReturn != nil {
				b.cfg.OnReturn(e.ep)
			}
		case eventHealth:
			if log != nil {
				log.Info("lb: endpoint health changed", "addr", e.ep.Addr, "healthy", e.healthy)
			}
			if b.cfg.OnHealthChange != nil {
				b.cfg.OnHealthChange(e.ep, e.healthy)
			}
		}
	}
}
