package lb

import (
	"fmt"
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
// the pick schedule up to date at the next change, so picks need not read
// the clock to notice it; the timer stops once nothing is pending.
type Balancer struct {
	cfg        Config // with defaults applied
	isFailure  func(error) bool
	ejectAfter int32 // consecutive failures that eject; 0 = ejection off
	loadAware  bool  // picks count requests in flight
	timed      bool  // picks record when they were made, for latency
	doneWork   bool  // Done has something to do even on success
	tau        float64
	penalty    int64     // Config.FailurePenalty in ns
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
		timed:      c.Policy == PeakEWMA || c.RecordLatency,
		tau:        float64(c.DecayTime),
		penalty:    int64(c.FailurePenalty),
		epoch:      time.Now(),
		byAddr:     map[string]*member{},
	}
	if b.isFailure == nil {
		b.isFailure = defaultIsFailure
	}
	b.doneWork = b.loadAware || b.timed || b.ejectAfter > 0
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
	joinedAt     time.Time // when an Update added the endpoint
	unhealthy    bool
	checkFails   int
	checkPasses  int
}

// hasEstablishedLocked reports whether slow start is on and some available
// endpoint has served at full weight since at least one Window ago: only
// then do new endpoints have established ones to take load from gently.
func (b *Balancer) hasEstablishedLocked(now time.Time) bool {
	window := b.cfg.SlowStart.Window
	if window <= 0 {
		return false
	}
	for _, m := range b.members {
		if !m.ejected && !m.unhealthy && m.warmFrom.IsZero() && now.Sub(m.joinedAt) >= window {
			return true
		}
	}
	return false
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

	members []*member    // pickable endpoints
	weights []uint32     // their reduced effective weights
	sched   []uint16     // one cycle of picks; nil when weights are equal
	cycle   cycleCounter // over len(sched), or len(members) when sched is nil
	raw     []uint64     // effective weights before reduction, to detect changes

	ring  *ring  // ConsistentHash
	avail []bool // ConsistentHash: which ring members are pickable

	failOpen bool // every endpoint is unhealthy, so all are used
}

// Update replaces the endpoint set. Endpoints keep their state (in-flight
// counts, ejection, latency, health) across Updates that keep their Addr;
// endpoints new to the set start fresh, warming up if slow start is on and
// the set already holds an established endpoint: one at full weight that
// joined at least SlowStart.Window ago. So a fleet that starts together,
// even one instance per Update as discovery reports them, starts at full
// weight everywhere, while an instance joining a running fleet ramps up.
// Picks running concurrently
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
	warmNew := b.hasEstablishedLocked(now)
	members := make([]*member, len(eps))
	byAddr := make(map[string]*member, len(eps))
	// The ring depends on the set and the weights, not on their order.
	ringChanged := len(eps) != len(b.members)
	for i, e := range eps {
		m := b.byAddr[e.Addr]
		if m == nil {
			m = newMember(e)
			m.joinedAt = now
			if warmNew {
				m.warmFrom = now
			}
			ringChanged = true
		} else {
			ringChanged = ringChanged || m.weight != e.weight()
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
	b.capEjectionsLocked(now)
	events := b.refreshLocked(now)
	b.mu.Unlock()
	b.emit(events)
	return nil
}
