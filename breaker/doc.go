// Package breaker implements a circuit breaker: it watches the outcomes of
// calls to a dependency and, when the dependency looks unhealthy, rejects
// calls at once for a while instead of letting them pile up, then probes
// carefully before trusting it again.
//
// Use one Breaker per dependency (per host, per downstream service); a
// Group creates them lazily by name. Guard a call with Do, or with Allow and
// Permit.Done in middleware; Transport guards an http.RoundTripper.
//
//	b := breaker.New(breaker.Config{Name: "payments", ConsecutiveFailures: 5})
//	resp, err := breaker.Do(ctx, b, func(ctx context.Context) (*Receipt, error) {
//		return client.Charge(ctx, order)
//	})
//	if errors.Is(err, breaker.ErrOpen) { /* fail fast, fall back */ }
//
// # States
//
// A breaker starts closed: every call is admitted and its outcome recorded
// in a window, either the last N calls (count window) or the last D of time
// in buckets (time window). It trips open when any configured rule holds:
// ConsecutiveFailures failures in a row; a failure rate of at least
// FailureRate percent once the window holds MinCalls calls; a slow-call rate
// of at least SlowCallRate percent, where a call is slow if it lasted
// SlowCallDuration or longer.
//
// Open rejects every call with an *OpenError (errors.Is(err, ErrOpen)) that
// says when probing starts. After OpenDuration the breaker is half-open:
// State reports it at that instant, without waiting for a call. Half-open
// admits at most HalfOpenProbes calls at a time and rejects the rest at once
// (no queueing); SuccessesToClose successful probes close it, a single failed
// probe reopens it. Each reopening in a row can double the open duration up
// to MaxOpenDuration, and OpenJitter spreads the probes of many clients. If
// probes hold every slot for ProbeTimeout without reporting (a hung call, a
// lost permit), the breaker reopens rather than staying half-open forever.
//
// Operators can ForceOpen (reject everything) or Disable (admit everything,
// record nothing) a breaker; Reset closes it with an empty window.
//
// # Guarantees
//
//   - Outcomes: a nil error is a success; Config.Classify decides for other
//     errors (default: context.Canceled is ignored, the rest fail). An error
//     from a call whose caller canceled its context is never held against
//     the dependency. A panic in the protected function counts as a failure,
//     frees the permit (a half-open slot is never lost) and keeps unwinding
//     with its original stack.
//   - Generations: every transition starts a new generation, and a result
//     is recorded only in the generation that admitted its call. A slow
//     failure from before a trip can therefore not reopen a breaker that has
//     since closed, nor count in the new window.
//   - Exactly one transition per trip: concurrent failures that cross a
//     threshold together open the breaker once.
//   - OnStateChange runs outside every lock, once per transition, in
//     transition order, and may call any method of the breaker.
//   - No goroutines of its own: the only background work is a runtime timer
//     per open period that moves the breaker to half-open on time; it needs
//     no Close and is stopped when the period ends early.
//   - Bounded memory: a count window takes one byte per call (at most
//     MaxWindowSize calls), a time window at most MaxWindowBuckets buckets,
//     and a Group at most its MaxBreakers breakers.
//
// # Cost
//
// Admission and the common outcomes are lock-free. A closed breaker with a
// count window and no slow-call threshold admits a call with one atomic
// load and reads no clock; while its window is full and holds no failures
// or slow calls, a success changes nothing and is another load, with no
// shared write, so the call scales across cores. Failures, and successes
// while the window still holds failures, take a mutex. A time window reads
// the clock once per call and adds to one bucket counter atomically; a
// slow-call threshold costs a clock read at admission too. Rejection by an
// open breaker reads no clock and allocates nothing: it loads the word and
// returns the open period's shared *OpenError. The end of an open period is
// therefore observed through its timer (or by State and Stats, which read
// the clock), not on every rejected call; Allow can keep rejecting for the
// moment between the deadline and the timer's run.
//
// # Differences from other breakers
//
// Unlike sony/gobreaker, OnStateChange may call back into the breaker, calls
// carry a context, windows can count calls, and slow calls can trip. Unlike
// go-resiliency, half-open admits a bounded number of probes. Unlike
// failsafe-go, calls allocate nothing and a panicking probe frees its slot.
package breaker
