package breaker_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/breaker"
)

func TestOnStateChangeMayCallEveryMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *breaker.Breaker
		var rec recorder
		var seen []breaker.Stats
		b = breaker.New(breaker.Config{
			ConsecutiveFailures: 1,
			OpenDuration:        time.Second,
			OnStateChange: func(name string, from, to breaker.State) {
				rec.hook(name, from, to)
				seen = append(seen, b.Stats())
				if to == breaker.StateOpen && from == breaker.StateClosed {
					assert.Equal(t, breaker.StateOpen, b.State(), "State inside the callback")
					// A transition caused from the callback: queued and
					// delivered after this callback returns.
					b.ForceOpen()
					_, err := b.Allow()
					assert.ErrorIs(t, err, breaker.ErrOpen, "Allow inside the callback")
					b.Reset()
				}
			},
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = call(b, errBoom)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("a callback calling back into the breaker deadlocked")
		}
		assert.Equal(t, []string{"closed>open", "open>forced-open", "forced-open>closed"}, rec.transitions(),
			"nested transitions are delivered in transition order, after the callback that caused them")
		require.Len(t, seen, 3, "Stats ran in every callback")
		assert.Equal(t, breaker.StateOpen, seen[0].State, "the first callback saw the open breaker")
		assert.Equal(t, breaker.StateClosed, b.State())
		assert.Equal(t, uint64(3), b.Stats().Transitions)
	})
}

func TestPanickingCallbackDoesNotWedgeDelivery(t *testing.T) {
	var rec recorder
	b := breaker.New(breaker.Config{
		ConsecutiveFailures: 1,
		OnStateChange: func(name string, from, to breaker.State) {
			rec.hook(name, from, to)
			if to == breaker.StateForcedOpen {
				panic("callback bug")
			}
		},
	})
	require.PanicsWithValue(t, "callback bug", b.ForceOpen, "a panic in the callback reaches the caller that delivered it")
	assert.Equal(t, breaker.StateForcedOpen, b.State(), "the transition itself happened")
	b.Reset()
	assert.Equal(t, []string{"closed>forced-open", "forced-open>closed"}, rec.transitions(),
		"later transitions are still delivered")
}

func TestPanicCountsAsFailureAndPropagates(t *testing.T) {
	b := breaker.New(breaker.Config{ConsecutiveFailures: 2})
	require.PanicsWithValue(t, "bug", func() {
		_, _ = breaker.Do(context.Background(), b, func(context.Context) (int, error) { panic("bug") })
	}, "the panic is re-raised with its value")
	s := b.Stats()
	assert.Equal(t, 1, s.Failures, "the panic counted as a failure")
	assert.Equal(t, 1, s.ConsecutiveFailures)
}

func TestPanickingProbeLeavesBreakerUsable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)
		require.Equal(t, breaker.StateHalfOpen, b.State())
		require.Panics(t, func() {
			_, _ = breaker.Do(context.Background(), b, func(context.Context) (int, error) { panic("probe bug") })
		})
		s := b.Stats()
		assert.Equal(t, breaker.StateOpen, s.State, "the panicking probe failed and reopened the breaker")
		assert.Zero(t, s.Probes, "its slot was released")
		sleepPast(time.Second)
		require.NoError(t, call(b, nil), "the next half-open period admits a probe")
		assert.Equal(t, breaker.StateClosed, b.State(), "and can close")
	})
}

func TestGoexitInProbeReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = breaker.Do(context.Background(), b, func(context.Context) (int, error) {
				runtime_Goexit()
				return 0, nil
			})
		}()
		<-done
		assert.Equal(t, breaker.StateOpen, b.State(), "a probe that never returned counts as failed")
		assert.Zero(t, b.Stats().Probes, "and holds no slot")
	})
}

func TestDoWithDoneContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := breaker.New(breaker.Config{ConsecutiveFailures: 1, OpenDuration: time.Second})
		require.Error(t, call(b, errBoom))
		sleepPast(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		_, err := breaker.Do(ctx, b, func(context.Context) (int, error) { called = true; return 0, nil })
		require.ErrorIs(t, err, context.Canceled, "a done context ends Do at once")
		assert.False(t, called, "fn is not called")
		s := b.Stats()
		assert.Equal(t, breaker.StateHalfOpen, s.State, "nothing was recorded")
		assert.Zero(t, s.Probes, "the half-open slot was given back")
	})
}
