package breaker_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

var errBoom = errors.New("boom")

func fail(context.Context) (int, error) { return 0, errBoom }

// call runs one Do with the given result and returns Do's error.
func call(b *breaker.Breaker, err error) error {
	_, got := breaker.Do(context.Background(), b, func(context.Context) (int, error) { return 0, err })
	return got
}

func TestConsecutiveFailuresTripAndRecover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 3, OpenDuration: time.Second})
		for i := range 3 {
			require.Equal(t, breaker.StateClosed, b.State(), "closed before failure %d", i+1)
			require.ErrorIs(t, call(b, errBoom), errBoom, "the call's own error passes through")
		}
		require.Equal(t, breaker.StateOpen, b.State(), "three failures in a row open the breaker")

		err := call(b, nil)
		require.ErrorIs(t, err, breaker.ErrOpen, "an open breaker rejects")
		var oe *breaker.OpenError
		require.ErrorAs(t, err, &oe, "the rejection is an *OpenError")
		assert.Equal(t, time.Second, oe.RetryAfter(), "the wait is the whole open duration")

		time.Sleep(time.Second)
		require.Equal(t, breaker.StateHalfOpen, b.State(), "half-open as soon as the open duration has passed")
		require.NoError(t, call(b, nil), "the probe is admitted")
		require.Equal(t, breaker.StateClosed, b.State(), "one successful probe closes the breaker")
	})
}
