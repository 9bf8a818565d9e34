package bulkhead_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/bulkhead"
)

func TestValidate(t *testing.T) {
	adaptive := func(a bulkhead.Adaptive) bulkhead.Config {
		if a.Algorithm == bulkhead.Fixed {
			a.Algorithm = bulkhead.Gradient
		}
		return bulkhead.Config{Adaptive: a}
	}
	tests := []struct {
		name string
		cfg  bulkhead.Config
		want string
	}{
		{"zero is valid", bulkhead.Config{}, ""},
		{"adaptive zero is valid", adaptive(bulkhead.Adaptive{}), ""},
		{"negative concurrency", bulkhead.Config{MaxConcurrent: -1}, "MaxConcurrent"},
		{"huge concurrency", bulkhead.Config{MaxConcurrent: 1 << 40}, "MaxConcurrent"},
		{"negative queue", bulkhead.Config{MaxQueued: -1}, "MaxQueued"},
		{"negative wait", bulkhead.Config{MaxWait: -time.Second}, "MaxWait"},
		{"unknown algorithm", bulkhead.Config{Adaptive: bulkhead.Adaptive{Algorithm: 5}}, "Algorithm"},
		{"fixed ignores adaptive fields", bulkhead.Config{Adaptive: bulkhead.Adaptive{Backoff: 7}}, ""},
		{"negative min", adaptive(bulkhead.Adaptive{MinLimit: -1}), "MinLimit"},
		{"backoff out of range", adaptive(bulkhead.Adaptive{Backoff: 1}), "Backoff"},
		{"negative slow call", adaptive(bulkhead.Adaptive{SlowCall: -1}), "SlowCall"},
		{"tolerance below one", adaptive(bulkhead.Adaptive{Tolerance: 0.5}), "Tolerance"},
		{"smoothing above one", adaptive(bulkhead.Adaptive{Smoothing: 1.5}), "Smoothing"},
		{"negative queue size", adaptive(bulkhead.Adaptive{QueueSize: -1}), "QueueSize"},
		{"negative probe interval", adaptive(bulkhead.Adaptive{ProbeInterval: -1}), "ProbeInterval"},
		{"min above max", adaptive(bulkhead.Adaptive{MinLimit: 10, MaxLimit: 5}), "exceeds"},
		{"start outside bounds", bulkhead.Config{MaxConcurrent: 3, Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.AIMD, MinLimit: 5}}, "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				require.NotPanics(t, func() { bulkhead.New(tt.cfg) })
				return
			}
			require.ErrorContains(t, err, tt.want, "Validate names the bad field")
			require.ErrorContains(t, err, "bulkhead: ")
			require.PanicsWithValue(t, err.Error(), func() { bulkhead.New(tt.cfg) }, "New panics with Validate's message")
		})
	}
}

func TestDefaults(t *testing.T) {
	st := bulkhead.New(bulkhead.Config{}).Stats()
	assert.Equal(t, bulkhead.DefaultMaxConcurrent, st.Limit)
	assert.Zero(t, st.InFlight)
}

func TestFullRejectsAtOnce(t *testing.T) {
	var rejected []error
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 2, OnReject: func(err error) { rejected = append(rejected, err) }})
	ctx := context.Background()
	p1, err := b.Acquire(ctx)
	require.NoError(t, err)
	p2, err := b.Acquire(ctx)
	require.NoError(t, err)
	_, err = b.Acquire(ctx)
	assert.ErrorIs(t, err, bulkhead.ErrQueueFull, "with no waiting room a full bulkhead rejects at once")
	_, ok := b.TryAcquire()
	assert.False(t, ok, "TryAcquire fails when full")
	assert.Equal(t, bulkhead.Stats{Limit: 2, InFlight: 2, Rejected: 1}, b.Stats())
	assert.Equal(t, []error{bulkhead.ErrQueueFull}, rejected, "OnReject sees the rejection")
	p1.Release()
	p3, ok := b.TryAcquire()
	assert.True(t, ok, "a released permit can be taken again")
	p2.Release()
	p3.Release()
	assert.Zero(t, b.Stats().InFlight)
}

func TestQueueIsFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 5})
		ctx := context.Background()
		holder, err := b.Acquire(ctx)
		require.NoError(t, err)
		order := make(chan int, 5)
		for i := range 5 {
			go func() {
				p, err := b.Acquire(ctx)
				if !assert.NoError(t, err) {
					return
				}
				order <- i
				time.Sleep(time.Millisecond)
				p.Release()
			}()
			synctest.Wait() // waiter i is queued before waiter i+1 starts
		}
		assert.Equal(t, 5, b.Stats().Queued)
		_, err = b.Acquire(ctx)
		assert.ErrorIs(t, err, bulkhead.ErrQueueFull, "a sixth waiter does not fit")
		holder.Release()
		for want := range 5 {
			assert.Equal(t, want, <-order, "waiters get permits in arrival order")
		}
		time.Sleep(time.Millisecond) // the last one releases
		synctest.Wait()
		assert.Equal(t, bulkhead.Stats{Limit: 1, Rejected: 1}, b.Stats())
	})
}

func TestNewcomerCannotJumpTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1})
		ctx := context.Background()
		holder, _ := b.Acquire(ctx)
		got := make(chan bulkhead.Permit)
		go func() {
			p, err := b.Acquire(ctx)
			assert.NoError(t, err)
			got <- p
		}()
		synctest.Wait()
		holder.Release()
		_, ok := b.TryAcquire()
		assert.False(t, ok, "the released permit went to the waiter, not to a newcomer")
		(<-got).Release()
	})
}

func TestMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rejected []error
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1, MaxWait: time.Second,
			OnReject: func(err error) { rejected = append(rejected, err) }})
		holder, _ := b.Acquire(context.Background())
		start := time.Now()
		_, err := b.Acquire(context.Background())
		assert.ErrorIs(t, err, bulkhead.ErrWaitTimeout, "waiting past MaxWait fails with its own error")
		assert.NotErrorIs(t, err, bulkhead.ErrQueueFull)
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, bulkhead.Stats{Limit: 1, InFlight: 1, TimedOut: 1}, b.Stats(), "the timed-out waiter left the queue")
		assert.Equal(t, []error{bulkhead.ErrWaitTimeout}, rejected)
		holder.Release()
	})
}

func TestContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, MaxQueued: 1})
		done, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := b.Acquire(done)
		assert.ErrorIs(t, err, context.Canceled, "a done context fails at once, even with a free permit")
		assert.Zero(t, b.Stats().InFlight)

		holder, _ := b.Acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = b.Acquire(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline ends the wait")
		assert.Equal(t, bulkhead.Stats{Limit: 1, InFlight: 1, Canceled: 1}, b.Stats())
		holder.Release()
	})
}

func TestReleaseMisuse(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	assert.NotPanics(t, func() { bulkhead.Permit{}.Release() }, "the zero Permit releases nothing")
	p, _ := b.Acquire(context.Background())
	p.Release()
	assert.PanicsWithValue(t, "bulkhead: Release without a matching Acquire", func() { p.Release() }, "a double release is caught")

	a := bulkhead.New(bulkhead.Config{Adaptive: bulkhead.Adaptive{Algorithm: bulkhead.AIMD}})
	p, _ = a.Acquire(context.Background())
	p.Release()
	assert.Panics(t, func() { p.Done(nil) }, "adaptive bulkheads catch it too")
}

func TestDo(t *testing.T) {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	v, err := bulkhead.Do(context.Background(), b, func(ctx context.Context) (string, error) {
		assert.Equal(t, 1, b.Stats().InFlight, "fn runs under a permit")
		_, err := bulkhead.Do(ctx, b, func(context.Context) (string, error) { return "inner", nil })
		assert.ErrorIs(t, err, bulkhead.ErrQueueFull, "no second permit while the first is held")
		return "ok", errors.New("fn error")
	})
	assert.Equal(t, "ok", v, "Do returns fn's value")
	assert.EqualError(t, err, "fn error", "and fn's error unchanged")
	assert.Zero(t, b.Stats().InFlight, "the permit is returned")
}

func TestDoPanicReleases(t *testing.T) {
	for _, alg := range []bulkhead.Algorithm{bulkhead.Fixed, bulkhead.AIMD, bulkhead.Gradient} {
		b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1, Adaptive: bulkhead.Adaptive{Algorithm: alg}})
		assert.PanicsWithValue(t, "user panic", func() {
			_, _ = bulkhead.Do(context.Background(), b, func(context.Context) (int, error) { panic("user panic") })
		}, "the user's panic goes on")
		assert.Zero(t, b.Stats().InFlight, "algorithm %d: a panic returns the permit", alg)
	}
}
