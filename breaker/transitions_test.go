package breaker_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

var errBoom = errors.New("boom")

// call runs one Do whose function returns err and returns Do's error.
func call(b *breaker.Breaker, err error) error {
	_, got := breaker.Do(context.Background(), b, func(context.Context) (int, error) { return 0, err })
	return got
}

// slowCall runs one Do whose function takes d (inside a synctest bubble)
// and returns err.
func slowCall(b *breaker.Breaker, d time.Duration, err error) error {
	_, got := breaker.Do(context.Background(), b, func(context.Context) (int, error) {
		time.Sleep(d)
		return 0, err
	})
	return got
}

// sleepPast sleeps d inside a synctest bubble and lets timers that fired
// meanwhile run: an open breaker's rejection path reads no clock, so Allow
// sees the end of an open period once its timer has run (State and Stats
// read the clock and see it at once).
func sleepPast(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// recorder collects OnStateChange calls.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) hook(_ string, from, to breaker.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, from.String()+">"+to.String())
}

func (r *recorder) transitions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// openErr returns err as an *OpenError or fails the test.
func openErr(t *testing.T, err error) *breaker.OpenError {
	t.Helper()
	require.ErrorIs(t, err, breaker.ErrOpen, "want a rejection")
	var oe *breaker.OpenError
	require.ErrorAs(t, err, &oe, "a rejection is an *OpenError")
	return oe
}

func TestConsecutiveFailuresTripAndRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.Config{Name: "db", ConsecutiveFailures: 3, OpenDuration: time.Second, OnStateChange: rec.hook})
		for i := range 3 {
			require.Equal(t, breaker.StateClosed, b.State(), "closed before failure %d", i+1)
			require.ErrorIs(t, call(b, errBoom), errBoom, "the call's own error passes through")
		}
		require.Equal(t, breaker.StateOpen, b.State(), "three failures in a row open the breaker")

		oe := openErr(t, call(b, nil))
		assert.Equal(t, breaker.StateOpen, oe.State, "rejected because open")
		assert.Equal(t, "db", oe.Name, "the error names the breaker")
		assert.Equal(t, time.Second, oe.RetryAfter(), "the wait is the whole open duration")
		assert.Equal(t, `breaker "db": open until `+oe.Until.Format("15:04:05.000 MST"), oe.Error(), "the message says when to retry")
		msg := oe.Error()
		assert.NotErrorIs(t, oe, errBoom, "a rejection matches only ErrOpen")

		time.Sleep(400 * time.Millisecond)
		assert.Equal(t, 600*time.Millisecond, openErr(t, call(b, nil)).RetryAfter(), "the wait shrinks with time")
		assert.Equal(t, 600*time.Millisecond, b.Stats().RetryAfter, "Stats reports the same wait")
		assert.Equal(t, msg, oe.Error(), "the message does not change while the error is kept")

		time.Sleep(600 * time.Millisecond)
		require.Equal(t, breaker.StateHalfOpen, b.State(), "half-open as soon as the open duration has passed")
		require.NoError(t, call(b, nil), "the probe is admitted")
		require.Equal(t, breaker.StateClosed, b.State(), "one successful probe closes the breaker")
		assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, rec.transitions(),
			"each transition is reported once, in order")
	})
}

func TestSuccessBreaksTheRowAndIgnoredDoesNot(t *testing.T) {
	b := breaker.New(breaker.Config{ConsecutiveFailures: 2})
	require.ErrorIs(t, call(b, errBoom), errBoom)
	require.NoError(t, call(b, nil))
	require.ErrorIs(t, call(b, errBoom), errBoom)
	assert.Equal(t, breaker.StateClosed, b.State(), "a success in between resets the row")
	assert.Equal(t, 1, b.Stats().ConsecutiveFailures, "the row restarted at the last failure")
	require.ErrorIs(t, call(b, context.Canceled), context.Canceled)
	assert.Equal(t, breaker.StateClosed, b.State(), "an ignored result neither counts nor breaks the row")
	require.ErrorIs(t, call(b, errBoom), errBoom)
	assert.Equal(t, breaker.StateOpen, b.State(), "two failures in a row around an ignored result trip")
}

