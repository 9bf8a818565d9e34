package lb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Balancer picks endpoints for requests. Create one with New, give it
// endpoints with Update, then call Pick (or PickKey) for each request and
// Done on what it returns when the request ends. All methods are safe for
// concurrent use; picks never take a lock and do not allocate.
//
// A Balancer starts no goroutine of its own. While an endpoint is ejected or
// warming up it keeps one runtime timer armed (time.AfterFunc) that brings
// the pick schedule up to date at the next change, so picks never read the
// clock; the timer stops once nothing is pending.
type Balancer struct {
	cfg        Config // with defaults applied
	isFailure  func(error) bool
	ejectAfter int32 // consecutive failures that eject; 0 = ejection off
	loadAware  bool  // picks count requests in flight
	tau        float64
	epoch      time.Time // PeakEWMA measures time as nanoseconds since epoch

	snap atomic.Pointer[snapshot] // what picks read; replaced, never mutated

	mu      sync.Mutex // guards everything below and the members' guarded fields
	members []*member  // current endpoints, in Update order
	byAddr  map[string]*member
	ring    *ring // ConsistentHash ring over members
	timer   *time.Timer
	timerAt time.Time // when timer fires; zero if stopped
}

// New returns a Balancer with no endpoints. It panics with an "lb: ..."
// message if cfg.Validate fails; validate configurations read from files
// first.
func New(cfg Config) *Balancer {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	c := cfg.withDefaults()
	b := &Balancer{
		cfg:        c,
		isFailure:  c.IsFailure,
		ejectAfter: int32(min(c.Ejection.ConsecutiveFailures, 1<<30)),
		loadAware:  c.Policy == LeastLoaded || c.Policy == PeakEWMA,
		tau:        float64(c.DecayTime),
		epoch:      time.Now(),
		byAddr:     map[string]*member{},
	}
	if b.isFailure == nil {
		b.isFailure = defaultIsFailure
	}
	b.snap.Store(&snapshot{})
	return b
}

// member is one endpoint and the state that survives Updates keeping its
// address.
type member struct {
	addr         string // immutable: members are keyed by address
	scheme, host string // immutable, split from addr for Transport
	info         atomic.Pointer[Endpoint]

	inflight atomic.Int64  // picked and not Done (load-aware policies)
	failures atomic.Int32  // consecutive failures reported to Done
	cost     atomic.Uint64 // PeakEWMA estimate in ns, as float64 bits
	stamp    atomic.Int64  // when cost was last updated; 0 = never

	// Guarded by Balancer.mu.
	weight       uint64
	removed      bool
	ejected      bool
	ejectedUntil time.Time
	ejections    int       // times ejected, less the forgiven ones
	returnedAt   time.Time // last return from ejection
	warmFrom     time.Time // slow start origin; zero when at full weight
	unhealthy    bool
	checkFails   int
	checkPasses  int
}

func newMember(e Endpoint) *member {
	m := &member{addr: e.Addr, weight: e.weight()}
	m.scheme, m.host, _ = parseAddr(e.Addr) // checked by Update
	ep := e.clone()
	m.info.Store(&ep)
	return m
}

func (m *member) endpoint() Endpoint { return *m.info.Load() }

// snapshot is an immutable view of the pickable endpoints, except for the
// pick counter.
type snapshot struct {
	_    [64]byte // keep the contended counter on its own cache line
	next atomic.Uint64
	_    [56]byte

	members []*member // pickable endpoints
	weights []uint32  // their reduced effective weights
	sched   []uint16  // one cycle of picks; nil when weights are equal
	cycle   divisor   // len(sched), or len(members) when sched is nil
	raw     []uint64  // effective weights before reduction, to detect changes

	ring  *ring  // ConsistentHash
	avail []bool // ConsistentHash: which ring members are pickable

	failOpen bool // every endpoint is unhealthy, so all are used
}

