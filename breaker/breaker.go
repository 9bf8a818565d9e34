package breaker

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The breaker's word packs what the lock-free paths need into one atomic
// uint64: the state, two flags, and the generation, which every transition
// increments. A Permit remembers the word it was admitted under, so a
// result that arrives after a transition is recognised and discarded.
const (
	stateBits = 3
	stateMask = 1<<stateBits - 1
	// cleanBit: closed, and the window holds no failures or slow calls, so
	// a success cannot trip anything.
	cleanBit = 1 << stateBits
	// plainBit: closed and no slow-call timing, so admission needs no
	// clock read.
	plainBit = cleanBit << 1
	// noopBit: clean, plain and a full count window, so a success changes
	// nothing at all and is not recorded.
	noopBit  = plainBit << 1
	genShift = stateBits + 3
)

// Breaker is a circuit breaker. It is safe for concurrent use; create it
// with New. See the package documentation for the state machine.
type Breaker struct {
	// Read by every call; written only on transitions and when the window
	// turns clean or dirty, so that readers on other cores keep their copy.
	word    atomic.Uint64
	openErr atomic.Pointer[OpenError] // rejection of the current open period

	// Immutable after New.
	cfg         Config // with defaults applied
	base        time.Time
	timed       bool  // a call reads the clock: slow-call threshold or time window
	slowNanos   int64 // Config.SlowCallDuration in nanoseconds, 0 if off
	slowRule    bool  // SlowCallRate > 0
	halfOpenErr *OpenError
	forcedErr   *OpenError

	_ [64]byte // keep the lock's writes off the cache line the hot path reads

	mu            sync.Mutex
	state         State
	gen           uint64
	win           window
	tw            *timeWindow // win when it is a time window, for the lock-free success path
	consecutive   int         // failures in a row in the closed state
	reopens       int         // failed half-open attempts in a row, for open-duration growth
	openUntil     int64       // end of the open period, nanoseconds since base
	timer         *time.Timer
	probes        int   // half-open probes in flight
	probeWins     int   // half-open probes that succeeded
	lastProbe     int64 // when the last probe was admitted, nanoseconds since base
	opens         uint64
	transitions   uint64
	pending       []transition // transitions not yet given to OnStateChange
	delivering    bool
	discarded     atomic.Uint64
	hasCallbacks  bool
	lastClockRead int64 // the latest time seen under the lock, keeps time monotone
}

type transition struct{ from, to State }

// New returns a closed breaker configured by cfg. It panics if
// cfg.Validate reports an error.
func New(cfg Config) *Breaker {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	c := cfg.withDefaults()
	b := &Breaker{
		cfg:          c,
		base:         time.Now(),
		timed:        c.SlowCallDuration > 0 || c.WindowDuration > 0,
		slowNanos:    int64(c.SlowCallDuration),
		slowRule:     c.SlowCallRate > 0,
		halfOpenErr:  &OpenError{Name: c.Name, State: StateHalfOpen},
		forcedErr:    &OpenError{Name: c.Name, State: StateForcedOpen},
		hasCallbacks: c.OnStateChange != nil,
	}
	if c.WindowDuration > 0 {
		b.tw = newTimeWindow(int64(c.WindowDuration)/int64(c.WindowBuckets), c.WindowBuckets)
		b.win = b.tw
	} else {
		b.win = newCountWindow(c.WindowSize)
	}
	b.storeWordLocked(0)
	return b
}

// Name returns Config.Name.
func (b *Breaker) Name() string { return b.cfg.Name }

// now returns the monotonic time in nanoseconds since the breaker was made.
func (b *Breaker) now() int64 { return int64(time.Since(b.base)) }

// storeWordLocked publishes state, generation and cleanliness to the
// lock-free paths.
func (b *Breaker) storeWordLocked(now int64) {
	w := b.gen<<genShift | uint64(b.state)
	if b.state == StateClosed {
		if b.slowNanos == 0 {
			w |= plainBit
		}
		if b.win.clean(now) {
			w |= cleanBit
			if w&plainBit != 0 && b.tw == nil {
				w |= noopBit
			}
		}
	}
	if b.word.Load() != w {
		b.word.Store(w)
	}
}

// State returns the current state. An open breaker whose open duration has
// passed reports StateHalfOpen (and moves there) without waiting for a call.
func (b *Breaker) State() State {
	w := b.word.Load()
	if State(w&stateMask) == StateOpen && b.openPeriodOver() {
		b.endOpenPeriod(w >> genShift)
		w = b.word.Load()
	}
	return State(w & stateMask)
}

// openPeriodOver reports whether the current open period has ended. The
// rejection path does not ask (it reads no clock); a timer and State do.
func (b *Breaker) openPeriodOver() bool {
	e := b.openErr.Load()
	return e != nil && !time.Now().Before(e.Until)
}

// endOpenPeriod moves an open breaker of generation gen to half-open. It is
// run by the open period's timer and by State and Stats when they find the
// period over; whichever comes first wins, the others find a newer
// generation and do nothing.
func (b *Breaker) endOpenPeriod(gen uint64) {
	b.mu.Lock()
	if b.gen != gen || b.state != StateOpen {
		b.mu.Unlock()
		return
	}
	b.transitionLocked(StateHalfOpen)
	b.unlockAndNotify()
}

// clockLocked reads the clock, never going back behind a time already
// seen under the lock.
func (b *Breaker) clockLocked() int64 {
	b.lastClockRead = max(b.now(), b.lastClockRead)
	return b.lastClockRead
}

