package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Unlimited, as Config.MaxAttempts, removes the attempt cap. The loop then
// ends only on success, a permanent error, the context, MaxElapsed or the
// Budget, so set at least one of those.
const Unlimited = math.MaxInt

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAttempts  = 3
	DefaultInitialDelay = 100 * time.Millisecond
	DefaultMaxDelay     = 10 * time.Second
	DefaultMultiplier   = 2.0
)

// Backoff selects how the delay before each retry grows.
type Backoff int

const (
	// Exponential waits InitialDelay, then multiplies by Multiplier after
	// every failure, up to MaxDelay. It is the default.
	Exponential Backoff = iota
	// Constant waits InitialDelay before every retry.
	Constant
)

// Jitter selects how randomness is mixed into each delay so that many
// clients failing together do not retry in lockstep.
type Jitter int

const (
	// JitterFull draws each delay uniformly from [0, d], where d is the
	// delay without jitter. It spreads load best and is the default.
	JitterFull Jitter = iota
	// JitterNone uses d as is.
	JitterNone
	// JitterEqual draws from [d/2, d]: keeps half of the wait, randomizes
	// the rest.
	JitterEqual
	// JitterDecorrelated draws from [InitialDelay, 3 × previous delay],
	// capped at MaxDelay. Each delay depends on the last one rather than on
	// the attempt number. It needs the Exponential backoff.
	JitterDecorrelated
)

// Config describes a retry policy. Every zero field means the default
// written in its comment. Pass it to New.
type Config struct {
	// MaxAttempts is the most times fn runs, the first call included.
	// Zero means DefaultMaxAttempts (3); Unlimited removes the cap.
	MaxAttempts int

	// MaxElapsed bounds how long a call keeps retrying, measured from its
	// first failure, so a long first attempt does not use it up. A retry
	// whose delay would end past it waits only until it, then runs a last
	// attempt. Zero means no bound (the caller's context still applies).
	MaxElapsed time.Duration

	// AttemptTimeout, when positive, gives each attempt its own child
	// context with this timeout. An attempt that times out is an ordinary
	// retryable failure. Zero means attempts share the caller's context
	// and no context is created.
	AttemptTimeout time.Duration

	// Backoff selects the growth of delays; zero means Exponential.
	Backoff Backoff
	// InitialDelay is the delay before the first retry (before jitter);
	// zero means DefaultInitialDelay (100ms), or MaxDelay if smaller.
	InitialDelay time.Duration
	// MaxDelay caps every delay: computed ones, DelayFunc's and servers'
	// retry-after hints. Zero means DefaultMaxDelay (10s), or InitialDelay
	// if larger.
	MaxDelay time.Duration
	// Multiplier is the growth factor of Exponential; zero means
	// DefaultMultiplier (2). It must be at least 1.
	Multiplier float64
	// Jitter randomizes delays; zero means JitterFull.
	Jitter Jitter
	// DelayFunc, when set, replaces Backoff and Jitter: it returns the
	// delay before the retry that follows failed attempt number attempt
	// (1-based) with error err. Results are clamped to [0, MaxDelay]. It
	// may be called concurrently by different calls.
	DelayFunc func(attempt int, err error) time.Duration

	// Retryable reports whether err is worth another attempt. Nil means
	// every error is, except Permanent errors and the caller's context
	// errors, which never are, whatever Retryable says.
	Retryable func(err error) bool

	// Budget, when set, is drawn on for every retry and every hedged
	// attempt, and credited on every call. Share one Budget between all
	// policies that call the same dependency. Nil means no budget.
	Budget *Budget

	// HedgeDelay is how long Hedge waits for an attempt before starting
	// another one. Zero means InitialDelay.
	HedgeDelay time.Duration

	// OnRetry, when set, runs before each retry: attempt is the number of
	// the attempt that just failed, err its error and delay the wait
	// before the next attempt. Hedge calls it before each extra attempt.
	// It runs on the calling goroutine and may call anything, including
	// the Policy, but it delays the retry it reports.
	OnRetry func(attempt int, err error, delay time.Duration)
}

