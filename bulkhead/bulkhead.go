package bulkhead

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrQueueFull is returned at once when every permit is taken and the
	// waiting room (Config.MaxQueued) is full.
	ErrQueueFull = errors.New("bulkhead: full")
	// ErrWaitTimeout is returned when a queued caller waited
	// Config.MaxWait without getting a permit.
	ErrWaitTimeout = errors.New("bulkhead: waited too long for a permit")
)

// The state word holds the calls in flight in its low 32 bits and the
// queued callers in its high 32 bits, so that the fast path can check
// both and take a permit with one compare-and-swap.
const (
	inflightMask        = 1<<32 - 1
	oneWaiter    uint64 = 1 << 32
	// minusWaiter added to the state removes one waiter.
	minusWaiter = ^(oneWaiter - 1)
	// waiterToInflight added to the state turns a waiter into a call in
	// flight.
	waiterToInflight = minusWaiter + 1
)

// Bulkhead bounds the calls in flight to a dependency, queues a bounded
// number of callers in FIFO order, and turns the rest away, so that one
// slow dependency cannot take every goroutine, connection or thread of a
// service. Its limit may be fixed or adaptive (Config.Adaptive).
//
// A Bulkhead is safe for concurrent use. Taking and returning a permit
// when one is free and nobody waits is one atomic compare-and-swap each and
// allocates nothing; waiting takes a mutex. It starts no goroutines.
type Bulkhead struct {
	state atomic.Uint64
	limit atomic.Int64

	maxQueued  uint64
	maxWait    time.Duration
	isOverload func(error) bool
	onReject   func(error)
	onLimit    func(old, new int)

	mu       sync.Mutex
	queue    waitQueue
	adaptive limiter // nil for a fixed limit; guarded by mu
	epoch    time.Time

	rejected atomic.Uint64
	timedOut atomic.Uint64
	canceled atomic.Uint64
}

// New returns the Bulkhead cfg describes. It panics with Validate's
// message if cfg is invalid, since that can only be a programming error.
func New(cfg Config) *Bulkhead {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	cfg = cfg.withDefaults()
	b := &Bulkhead{
		maxQueued:  uint64(cfg.MaxQueued),
		maxWait:    cfg.MaxWait,
		isOverload: cfg.IsOverload,
		onReject:   cfg.OnReject,
		onLimit:    cfg.OnLimitChange,
		epoch:      time.Now(),
	}
	if b.isOverload == nil {
		b.isOverload = func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }
	}
	b.limit.Store(int64(cfg.MaxConcurrent))
	b.adaptive = newLimiter(cfg)
	return b
}

// Permit is a taken place in a Bulkhead. Return it exactly once with
// Release or Done. The zero Permit, returned with an error, does nothing
// when released.
type Permit struct {
	b *Bulkhead
	// start is when the permit was taken, as an offset from b.epoch on
	// the monotonic clock; only adaptive bulkheads read the clock.
	start time.Duration
	// inflight is the number of calls in flight once this one started.
	inflight int
}

// Acquire takes a permit, waiting in FIFO order if all are taken and the
// queue has room. It returns ErrQueueFull at once if it has not,
// ErrWaitTimeout after Config.MaxWait, or ctx.Err() if ctx is done first
// (or already done on entry). A permit granted at the moment ctx ends is
// handed on to the next caller, never lost.
func (b *Bulkhead) Acquire(ctx context.Context) (Permit, error) {
	if done := ctx.Done(); done != nil {
		select {
		case <-done:
			return Permit{}, ctx.Err()
		default:
		}
	}
	// Take a permit with one atomic add, and give it back (through release,
	// which hands it to a waiter if one queued meanwhile) if nobody may
	// take one now: a caller is queued, or the limit is reached. An add
	// cannot fail under contention as a compare-and-swap can.
	s := b.state.Add(1)
	if s>>32 == 0 && int64(s&inflightMask) <= b.limit.Load() {
		return b.permit(int(s & inflightMask)), nil
	}
	b.release()
	return b.acquireSlow(ctx)
}

// TryAcquire takes a permit if one is free and nobody is queued, without
// waiting. It reports whether it did.
func (b *Bulkhead) TryAcquire() (Permit, bool) {
	for {
		s := b.state.Load()
		if s>>32 != 0 || int64(s&inflightMask) >= b.limit.Load() {
			return Permit{}, false
		}
		if b.state.CompareAndSwap(s, s+1) {
			return b.permit(int(s&inflightMask) + 1), true
		}
	}
}

func (b *Bulkhead) permit(inflight int) Permit {
	p := Permit{b: b, inflight: inflight}
	if b.adaptive != nil {
		p.start = time.Since(b.epoch)
	}
	return p
}

