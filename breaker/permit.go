package breaker

import (
	"context"
	"errors"
)

// Permit is the admission of one call, returned by Allow. It is a small
// value: passing it around allocates nothing. Call Done exactly once with
// the call's result (a second Done may count the call twice, though never
// below zero probes in flight); the zero Permit's Done does nothing.
type Permit struct {
	b     *Breaker
	word  uint64 // the breaker's word when the call was admitted
	start int64  // admission time for slow-call timing, if measured
}

// Allow asks to make one call. If the breaker admits it, the returned
// Permit must be completed with Done. Otherwise the error is an *OpenError
// (errors.Is(err, ErrOpen)) saying how long to wait; it is shared by all
// rejections of one open period and must not be modified.
//
// Allow is the two-step form for middleware; Do wraps it for a function.
func (b *Breaker) Allow() (Permit, error) {
	w := b.word.Load()
	if w&plainBit != 0 {
		return Permit{b: b, word: w}, nil
	}
	if w&stateMask == uint64(StateOpen) {
		return Permit{}, b.openErr.Load()
	}
	return b.allowOther(w)
}

// allowOther is Allow for every case but a plain closed or open breaker.
func (b *Breaker) allowOther(w uint64) (Permit, error) {
	switch State(w & stateMask) {
	case StateClosed:
		return Permit{b: b, word: w, start: b.now()}, nil
	case StateDisabled:
		return Permit{b: b, word: w}, nil
	case StateForcedOpen:
		return Permit{}, b.forcedErr
	case StateOpen:
		return Permit{}, b.openErr.Load()
	}
	return b.allowProbe()
}

// allowProbe admits a half-open probe if a slot is free.
func (b *Breaker) allowProbe() (Permit, error) {
	b.mu.Lock()
	now := b.clockLocked()
	switch b.state {
	case StateHalfOpen:
		if b.probes < b.cfg.HalfOpenProbes {
			b.probes++
			b.lastProbe = now
			w := b.word.Load()
			b.mu.Unlock()
			return Permit{b: b, word: w, start: now}, nil
		}
		if now-b.lastProbe < int64(b.cfg.ProbeTimeout) {
			b.mu.Unlock()
			return Permit{}, b.halfOpenErr
		}
		// Every slot has been held for ProbeTimeout: the probes are stuck
		// or their permits were lost. Count it as a failed attempt.
		b.transitionLocked(StateOpen)
		err := b.openErr.Load()
		b.unlockAndNotify()
		return Permit{}, err
	case StateClosed, StateDisabled:
		w := b.word.Load()
		b.mu.Unlock()
		return Permit{b: b, word: w, start: now}, nil
	case StateOpen:
		err := b.openErr.Load()
		b.mu.Unlock()
		return Permit{}, err
	}
	b.mu.Unlock()
	return Permit{}, b.forcedErr
}

// Done reports the result of the permitted call: nil is a success, other
// errors are classified by Config.Classify (by default context.Canceled is
// ignored and everything else is a failure). Results of calls admitted
// before the breaker changed state are discarded.
func (p Permit) Done(err error) {
	switch {
	case p.b == nil:
	case err == nil:
		p.b.succeed(p)
	default:
		p.b.finish(p, p.b.classify(nil, err))
	}
}

// classify turns a call's result into an Outcome. ctx is the caller's
// context when known: an error from a call whose caller canceled it says
// nothing about the dependency.
func (b *Breaker) classify(ctx context.Context, err error) Outcome {
	if err == nil {
		return Success
	}
	if ctx != nil && errors.Is(ctx.Err(), context.Canceled) {
		return Ignore
	}
	if b.cfg.Classify != nil {
		if o := b.cfg.Classify(err); o <= Ignore {
			return o
		}
		return Failure
	}
	if errors.Is(err, context.Canceled) {
		return Ignore
	}
	return Failure
}

// succeed records a success. Small enough to inline: on a clean count
// window with no slow-call timing, a success changes nothing, so it is one
// atomic load.
func (b *Breaker) succeed(p Permit) {
	if p.word&noopBit != 0 && b.word.Load() == p.word {
		return
	}
	b.finish(p, Success)
}