// Validate reports the first problem with cfg, or nil. New panics with the
// same message; Validate lets a service check a configuration it loaded.
func (cfg Config) Validate() error {
	switch {
	case cfg.MaxAttempts < 0:
		return fmt.Errorf("retry: MaxAttempts %d is negative", cfg.MaxAttempts)
	case cfg.MaxElapsed < 0:
		return fmt.Errorf("retry: MaxElapsed %v is negative", cfg.MaxElapsed)
	case cfg.AttemptTimeout < 0:
		return fmt.Errorf("retry: AttemptTimeout %v is negative", cfg.AttemptTimeout)
	case cfg.Backoff != Exponential && cfg.Backoff != Constant:
		return fmt.Errorf("retry: unknown Backoff %d", cfg.Backoff)
	case cfg.InitialDelay < 0:
		return fmt.Errorf("retry: InitialDelay %v is negative", cfg.InitialDelay)
	case cfg.MaxDelay < 0:
		return fmt.Errorf("retry: MaxDelay %v is negative", cfg.MaxDelay)
	case math.IsNaN(cfg.Multiplier) || math.IsInf(cfg.Multiplier, 0) || (cfg.Multiplier != 0 && cfg.Multiplier < 1):
		return fmt.Errorf("retry: Multiplier %v must be a finite number >= 1", cfg.Multiplier)
	case cfg.Jitter < JitterFull || cfg.Jitter > JitterDecorrelated:
		return fmt.Errorf("retry: unknown Jitter %d", cfg.Jitter)
	case cfg.Jitter == JitterDecorrelated && cfg.Backoff == Constant:
		return errors.New("retry: JitterDecorrelated needs the Exponential backoff")
	case cfg.HedgeDelay < 0:
		return fmt.Errorf("retry: HedgeDelay %v is negative", cfg.HedgeDelay)
	}
	if initial, maxDelay := cfg.delays(); initial > maxDelay {
		return fmt.Errorf("retry: InitialDelay %v exceeds MaxDelay %v", initial, maxDelay)
	}
	return nil
}

// delays returns InitialDelay and MaxDelay with defaults applied: a zero
// InitialDelay is the default or MaxDelay, whichever is smaller, and a zero
// MaxDelay is the default or InitialDelay, whichever is larger.
func (cfg Config) delays() (initial, maxDelay time.Duration) {
	initial, maxDelay = cfg.InitialDelay, cfg.MaxDelay
	switch {
	case initial == 0 && maxDelay == 0:
		return DefaultInitialDelay, DefaultMaxDelay
	case initial == 0:
		return min(DefaultInitialDelay, maxDelay), maxDelay
	case maxDelay == 0:
		return initial, max(DefaultMaxDelay, initial)
	}
	return initial, maxDelay
}

// Policy is a reusable, immutable retry policy built by New. It is safe for
// concurrent use; one Policy may serve calls of any result type through Do
// and Hedge.
type Policy struct {
	maxAttempts    int
	maxElapsed     time.Duration
	attemptTimeout time.Duration
	backoff        Backoff
	initialDelay   time.Duration
	maxDelay       time.Duration
	multiplier     float64
	jitter         Jitter
	delayFunc      func(int, error) time.Duration
	retryable      func(error) bool
	budget         *Budget
	hedgeDelay     time.Duration
	onRetry        func(int, error, time.Duration)
}

// New returns the Policy cfg describes. It panics with Validate's message
// if cfg is invalid, since that can only be a programming error.
func New(cfg Config) *Policy {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	p := &Policy{
		maxAttempts:    cfg.MaxAttempts,
		maxElapsed:     cfg.MaxElapsed,
		attemptTimeout: cfg.AttemptTimeout,
		backoff:        cfg.Backoff,
		initialDelay:   cfg.InitialDelay,
		maxDelay:       cfg.MaxDelay,
		multiplier:     cfg.Multiplier,
		jitter:         cfg.Jitter,
		delayFunc:      cfg.DelayFunc,
		retryable:      cfg.Retryable,
		budget:         cfg.Budget,
		hedgeDelay:     cfg.HedgeDelay,
		onRetry:        cfg.OnRetry,
	}
	if p.maxAttempts == 0 {
		p.maxAttempts = DefaultMaxAttempts
	}
	p.initialDelay, p.maxDelay = cfg.delays()
	if p.multiplier == 0 {
		p.multiplier = DefaultMultiplier
	}
	if p.hedgeDelay == 0 {
		p.hedgeDelay = p.initialDelay
	}
	return p
}