// Update replaces the endpoint set. Endpoints keep their state (in-flight
// counts, ejection, latency, health) across Updates that keep their Addr;
// endpoints new to the set start fresh, warming up if slow start is on and
// the set already had an available endpoint. Picks running concurrently
// see either the old or the new set, never a mix.
//
// Update checks every endpoint first and changes nothing if one is bad: it
// returns ErrTooManyEndpoints beyond Config.MaxEndpoints, and an
// *EndpointError wrapping ErrInvalidEndpoint for an endpoint with an empty,
// overlong or duplicate Addr, a weight outside 0..MaxWeight, or oversized
// Zone or Meta. An empty set is allowed: Pick then returns ErrNoEndpoints.
func (b *Balancer) Update(eps []Endpoint) error {
	if len(eps) > b.cfg.MaxEndpoints {
		return fmt.Errorf("%w: %d given, Config.MaxEndpoints is %d", ErrTooManyEndpoints, len(eps), b.cfg.MaxEndpoints)
	}
	seen := make(map[string]int, len(eps))
	for i, e := range eps {
		reason := checkEndpoint(e)
		if j, dup := seen[e.Addr]; dup && reason == "" {
			reason = fmt.Sprintf("duplicate of endpoint %d", j)
		}
		if reason != "" {
			addr := e.Addr
			if len(addr) > MaxAddrLen {
				addr = addr[:MaxAddrLen]
			}
			return &EndpointError{Index: i, Addr: addr, Reason: reason}
		}
		seen[e.Addr] = i
	}

	b.mu.Lock()
	now := time.Now()
	warmNew := b.cfg.SlowStart.Window > 0 && len(b.snap.Load().members) > 0
	members := make([]*member, len(eps))
	byAddr := make(map[string]*member, len(eps))
	ringChanged := len(eps) != len(b.members)
	for i, e := range eps {
		m := b.byAddr[e.Addr]
		if m == nil {
			m = newMember(e)
			if warmNew {
				m.warmFrom = now
			}
			ringChanged = true
		} else {
			if !ringChanged && (m.weight != e.weight() || b.members[i] != m) {
				ringChanged = true
			}
			m.weight = e.weight()
			ep := e.clone()
			m.info.Store(&ep)
		}
		members[i] = m
		byAddr[e.Addr] = m
	}
	for _, m := range b.members {
		if byAddr[m.addr] != m {
			m.removed = true
		}
	}
	b.members, b.byAddr = members, byAddr
	if b.cfg.Policy == ConsistentHash && (ringChanged || b.ring == nil) {
		b.ring = buildRing(members, b.cfg.VirtualNodes)
	}
	events := b.refreshLocked(now)
	b.mu.Unlock()
	b.emit(events)
	return nil
}

// refreshLocked ends expired ejections, advances slow-start ramps,
// publishes a new snapshot if what picks should see changed, and arms the
// timer for the next scheduled change. It returns the hooks to run once
// b.mu is released.
func (b *Balancer) refreshLocked(now time.Time) []event {
	var events []event
	window := b.cfg.SlowStart.Window
	var nextEvent time.Time
	soonest := func(t time.Time) {
		if nextEvent.IsZero() || t.Before(nextEvent) {
			nextEvent = t
		}
	}
	pickable := make([]*member, 0, len(b.members))
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
			soonest(m.ejectedUntil)
		}
		if !m.warmFrom.IsZero() {
			if now.Sub(m.warmFrom) >= window {
				m.warmFrom = time.Time{}
			} else {
				soonest(m.warmFrom.Add(window))
			}
		}
		if !m.ejected && !m.unhealthy {
			pickable = append(pickable, m)
		}
	}
	failOpen := false
	if len(pickable) == 0 && len(b.members) > 0 {
		failOpen = true
		for _, m := range b.members {
			if !m.ejected {
				pickable = append(pickable, m)
			}
		}
	}

	raw := make([]uint64, len(pickable))
	warming := false
	for i, m := range pickable {
		raw[i] = m.weight
		if b.cfg.Policy == RoundRobin {
			raw[i] = 1
		}
		if !m.warmFrom.IsZero() {
			warming = true
		}
	}
	if warming {
		// Fixed point with three decimals so fractional ramps stay exact
		// enough; reduceWeights narrows the result again.
		for i, m := range pickable {
			if m.warmFrom.IsZero() {
				raw[i] *= 1000
			} else {
				raw[i] = max(1, uint64(float64(raw[i])*1000*b.rampFactor(now.Sub(m.warmFrom))+0.5))
			}
		}
		soonest(now.Add(max(window/rampSteps, time.Millisecond)))
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
	b.armTimerLocked(now, nextEvent)
	return events
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
		s.cycle = newDivisor(uint64(len(s.members)))
		return
	}
	s.sched = pfairSchedule(reduced, total)
	s.cycle = newDivisor(total)
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
	n := len(b.members)
	limit := min(max(n*e.MaxPercent/100, 1), n-1)
	if ejected >= limit || othersUp == 0 {
		b.mu.Unlock()
		return
	}
	if m.ejections > 0 && !m.returnedAt.IsZero() {
		forgiven := int(min(now.Sub(m.returnedAt)/e.BaseTime, 1<<20))
		m.ejections = max(0, m.ejections-forgiven)
	}
	m.ejections++
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
