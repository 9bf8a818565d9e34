package breaker

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// A caller that waits exactly the hint of a rejection must be admitted,
// even when the timer that ends the open period has not run yet: the
// rejection path reads no clock, so RetryAfter ends the period itself.
func TestWaitingTheHintAdmitsWhenTheTimerIsLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{ConsecutiveFailures: 1, OpenDuration: time.Second})
		_, err := Do(context.Background(), b, func(context.Context) (int, error) { return 0, errors.New("boom") })
		require.Error(t, err)

		b.mu.Lock()
		b.timer.Stop() // the timer is late: it has not run when the hint is over
		b.mu.Unlock()

		_, err = b.Allow()
		var oe *OpenError
		require.ErrorAs(t, err, &oe, "open: rejected")
		time.Sleep(oe.RetryAfter())

		_, err = b.Allow()
		require.ErrorAs(t, err, &oe, "without the timer the lock-free path still rejects")
		require.Zero(t, oe.RetryAfter(), "the period is over: no further wait")
		p, err := b.Allow()
		require.NoError(t, err, "RetryAfter ended the open period, so the probe is admitted")
		p.Done(nil)
		require.Equal(t, StateClosed, b.State(), "the probe closed the breaker")
	})
}
