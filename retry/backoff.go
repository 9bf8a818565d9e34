package retry

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// Hinter is implemented by errors that carry a server's hint of how long to
// wait before the next attempt (an HTTP Retry-After, a gRPC pushback). When
// the error of a failed attempt, or any error it wraps, implements Hinter,
// the hint replaces the computed delay, capped at MaxDelay. A negative hint
// means none: the computed delay applies.
type Hinter interface {
	RetryAfter() time.Duration
}

// After wraps err with a retry-after hint of d. It returns nil if err is
// nil. errors.Is and errors.As see err through the wrapper.
func After(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, after: d}
}

type hintError struct {
	err   error
	after time.Duration
}

func (e *hintError) Error() string             { return e.err.Error() }
func (e *hintError) Unwrap() error             { return e.err }
func (e *hintError) RetryAfter() time.Duration { return e.after }

// delay returns the wait before the retry that follows failed attempt
// number attempt (1-based) with error err; prev is the previous delay of
// this call, zero before the first retry. The result is in [0, maxDelay]
// for any attempt number: the exponential growth is computed in floating
// point and capped before it is converted back.
func (p *Policy) delay(attempt int, err error, prev time.Duration) time.Duration {
	var h Hinter
	if errors.As(err, &h) {
		if hint := h.RetryAfter(); hint >= 0 {
			return min(hint, p.maxDelay)
		}
	}
	if p.delayFunc != nil {
		return clampDelay(p.delayFunc(attempt, err), p.maxDelay)
	}
	if p.jitter == JitterDecorrelated {
		return decorrelated(p.initialDelay, p.maxDelay, prev)
	}
	d := p.initialDelay
	if p.backoff == Exponential {
		d = exponential(p.initialDelay, p.maxDelay, p.multiplier, attempt)
	}
	switch p.jitter {
	case JitterFull:
		return randUpTo(d)
	case JitterEqual:
		return d/2 + randUpTo(d-d/2)
	default:
		return d
	}
}

// exponential returns min(initial × multiplier^(attempt-1), maxDelay)
// without overflowing for any attempt.
func exponential(initial, maxDelay time.Duration, multiplier float64, attempt int) time.Duration {
	f := float64(initial) * math.Pow(multiplier, float64(attempt-1))
	if math.IsNaN(f) || f >= float64(maxDelay) {
		return maxDelay
	}
	return time.Duration(f)
}

// decorrelated draws from [initial, 3 × prev] capped at maxDelay, the
// "decorrelated jitter" of the AWS architecture blog; prev zero means the
// first retry, which waits initial.
func decorrelated(initial, maxDelay, prev time.Duration) time.Duration {
	if prev <= 0 {
		return initial
	}
	upper := maxDelay
	if prev <= maxDelay/3 {
		upper = prev * 3
	}
	if upper <= initial {
		return upper
	}
	return initial + randUpTo(upper-initial)
}

// randUpTo returns a uniform duration in [0, d]; it uses the runtime's
// per-thread generator, so concurrent callers do not contend.
func randUpTo(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if d == math.MaxInt64 {
		return time.Duration(rand.Int64())
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func clampDelay(d, maxDelay time.Duration) time.Duration {
	return min(max(d, 0), maxDelay)
}