func TestStateReportsHalfOpenWithoutACall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Minute, OnStateChange: rec.hook})
		require.Error(t, call(b, errBoom))
		time.Sleep(time.Minute - time.Nanosecond)
		assert.Equal(t, breaker.StateOpen, b.State(), "still open a nanosecond before the end")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, breaker.StateHalfOpen, b.State(), "half-open exactly at the end, no call needed")
		assert.Equal(t, []string{"closed>open", "open>half-open"}, rec.transitions(),
			"the move to half-open is reported once, whether State or the timer saw it first")
	})
}

func TestTimerEndsTheOpenPeriodForAllow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, OnStateChange: rec.hook})
		require.Error(t, call(b, errBoom))
		time.Sleep(time.Second)
		synctest.Wait() // let the open period's timer run
		assert.Equal(t, []string{"closed>open", "open>half-open"}, rec.transitions(),
			"the timer reports the end of the open period without any call")
		p, err := b.Allow()
		require.NoError(t, err, "Allow admits a probe once the timer has run")
		p.Done(nil)
		assert.Equal(t, breaker.StateClosed, b.State())
	})
}

func TestFailureRate(t *testing.T) {
	tests := []struct {
		name     string
		failures int // failures among 10 calls, recorded first
		want     breaker.State
	}{
		{"below the rate", 3, breaker.StateClosed},
		{"at the rate", 4, breaker.StateOpen},
		{"above the rate", 6, breaker.StateOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := breaker.New(breaker.Config{WindowSize: 20, MinCalls: 10, FailureRate: 40})
			for i := range 10 {
				var err error
				if i < tt.failures {
					err = errBoom
				}
				if i < 9 {
					_ = call(b, err)
					require.Equal(t, breaker.StateClosed, b.State(), "no rate applies before MinCalls calls (call %d)", i+1)
					continue
				}
				_ = call(b, err)
			}
			assert.Equal(t, tt.want, b.State(), "%d failures of 10 calls against a 40%% rate", tt.failures)
		})
	}
}

func TestCountWindowForgetsOldCalls(t *testing.T) {
	b := breaker.New(breaker.Config{WindowSize: 4, MinCalls: 4, FailureRate: 50})
	_ = call(b, errBoom)
	for range 4 {
		require.NoError(t, call(b, nil))
	}
	s := b.Stats()
	assert.Equal(t, 4, s.Calls, "the window holds its size")
	assert.Equal(t, 0, s.Failures, "the failure was pushed out by four successes")
	_ = call(b, errBoom)
	assert.Equal(t, breaker.StateClosed, b.State(), "one failure in four calls is below 50%")
	_ = call(b, errBoom)
	assert.Equal(t, breaker.StateOpen, b.State(), "two failures in the last four calls reach 50%")
}

func TestSlowCallRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{
			WindowSize: 10, MinCalls: 4, ConsecutiveFailures: 100,
			SlowCallDuration: 100 * time.Millisecond, SlowCallRate: 50,
		})
		require.NoError(t, slowCall(b, 99*time.Millisecond, nil), "just under the threshold")
		require.NoError(t, slowCall(b, 100*time.Millisecond, nil), "at the threshold: slow")
		require.NoError(t, call(b, nil))
		s := b.Stats()
		assert.Equal(t, 3, s.Calls)
		assert.Equal(t, 1, s.SlowCalls, "only a call lasting the threshold or longer is slow")
		require.ErrorIs(t, slowCall(b, time.Second, errBoom), errBoom)
		s = b.Stats()
		assert.Equal(t, breaker.StateOpen, s.State, "two slow calls of four reach 50%")
		assert.Equal(t, uint64(1), s.Opens)
	})
}

func TestSlowProbeReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{
			ConsecutiveFailures: 1, OpenDuration: time.Second,
			SlowCallDuration: time.Second, SlowCallRate: 100, MinCalls: 1,
		})
		require.Error(t, call(b, errBoom))
		time.Sleep(time.Second)
		require.Equal(t, breaker.StateHalfOpen, b.State())
		require.NoError(t, slowCall(b, 2*time.Second, nil), "the probe succeeds, slowly")
		assert.Equal(t, breaker.StateOpen, b.State(), "a slow probe counts as failed under a slow-call rule")
	})
}

func TestTimeWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{
			WindowDuration: 10 * time.Second, WindowBuckets: 10, MinCalls: 4, FailureRate: 50,
		})
		_ = call(b, errBoom)
		for range 3 {
			require.NoError(t, call(b, nil))
		}
		s := b.Stats()
		assert.Equal(t, 4, s.Calls, "calls of the current bucket count")
		assert.Equal(t, 1, s.Failures)

		time.Sleep(5 * time.Second)
		for range 2 {
			require.NoError(t, call(b, nil))
		}
		assert.Equal(t, 6, b.Stats().Calls, "calls of the last 10s count")

		time.Sleep(5 * time.Second) // the first bucket expires whole
		s = b.Stats()
		assert.Equal(t, 2, s.Calls, "the bucket of the first four calls expired")
		assert.Equal(t, 0, s.Failures, "its failure expired with it")

		for range 2 {
			require.NoError(t, call(b, nil)) // lock-free path: the window is clean
		}
		assert.Equal(t, 4, b.Stats().Calls, "successes on the lock-free path are counted")
		_ = call(b, errBoom)
		_ = call(b, errBoom)
		assert.Equal(t, breaker.StateClosed, b.State(), "two failures of six calls are below 50%")
		_ = call(b, errBoom)
		_ = call(b, errBoom)
		assert.Equal(t, breaker.StateOpen, b.State(), "four failures of eight calls reach 50%")
	})
}

func TestTimeWindowMinCallsCountsOnlyLiveCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{WindowDuration: time.Second, WindowBuckets: 2, MinCalls: 3, FailureRate: 50})
		_ = call(b, errBoom)
		_ = call(b, errBoom)
		time.Sleep(time.Second)
		_ = call(b, errBoom)
		assert.Equal(t, breaker.StateClosed, b.State(), "failures that expired do not make up MinCalls")
		_ = call(b, errBoom)
		_ = call(b, errBoom)
		assert.Equal(t, breaker.StateOpen, b.State(), "three live failures do")
	})
}

func TestHalfOpenProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, HalfOpenProbes: 2, SuccessesToClose: 3})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)

		p1, err := b.Allow()
		require.NoError(t, err, "first probe admitted")
		p2, err := b.Allow()
		require.NoError(t, err, "second probe admitted")
		oe := openErr(t, call(b, nil))
		assert.Equal(t, breaker.StateHalfOpen, oe.State, "a third concurrent call is rejected at once")
		assert.Equal(t, breaker.NoEstimate, oe.RetryAfter(), "no estimate while probes run")
		assert.Equal(t, 2, b.Stats().Probes)

		p1.Done(nil)
		p2.Done(context.Canceled) // ignored: frees its slot without a verdict
		s := b.Stats()
		assert.Equal(t, breaker.StateHalfOpen, s.State, "one success of three needed")
		assert.Equal(t, 1, s.ProbeSuccesses)
		assert.Equal(t, 0, s.Probes, "both slots are free again")

		require.NoError(t, call(b, nil))
		assert.Equal(t, breaker.StateHalfOpen, b.State(), "two successes of three")
		require.NoError(t, call(b, nil))
		assert.Equal(t, breaker.StateClosed, b.State(), "the third success closes")
	})
}

func TestFailedProbeReopensWithGrowingCappedDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, MaxOpenDuration: 5 * time.Second})
		require.Error(t, call(b, errBoom))
		for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
			s := b.Stats()
			require.Equal(t, breaker.StateOpen, s.State)
			assert.Equal(t, want, s.RetryAfter, "open duration after %d reopenings", s.Reopens)
			time.Sleep(want)
			require.Equal(t, breaker.StateHalfOpen, b.State())
			require.ErrorIs(t, call(b, errBoom), errBoom, "the probe fails")
		}
		sleepPast(5 * time.Second)
		require.NoError(t, call(b, nil))
		require.Equal(t, breaker.StateClosed, b.State())
		require.Error(t, call(b, errBoom))
		assert.Equal(t, time.Second, b.Stats().RetryAfter, "closing forgets the reopenings")
	})
}

func TestOpenJitterShortensWithinBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: 10 * time.Second, OpenJitter: 0.5})
		seen := map[time.Duration]bool{}
		for range 50 {
			require.Error(t, call(b, errBoom))
			d := b.Stats().RetryAfter
			assert.GreaterOrEqual(t, d, 5*time.Second, "jitter takes at most half")
			assert.LessOrEqual(t, d, 10*time.Second, "jitter never lengthens")
			seen[d] = true
			b.Reset()
		}
		assert.Greater(t, len(seen), 10, "jitter varies the duration")
	})
}

func TestProbeTimeoutReopensAWedgedHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, ProbeTimeout: 10 * time.Second})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)
		lost, err := b.Allow() // a probe whose permit is never completed in time
		require.NoError(t, err)
		time.Sleep(10*time.Second - time.Nanosecond)
		assert.Equal(t, breaker.StateHalfOpen, openErr(t, call(b, nil)).State, "still waiting for the probe")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, breaker.StateOpen, openErr(t, call(b, nil)).State, "the probe timed out: reopened")
		lost.Done(nil)
		s := b.Stats()
		assert.Equal(t, uint64(1), s.Discarded, "the late probe result belongs to an old generation")
		assert.Equal(t, breaker.StateOpen, s.State)
		sleepPast(2 * time.Second)
		require.NoError(t, call(b, nil), "a fresh half-open period admits a probe")
		assert.Equal(t, breaker.StateClosed, b.State())
	})
}

func TestResultsFromAnEarlierGenerationAreDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 2, OpenDuration: time.Second})
		early, err := b.Allow() // admitted while closed
		require.NoError(t, err)
		_ = call(b, errBoom)
		_ = call(b, errBoom)
		require.Equal(t, breaker.StateOpen, b.State())
		sleepPast(time.Second)
		require.NoError(t, call(b, nil))
		require.Equal(t, breaker.StateClosed, b.State(), "closed again")
		_ = call(b, errBoom) // one failure of the new generation

		early.Done(errBoom) // would be the second failure in a row
		s := b.Stats()
		assert.Equal(t, breaker.StateClosed, s.State, "a failure admitted before the trip does not count now")
		assert.Equal(t, 1, s.ConsecutiveFailures)
		assert.Equal(t, uint64(1), s.Discarded)
	})
}

func TestOperatorStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, OnStateChange: rec.hook})

		b.ForceOpen()
		oe := openErr(t, call(b, nil))
		assert.Equal(t, breaker.StateForcedOpen, oe.State)
		assert.Equal(t, breaker.NoEstimate, oe.RetryAfter(), "no estimate for an operator decision")
		time.Sleep(time.Hour)
		assert.Equal(t, breaker.StateForcedOpen, b.State(), "forced open does not time out")

		b.Disable()
		for range 10 {
			require.ErrorIs(t, call(b, errBoom), errBoom, "disabled admits everything")
		}
		assert.Equal(t, breaker.StateDisabled, b.State(), "and records nothing")

		b.Reset()
		assert.Equal(t, breaker.StateClosed, b.State())
		assert.Zero(t, b.Stats().Calls, "Reset starts with an empty window")
		b.Reset()
		assert.Equal(t, []string{"closed>forced-open", "forced-open>disabled", "disabled>closed"}, rec.transitions(),
			"operator moves are transitions; Reset of a closed breaker is not")

		require.Error(t, call(b, errBoom))
		b.Reset()
		time.Sleep(time.Hour)
		assert.Equal(t, breaker.StateClosed, b.State(), "Reset cancels the open period's timer")
	})
}

// How the caller's context ends during a call in TestClassification.
const (
	ctxLive     = iota // the context stays live
	ctxCanceled        // the caller cancels it during the call
	ctxDeadline        // its deadline passes during the call
	viaPermit          // the result is reported with Permit.Done, no context
)

