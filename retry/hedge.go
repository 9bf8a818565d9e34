package retry

import (
	"context"
	"time"
)

// Hedge calls fn and, if it has not succeeded after HedgeDelay, calls it
// again concurrently, up to MaxAttempts attempts in flight or done; the
// first success wins and the other attempts' contexts are canceled. An
// attempt that fails with a retryable error starts the next one at once
// instead of waiting for the delay. Use it for idempotent reads whose tail
// latency matters more than the extra load.
//
// Every attempt after the first withdraws from the Budget; when the Budget
// refuses, no more attempts start and Hedge waits for those running. It
// uses MaxAttempts (Unlimited is capped at MaxHedgeAttempts),
// AttemptTimeout, Retryable, Budget, HedgeDelay and OnRetry; backoff
// delays and MaxElapsed do not apply.
//
// Hedge returns as soon as it has an answer. Attempts still running see
// their context canceled and finish in the background; their results are
// discarded, so fn must not return anything that needs releasing unless it
// releases it itself when its context is canceled. Each attempt runs on a
// goroutine of its own.
//
// On failure Hedge returns an *Error as Do does; Attempts counts the
// attempts started.
func Hedge[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if p.budget != nil {
		p.budget.deposit()
	}
	if err := ctx.Err(); err != nil {
		return zero, &Error{Reason: err}
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type outcome struct {
		v   T
		err error
	}
	results := make(chan outcome)
	launch := func() {
		go func() {
			v, err := attempt(hctx, p.attemptTimeout, fn)
			select {
			case results <- outcome{v, err}:
			case <-hctx.Done():
			}
		}()
	}
	limit := min(p.maxAttempts, MaxHedgeAttempts)
	started, running := 1, 1
	launch()

	timer := time.NewTimer(p.hedgeDelay)
	defer timer.Stop()
	var lastErr, stop error
	// next starts another attempt if the policy allows one, and records
	// why not otherwise.
	next := func(delay time.Duration) {
		switch {
		case stop != nil:
		case started >= limit:
			stop = ErrAttempts
		case p.budget != nil && !p.budget.withdraw():
			stop = ErrBudget
		default:
			if p.onRetry != nil {
				p.onRetry(started, lastErr, delay)
			}
			started++
			running++
			launch()
		}
	}
	for {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				return r.v, nil
			}
			lastErr = r.err
			if reason, last := p.stopReason(ctx, 1, r.err); reason != nil && reason != ErrAttempts {
				return zero, &Error{Attempts: started, Last: last, Reason: reason}
			}
			next(0)
			if running == 0 {
				return zero, &Error{Attempts: started, Last: lastErr, Reason: stop}
			}
		case <-timer.C:
			next(p.hedgeDelay)
			if stop == nil {
				timer.Reset(p.hedgeDelay)
			}
		case <-ctx.Done():
			return zero, &Error{Attempts: started, Last: lastErr, Reason: ctx.Err()}
		}
	}
}

// MaxHedgeAttempts caps the attempts one Hedge call starts when
// MaxAttempts is Unlimited or larger, since each attempt is a goroutine.
const MaxHedgeAttempts = 16