func (b *Bulkhead) acquireSlow(ctx context.Context) (Permit, error) {
	b.mu.Lock()
	for {
		s := b.state.Load()
		inflight := int64(s & inflightMask)
		if s>>32 == 0 && inflight < b.limit.Load() {
			if b.state.CompareAndSwap(s, s+1) {
				b.mu.Unlock()
				return b.permit(int(inflight) + 1), nil
			}
			continue
		}
		if s>>32 >= b.maxQueued {
			b.mu.Unlock()
			b.rejected.Add(1)
			b.reject(ErrQueueFull)
			return Permit{}, ErrQueueFull
		}
		if b.state.CompareAndSwap(s, s+oneWaiter) {
			break
		}
	}
	w := newWaiter()
	b.queue.push(w)
	b.mu.Unlock()

	var timeout <-chan time.Time
	if b.maxWait > 0 {
		t := time.NewTimer(b.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
		return b.permit(w.inflight), nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = ErrWaitTimeout
	}

	b.mu.Lock()
	granted := w.granted
	if !granted {
		b.queue.remove(w)
		b.state.Add(minusWaiter)
	}
	b.mu.Unlock()
	if granted {
		// The permit arrived as the wait ended: pass it on rather than
		// keep a permit the caller no longer wants.
		<-w.ready
		b.release()
	}
	if err == ErrWaitTimeout {
		b.timedOut.Add(1)
		b.reject(err)
	} else {
		b.canceled.Add(1)
	}
	return Permit{}, err
}

func (b *Bulkhead) reject(err error) {
	if b.onReject != nil {
		b.onReject(err)
	}
}

// Release returns the permit. For an adaptive bulkhead it counts as a call
// that completed normally. Releasing the zero Permit does nothing;
// releasing a permit twice panics, or corrupts the count if another permit
// is in flight.
func (p Permit) Release() {
	p.Done(nil)
}

// Done returns the permit and tells an adaptive bulkhead how the call
// went: err nil or an ordinary error is a normal completion, an overload
// error (Config.IsOverload) a drop, and context.Canceled gives no sample.
// A fixed bulkhead ignores err.
func (p Permit) Done(err error) {
	b := p.b
	if b == nil {
		return
	}
	if b.adaptive == nil {
		b.release()
		return
	}
	if errors.Is(err, context.Canceled) {
		b.releaseSample(p, false, false)
		return
	}
	b.releaseSample(p, true, err != nil && b.isOverload(err))
}

// release returns one permit of a fixed-limit bulkhead or one that gives
// no sample. The decrement is one atomic add, outside the lock: a caller
// about to queue adds itself with a compare-and-swap under the lock, so
// either it sees the freed permit and takes it, or the add below sees it
// queued and hands the permit on under the lock.
func (b *Bulkhead) release() {
	s := b.state.Add(^uint64(0)) // one fewer in flight
	if s&inflightMask == inflightMask {
		b.state.Add(1) // there was none in flight: undo the borrow
		panic("bulkhead: Release without a matching Acquire")
	}
	if s>>32 != 0 {
		b.mu.Lock()
		b.dispatchLocked()
		b.mu.Unlock()
	}
}

// releaseSample returns a permit of an adaptive bulkhead, feeding the
// call's latency to the limiter when sample is set.
func (b *Bulkhead) releaseSample(p Permit, sample, dropped bool) {
	now := time.Since(b.epoch)
	b.mu.Lock()
	if b.state.Load()&inflightMask == 0 {
		b.mu.Unlock()
		panic("bulkhead: Release without a matching Acquire")
	}
	old := int(b.limit.Load())
	if sample {
		b.limit.Store(int64(b.adaptive.sample(now-p.start, p.start, now, p.inflight, dropped)))
	}
	b.state.Add(^uint64(0))
	b.dispatchLocked()
	updated := int(b.limit.Load())
	b.mu.Unlock()
	if updated != old && b.onLimit != nil {
		b.onLimit(old, updated)
	}
}

// dispatchLocked hands free permits to queued callers in FIFO order. A
// permit handed over stays counted in flight: it moves from the releaser
// to the waiter without ever being free for a newcomer to take.
func (b *Bulkhead) dispatchLocked() {
	for {
		w := b.queue.head
		if w == nil {
			return
		}
		s := b.state.Load()
		if int64(s&inflightMask) >= b.limit.Load() {
			return
		}
		b.queue.remove(w)
		b.state.Add(waiterToInflight)
		w.granted = true
		w.inflight = int(s&inflightMask) + 1
		w.ready <- struct{}{}
	}
}

// Do runs fn under a permit of b and returns its result. If no permit can
// be had it returns the zero T and Acquire's error without running fn. If
// fn panics the permit is returned and the panic goes on. fn's error is
// fed to an adaptive limit as with Permit.Done.
func Do[T any](ctx context.Context, b *Bulkhead, fn func(context.Context) (T, error)) (T, error) {
	p, err := b.Acquire(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	finished := false
	defer func() {
		if !finished {
			p.Done(context.Canceled) // a panic: return the permit, no sample
		}
	}()
	v, err := fn(ctx)
	finished = true
	p.Done(err)
	return v, err
}

// Stats is a snapshot of a Bulkhead.
type Stats struct {
	Limit    int    // current limit: fixed, or where the adaptive one stands
	InFlight int    // permits taken
	Queued   int    // callers waiting
	Rejected uint64 // callers turned away with ErrQueueFull
	TimedOut uint64 // callers that waited MaxWait in vain
	Canceled uint64 // callers whose context ended while they waited
}

// Stats returns a snapshot of b. InFlight and Queued are read together;
// the counters are read one by one. InFlight may for an instant count a
// caller that found the bulkhead full and is giving its permit straight
// back, so it can read one or two above Limit under contention.
func (b *Bulkhead) Stats() Stats {
	s := b.state.Load()
	return Stats{
		Limit:    int(b.limit.Load()),
		InFlight: int(s & inflightMask),
		Queued:   int(s >> 32),
		Rejected: b.rejected.Load(),
		TimedOut: b.timedOut.Load(),
		Canceled: b.canceled.Load(),
	}
}