func TestClassification(t *testing.T) {
	custom := func(err error) breaker.Outcome {
		switch {
		case errors.Is(err, errNotFound):
			return breaker.Success
		case errors.Is(err, errBadInput):
			return breaker.Ignore
		case errors.Is(err, errWeird):
			return breaker.Outcome(42)
		}
		return breaker.Failure
	}
	tests := []struct {
		name     string
		classify func(error) breaker.Outcome
		ctx      int
		err      error
		want     string // "success", "failure" or "ignore", as seen in Stats
	}{
		{"nil is success", nil, ctxLive, nil, "success"},
		{"error is failure", nil, ctxLive, errBoom, "failure"},
		{"context.Canceled is ignored", nil, ctxLive, context.Canceled, "ignore"},
		{"deadline exceeded is a failure", nil, ctxLive, context.DeadlineExceeded, "failure"},
		{"any error of a canceled caller is ignored", nil, ctxCanceled, errBoom, "ignore"},
		{"success of a canceled caller counts", nil, ctxCanceled, nil, "success"},
		{"a caller's expired deadline is the dependency's failure", nil, ctxDeadline, context.DeadlineExceeded, "failure"},
		{"Done: canceled is ignored", nil, viaPermit, context.Canceled, "ignore"},
		{"Done: error is failure", nil, viaPermit, errBoom, "failure"},
		{"Done: nil is success", nil, viaPermit, nil, "success"},
		{"custom success", custom, ctxLive, errNotFound, "success"},
		{"custom ignore", custom, ctxLive, errBadInput, "ignore"},
		{"custom failure", custom, ctxLive, errBoom, "failure"},
		{"custom unknown outcome fails", custom, ctxLive, errWeird, "failure"},
		{"custom cannot count a canceled caller", custom, ctxCanceled, errNotFound, "ignore"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := breaker.New(breaker.Config{WindowSize: 10, Classify: tt.classify})
				if tt.ctx == viaPermit {
					p, err := b.Allow()
					require.NoError(t, err)
					p.Done(tt.err)
				} else {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					defer cancel()
					_, err := breaker.Do(ctx, b, func(context.Context) (int, error) {
						switch tt.ctx {
						case ctxCanceled:
							cancel()
						case ctxDeadline:
							time.Sleep(2 * time.Second)
						}
						return 0, tt.err
					})
					require.ErrorIs(t, err, tt.err, "Do returns fn's error unchanged")
				}
				s := b.Stats()
				got := map[[2]int]string{{1, 0}: "success", {1, 1}: "failure", {0, 0}: "ignore"}[[2]int{s.Calls, s.Failures}]
				assert.Equal(t, tt.want, got, "window after one call: %+v", s)
			})
		})
	}
}

var (
	errNotFound = errors.New("not found")
	errBadInput = errors.New("bad input")
	errWeird    = errors.New("weird")
)

func TestHugeOpenDurationsDoNotOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const third = time.Duration(math.MaxInt64 / 3)
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: third, MaxOpenDuration: math.MaxInt64})
		require.Error(t, call(b, errBoom))
		assert.Equal(t, third, b.Stats().RetryAfter)
		time.Sleep(third)
		require.Equal(t, breaker.StateHalfOpen, b.State())
		require.Error(t, call(b, errBoom))
		s := b.Stats()
		require.Equal(t, breaker.StateOpen, s.State)
		assert.Equal(t, 2*third, s.RetryAfter, "doubling near the top of int64 stays exact")
		b.Reset()
	})
}

func TestDoubleDoneNeverWidensHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second, HalfOpenProbes: 1, SuccessesToClose: 3})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)
		p, err := b.Allow()
		require.NoError(t, err)
		p.Done(context.Canceled) // ignored: frees the slot
		p.Done(context.Canceled) // a caller's bug: p was already done
		assert.Zero(t, b.Stats().Probes, "probes in flight never go below zero")
		q, err := b.Allow()
		require.NoError(t, err, "the slot is free")
		_, err = b.Allow()
		require.ErrorIs(t, err, breaker.ErrOpen, "and there is still only one")
		q.Done(nil)
		assert.Equal(t, 1, b.Stats().ProbeSuccesses)
	})
}