// transitionLocked moves the breaker to state to, starting a new generation
// so that results of calls admitted before are discarded.
func (b *Breaker) transitionLocked(to State) {
	from := b.state
	now := b.clockLocked()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.gen++
	b.state = to
	b.transitions++
	b.consecutive, b.probes, b.probeWins = 0, 0, 0
	switch to {
	case StateClosed:
		b.win.reset()
		b.reopens = 0
	case StateOpen:
		if from == StateHalfOpen {
			b.reopens++
		} else {
			b.reopens = 0
		}
		b.opens++
		b.startOpenPeriodLocked(now)
	case StateDisabled, StateForcedOpen:
		b.reopens = 0
	}
	b.storeWordLocked(now)
	if b.hasCallbacks {
		b.pending = append(b.pending, transition{from, to})
	}
}

// startOpenPeriodLocked computes the open duration (grown by reopenings,
// capped, jittered), publishes the period's rejection error and arms the
// timer that ends it.
func (b *Breaker) startOpenPeriodLocked(now int64) {
	d, limit := b.cfg.OpenDuration, b.cfg.MaxOpenDuration
	for i := 0; i < b.reopens && d < limit; i++ {
		d = min(d, limit/2) * 2 // cannot overflow
	}
	d = min(d, limit)
	if j := b.cfg.OpenJitter; j > 0 {
		d -= time.Duration(float64(d) * j * rand.Float64())
	}
	b.openUntil = now + int64(d)
	if b.openUntil < now {
		b.openUntil = math.MaxInt64 // an open duration of centuries
	}
	b.openErr.Store(&OpenError{Name: b.cfg.Name, State: StateOpen, Until: b.base.Add(time.Duration(b.openUntil)), breaker: b})
	gen := b.gen
	b.timer = time.AfterFunc(d, func() { b.endOpenPeriod(gen) })
}

// unlockAndNotify releases the lock and hands pending transitions to
// OnStateChange, in order, outside the lock. Only one goroutine delivers
// at a time, which keeps the order; a transition caused from inside the
// callback is queued and delivered by the same loop after it returns.
func (b *Breaker) unlockAndNotify() {
	if len(b.pending) == 0 || b.delivering {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	returned := false
	defer func() {
		if !returned {
			// OnStateChange panicked (the lock is not held): free delivery
			// for the next transition, which also delivers what is left.
			b.mu.Lock()
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	for len(b.pending) > 0 {
		t := b.pending[0]
		b.pending = b.pending[1:]
		b.mu.Unlock()
		b.cfg.OnStateChange(b.cfg.Name, t.from, t.to)
		b.mu.Lock()
	}
	b.pending = nil
	b.delivering = false
	returned = true
	b.mu.Unlock()
}

// ForceOpen rejects every call (with an *OpenError whose State is
// StateForcedOpen) until Reset or Disable. Results of calls already
// admitted are discarded.
func (b *Breaker) ForceOpen() { b.setState(StateForcedOpen) }

// Disable admits every call and records nothing until Reset or ForceOpen.
func (b *Breaker) Disable() { b.setState(StateDisabled) }

// Reset closes the breaker with an empty window, whatever its state, and
// forgets reopenings. Results of calls already admitted are discarded.
func (b *Breaker) Reset() { b.setState(StateClosed) }

func (b *Breaker) setState(to State) {
	b.mu.Lock()
	if b.state == to {
		// Same state: start afresh but report no transition.
		b.gen++
		if to == StateClosed {
			b.win.reset()
			b.consecutive, b.reopens = 0, 0
		}
		b.storeWordLocked(b.clockLocked())
		b.mu.Unlock()
		return
	}
	b.transitionLocked(to)
	b.unlockAndNotify()
}

// Stats is a snapshot of a breaker for metrics and debugging.
//
// It holds no totals of admitted or rejected calls: keeping them would put a
// shared, contended write on the two hot paths, which are otherwise
// read-only. Count them where the calls are made; errors.Is(err, ErrOpen)
// tells a rejection.
type Stats struct {
	// State is the current state, as State returns it.
	State State
	// Calls, Failures and SlowCalls are the counts in the closed state's
	// window (zero in other states).
	Calls, Failures, SlowCalls int
	// ConsecutiveFailures is the current row of failures while closed.
	ConsecutiveFailures int
	// Probes is the number of half-open probes in flight, ProbeSuccesses
	// the number that succeeded in the current half-open period.
	Probes, ProbeSuccesses int
	// RetryAfter is how long until an open breaker admits probes.
	RetryAfter time.Duration
	// Reopens is the number of failed half-open attempts in a row, which
	// grows the open duration when MaxOpenDuration allows.
	Reopens int
	// Opens counts the transitions to StateOpen since New.
	Opens uint64
	// Transitions counts all state transitions since New.
	Transitions uint64
	// Discarded counts results that arrived after the state they were
	// admitted in had ended, and so were not recorded.
	Discarded uint64
}

// Stats returns a snapshot of b.
func (b *Breaker) Stats() Stats {
	b.State() // moves an open breaker whose period is over to half-open
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clockLocked()
	s := Stats{
		State:          b.state,
		Probes:         b.probes,
		ProbeSuccesses: b.probeWins,
		Reopens:        b.reopens,
		Opens:          b.opens,
		Transitions:    b.transitions,
		Discarded:      b.discarded.Load(),
	}
	switch b.state {
	case StateClosed:
		t := b.win.totals(now)
		s.Calls, s.Failures, s.SlowCalls = t.calls, t.failures, t.slow
		s.ConsecutiveFailures = b.consecutive
	case StateOpen:
		s.RetryAfter = max(time.Duration(b.openUntil-now), 0)
	}
	return s
}