// Do calls fn until it succeeds or the policy gives up, and returns fn's
// last result.
//
// The first attempt costs no allocation, no clock read and no context: the
// policy's work starts only when an attempt fails. A context that is
// already done stops Do before fn runs.
//
// On failure Do returns the zero T and an *Error carrying the number of
// attempts, fn's last error and the reason it stopped: ErrAttempts,
// ErrMaxElapsed, ErrBudget, ErrPermanent, or the caller's context error
// (context.Canceled or context.DeadlineExceeded; Do also stops early with
// context.DeadlineExceeded when the next delay would end past the
// context's deadline). errors.Is and errors.As see both the last error and
// the reason.
func Do[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if p.budget != nil {
		p.budget.deposit()
	}
	if done := ctx.Done(); done != nil {
		select {
		case <-done:
			var zero T
			return zero, &Error{Reason: ctx.Err()}
		default:
		}
	}
	var v T
	var err error
	if p.attemptTimeout > 0 {
		v, err = attempt(ctx, p.attemptTimeout, fn)
	} else {
		v, err = fn(ctx) // the common case, without a call in between
	}
	if err == nil {
		return v, nil
	}
	return retryAfterFailure(ctx, p, fn, err)
}

// attempt runs fn once, under a child context when timeout is positive.
func attempt[T any](ctx context.Context, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	if timeout <= 0 {
		return fn(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fn(actx)
}

// retryAfterFailure is Do's loop after the first failed attempt. It is
// separate so that the success path stays small enough to inline.
func retryAfterFailure[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error), err error) (T, error) {
	var zero T
	var firstFailure time.Time
	var prev time.Duration // previous delay, for JitterDecorrelated
	for attempts := 1; ; attempts++ {
		if reason, last := p.stopReason(ctx, attempts, err); reason != nil {
			return zero, &Error{Attempts: attempts, Last: last, Reason: reason}
		}
		delay := p.delay(attempts, err, prev)
		prev = delay
		now := time.Now()
		if firstFailure.IsZero() {
			firstFailure = now
		}
		if p.maxElapsed > 0 {
			left := p.maxElapsed - now.Sub(firstFailure)
			if left <= 0 {
				return zero, &Error{Attempts: attempts, Last: err, Reason: ErrMaxElapsed}
			}
			delay = min(delay, left)
		}
		if deadline, ok := ctx.Deadline(); ok && !now.Add(delay).Before(deadline) {
			return zero, &Error{Attempts: attempts, Last: err, Reason: context.DeadlineExceeded}
		}
		if p.budget != nil && !p.budget.withdraw() {
			return zero, &Error{Attempts: attempts, Last: err, Reason: ErrBudget}
		}
		if p.onRetry != nil {
			p.onRetry(attempts, err, delay)
		}
		if cerr := sleep(ctx, delay); cerr != nil {
			return zero, &Error{Attempts: attempts, Last: err, Reason: cerr}
		}
		var v T
		v, err = attempt(ctx, p.attemptTimeout, fn)
		if err == nil {
			return v, nil
		}
	}
}

// stopReason classifies err, returned by attempt number attempts: a nil
// reason means retry. last is the error to report, with a Permanent marker
// removed.
func (p *Policy) stopReason(ctx context.Context, attempts int, err error) (reason, last error) {
	if inner, ok := permanentCause(err); ok {
		return ErrPermanent, inner
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr, err
	}
	if p.retryable != nil && !p.retryable(err) {
		return ErrPermanent, err
	}
	if attempts >= p.maxAttempts {
		return ErrAttempts, err
	}
	return nil, err
}

// sleep waits d or until ctx is done, and returns ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
