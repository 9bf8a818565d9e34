// Package retry calls an operation again when it fails, with backoff and
// jitter, caps on attempts and time, server hints, a shared retry budget,
// hedged requests and an HTTP transport.
//
// # When to use it
//
// Retry transient failures of idempotent operations: a dropped connection,
// a 503, a leader election. Do not retry what cannot succeed (bad input:
// mark it Permanent or reject it in Config.Retryable) or what must not run
// twice (a payment without an idempotency key).
//
// Build one Policy per dependency and reuse it:
//
//	p := retry.New(retry.Config{MaxAttempts: 4, Budget: retry.NewBudget(retry.BudgetConfig{})})
//	user, err := retry.Do(ctx, p, func(ctx context.Context) (User, error) {
//		return client.GetUser(ctx, id)
//	})
//
// # Guarantees
//
//   - fn runs at most MaxAttempts times, never after the caller's context is
//     done, and never after a Permanent error or one Retryable rejects.
//   - Every delay is in [0, MaxDelay], whatever the attempt number (the
//     exponential growth cannot overflow), the DelayFunc or the server's
//     hint. Do never sleeps past the context's deadline: when the next
//     delay would end after it, Do stops at once with
//     context.DeadlineExceeded. It never sleeps past MaxElapsed either: a
//     delay that would cross it is shortened to end on it.
//   - MaxElapsed counts from the first failure, not from the call, so a
//     long successful-looking first attempt does not leave a failure with
//     no retry at all (a known trap of other libraries), and a server's
//     retry-after hint longer than the time left still gets its retry.
//   - A shared Budget keeps the extra load of retries under Ratio of the
//     calls (plus a small floor per second), so at 100% failure a
//     dependency sees about 1 + Ratio attempts per call rather than
//     MaxAttempts: retries cannot turn a slow dependency into an outage.
//   - Every failure is an *Error with the attempts made, fn's last error
//     and the reason (ErrAttempts, ErrMaxElapsed, ErrBudget, ErrPermanent
//     or the context's error), all visible to errors.Is and errors.As.
//     MaxAttempts zero means 3, never "forever"; forever is spelled
//     Unlimited.
//
// # Cost
//
// An attempt that succeeds the first time costs a few nanoseconds and no
// allocation: Do reads no clock and creates no context unless an attempt
// fails or AttemptTimeout is set. A Budget adds one or two atomic
// operations per call. Failures allocate the *Error and a timer.
//
// # Hedging and HTTP
//
// Hedge starts a second attempt when the first is slow and takes the first
// success; it draws on the Budget like retries do. Transport wraps an
// http.RoundTripper: it retries idempotent requests on transport errors
// and on 429, 502, 503 and 504, rewinds bodies with GetBody, honours
// Retry-After, and drains and closes the responses it discards.
package retry