// finish records outcome o of the call admitted by p. The common case, a
// fast success on a clean closed window, touches no lock and writes no
// shared memory (count window) or one bucket counter (time window).
func (b *Breaker) finish(p Permit, o Outcome) {
	state := State(p.word & stateMask)
	if state == StateDisabled || (o == Ignore && state == StateClosed) {
		return
	}
	var now int64
	if b.timed {
		now = b.now()
	}
	slow := b.slowNanos > 0 && now-p.start >= b.slowNanos
	if o == Success && !slow && p.word&cleanBit != 0 {
		if b.word.Load() == p.word && (b.tw == nil || b.tw.tryAddSuccess(now)) {
			return
		}
	}
	b.record(p, o, slow, now)
}

// record is the locked path of finish.
func (b *Breaker) record(p Permit, o Outcome, slow bool, now int64) {
	b.mu.Lock()
	if b.gen != p.word>>genShift {
		b.mu.Unlock()
		b.discarded.Add(1)
		return
	}
	if b.timed {
		// Keep the window's time monotone; untimed breakers never look at
		// now outside transitions, which read the clock themselves.
		now = max(now, b.lastClockRead)
		b.lastClockRead = now
	}
	switch b.state {
	case StateClosed:
		b.recordClosedLocked(o, slow, now)
	case StateHalfOpen:
		b.recordProbeLocked(o, slow)
	}
	b.unlockAndNotify()
}

func (b *Breaker) recordClosedLocked(o Outcome, slow bool, now int64) {
	if o == Ignore {
		return
	}
	failed := o == Failure
	if failed {
		b.consecutive++
	} else {
		b.consecutive = 0
	}
	b.win.add(now, failed, slow)
	if b.shouldTripLocked(now) {
		b.transitionLocked(StateOpen)
		return
	}
	b.storeWordLocked(now) // the window may have turned clean or dirty
}

func (b *Breaker) shouldTripLocked(now int64) bool {
	c := &b.cfg
	if c.ConsecutiveFailures > 0 && b.consecutive >= c.ConsecutiveFailures {
		return true
	}
	if c.FailureRate == 0 && c.SlowCallRate == 0 {
		return false
	}
	t := b.win.totals(now)
	if t.calls < c.MinCalls || t.calls == 0 {
		return false
	}
	calls := float64(t.calls)
	return (c.FailureRate > 0 && float64(t.failures)*100 >= c.FailureRate*calls) ||
		(c.SlowCallRate > 0 && float64(t.slow)*100 >= c.SlowCallRate*calls)
}

func (b *Breaker) recordProbeLocked(o Outcome, slow bool) {
	// A permit completed twice (a caller's bug) must not free a slot that
	// another probe holds.
	b.probes = max(b.probes-1, 0)
	switch {
	case o == Ignore:
	case o == Failure || (slow && b.slowRule):
		b.transitionLocked(StateOpen)
	default:
		b.probeWins++
		if b.probeWins >= b.cfg.SuccessesToClose {
			b.transitionLocked(StateClosed)
		}
	}
}

// failPanicked records a call that panicked (or called runtime.Goexit) as a
// failure, whatever Classify would say.
func (p Permit) failPanicked() {
	if p.b != nil {
		p.b.finish(p, Failure)
	}
}

// Do calls fn if b admits a call, records its result and returns it. If b
// rejects the call, Do returns the zero T and an *OpenError
// (errors.Is(err, ErrOpen)) without calling fn. If ctx is already done when
// the call is admitted, Do returns ctx.Err() without calling fn and releases
// the permit unrecorded.
//
// fn's error is returned unchanged. If fn panics, the call is recorded as a
// failure, its permit released, and the panic continues unrecovered (its
// stack intact).
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	// Small enough to inline, so that a rejection by an open breaker costs
	// the caller two atomic loads and no call.
	if w := b.word.Load(); w&stateMask == uint64(StateOpen) {
		var zero T
		return zero, b.openErr.Load()
	}
	return do(ctx, b, fn)
}

// do is Do for a breaker that was not open a moment ago.
func do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	// Allow, unrolled: this is the hot path and Allow is too big to inline.
	w := b.word.Load()
	p := Permit{b: b, word: w}
	if w&plainBit == 0 {
		var err error
		if p, err = b.allowOther(w); err != nil {
			return zero, err
		}
	}
	// Checked after admission so that the rejection path stays free of it.
	if err := ctx.Err(); err != nil {
		b.finish(p, Ignore)
		return zero, err
	}
	returned := false
	defer func() {
		if !returned {
			p.failPanicked()
		}
	}()
	v, err := fn(ctx)
	returned = true
	if err == nil {
		b.succeed(p)
	} else {
		b.finish(p, b.classify(ctx, err))
	}
	return v, err
}
