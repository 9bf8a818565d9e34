package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/retry"
)

var errBoom = errors.New("boom")

// failing returns an fn that fails n times with err, then returns n+1.
func failing(n int, err error, calls *int) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		*calls++
		if *calls <= n {
			return 0, err
		}
		return *calls, nil
	}
}

// noDelay is a policy config whose retries do not wait.
func noDelay(cfg retry.Config) retry.Config {
	cfg.DelayFunc = func(int, error) time.Duration { return 0 }
	return cfg
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  retry.Config
		want string
	}{
		{"zero is valid", retry.Config{}, ""},
		{"unlimited", retry.Config{MaxAttempts: retry.Unlimited}, ""},
		{"negative attempts", retry.Config{MaxAttempts: -1}, "MaxAttempts"},
		{"negative elapsed", retry.Config{MaxElapsed: -1}, "MaxElapsed"},
		{"negative attempt timeout", retry.Config{AttemptTimeout: -1}, "AttemptTimeout"},
		{"unknown backoff", retry.Config{Backoff: 7}, "Backoff"},
		{"negative initial", retry.Config{InitialDelay: -1}, "InitialDelay"},
		{"negative max", retry.Config{MaxDelay: -1}, "MaxDelay"},
		{"multiplier below one", retry.Config{Multiplier: 0.5}, "Multiplier"},
		{"multiplier NaN", retry.Config{Multiplier: nan()}, "Multiplier"},
		{"unknown jitter", retry.Config{Jitter: 9}, "Jitter"},
		{"decorrelated constant", retry.Config{Backoff: retry.Constant, Jitter: retry.JitterDecorrelated}, "Decorrelated"},
		{"negative hedge delay", retry.Config{HedgeDelay: -1}, "HedgeDelay"},
		{"initial above max", retry.Config{InitialDelay: time.Second, MaxDelay: time.Millisecond}, "exceeds"},
		{"initial above default max is fine", retry.Config{InitialDelay: time.Minute}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				require.NoError(t, err, "a valid config passes Validate")
				require.NotPanics(t, func() { retry.New(tt.cfg) }, "New accepts a valid config")
				return
			}
			require.ErrorContains(t, err, tt.want, "Validate names the bad field")
			require.ErrorContains(t, err, "retry: ", "errors carry the package prefix")
			require.PanicsWithValue(t, err.Error(), func() { retry.New(tt.cfg) }, "New panics with Validate's message")
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

func TestDoFirstSuccess(t *testing.T) {
	p := retry.New(retry.Config{})
	calls := 0
	v, err := retry.Do(context.Background(), p, failing(0, errBoom, &calls))
	require.NoError(t, err)
	assert.Equal(t, 1, v, "fn's result is returned")
	assert.Equal(t, 1, calls, "a success is not retried")
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	p := retry.New(noDelay(retry.Config{MaxAttempts: 5}))
	calls := 0
	v, err := retry.Do(context.Background(), p, failing(3, errBoom, &calls))
	require.NoError(t, err)
	assert.Equal(t, 4, v, "the value of the successful attempt is returned")
	assert.Equal(t, 4, calls, "three failures then a success make four attempts")
}

func TestDoMaxAttempts(t *testing.T) {
	for _, tt := range []struct {
		max, want int
	}{{0, retry.DefaultMaxAttempts}, {1, 1}, {2, 2}, {7, 7}} {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			p := retry.New(noDelay(retry.Config{MaxAttempts: tt.max}))
			calls := 0
			_, err := retry.Do(context.Background(), p, failing(100, errBoom, &calls))
			assert.Equal(t, tt.want, calls, "fn runs exactly MaxAttempts times")
			var rerr *retry.Error
			require.ErrorAs(t, err, &rerr, "failures are reported as *Error")
			assert.Equal(t, tt.want, rerr.Attempts, "Error.Attempts counts the attempts")
			assert.ErrorIs(t, err, retry.ErrAttempts, "the reason is ErrAttempts")
			assert.ErrorIs(t, err, errBoom, "the last error is visible through errors.Is")
			assert.Equal(t, errBoom, rerr.Last, "Last is fn's last error")
		})
	}
}

func TestDoUnlimitedStopsOnSuccess(t *testing.T) {
	p := retry.New(noDelay(retry.Config{MaxAttempts: retry.Unlimited}))
	calls := 0
	_, err := retry.Do(context.Background(), p, failing(1000, errBoom, &calls))
	require.NoError(t, err, "Unlimited keeps retrying until success")
	assert.Equal(t, 1001, calls)
}

func TestPermanent(t *testing.T) {
	p := retry.New(noDelay(retry.Config{MaxAttempts: 5}))
	t.Run("outermost marker is removed", func(t *testing.T) {
		calls := 0
		_, err := retry.Do(context.Background(), p, failing(10, retry.Permanent(errBoom), &calls))
		assert.Equal(t, 1, calls, "a Permanent error stops at once")
		var rerr *retry.Error
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, errBoom, rerr.Last, "Last is the error without its Permanent marker")
		assert.ErrorIs(t, err, retry.ErrPermanent)
	})
	t.Run("wrapped marker is seen", func(t *testing.T) {
		calls := 0
		_, err := retry.Do(context.Background(), p, failing(10, fmt.Errorf("op: %w", retry.Permanent(errBoom)), &calls))
		assert.Equal(t, 1, calls, "a wrapped Permanent error also stops")
		assert.ErrorIs(t, err, errBoom)
	})
	t.Run("nil stays nil", func(t *testing.T) {
		assert.NoError(t, retry.Permanent(nil))
	})
	t.Run("inner loop verdict stays inner", func(t *testing.T) {
		inner := retry.New(noDelay(retry.Config{MaxAttempts: 2}))
		outerCalls := 0
		_, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			outerCalls++
			return retry.Do(ctx, inner, func(context.Context) (int, error) {
				return 0, retry.Permanent(errBoom)
			})
		})
		assert.Equal(t, 5, outerCalls, "an inner Permanent error does not stop the outer loop")
		assert.ErrorIs(t, err, retry.ErrAttempts)
	})
}

func TestRetryable(t *testing.T) {
	errFatal := errors.New("fatal")
	p := retry.New(noDelay(retry.Config{
		MaxAttempts: 5,
		Retryable:   func(err error) bool { return !errors.Is(err, errFatal) },
	}))
	calls := 0
	_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
		calls++
		if calls == 2 {
			return 0, errFatal
		}
		return 0, errBoom
	})
	assert.Equal(t, 2, calls, "a rejected error stops the loop")
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.ErrorIs(t, err, errFatal)
}

func TestDoContextDoneBeforeFirstAttempt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	_, err := retry.Do(ctx, retry.New(retry.Config{}), failing(0, nil, &calls))
	assert.Zero(t, calls, "fn does not run under a done context")
	var rerr *retry.Error
	require.ErrorAs(t, err, &rerr)
	assert.Zero(t, rerr.Attempts)
	assert.Nil(t, rerr.Last)
	assert.ErrorIs(t, err, context.Canceled, "the context's error is wrapped")
}

func TestDoContextErrorFromFnStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := retry.New(noDelay(retry.Config{MaxAttempts: 5}))
	calls := 0
	_, err := retry.Do(ctx, p, func(ctx context.Context) (int, error) {
		calls++
		cancel()
		return 0, ctx.Err()
	})
	assert.Equal(t, 1, calls, "the caller's cancellation is not retried")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDoCanceledWhileSleeping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p := retry.New(retry.Config{MaxAttempts: 5, Backoff: retry.Constant, InitialDelay: time.Hour, Jitter: retry.JitterNone})
		go func() {
			time.Sleep(time.Minute)
			cancel()
		}()
		start := time.Now()
		calls := 0
		_, err := retry.Do(ctx, p, failing(10, errBoom, &calls))
		assert.Equal(t, time.Minute, time.Since(start), "Do returns as soon as the context is canceled")
		assert.Equal(t, 1, calls)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, errBoom, "the last error is kept with the context's")
	})
}

func TestDoStopsBeforeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		p := retry.New(retry.Config{MaxAttempts: 10, InitialDelay: 100 * time.Millisecond, Jitter: retry.JitterNone})
		start := time.Now()
		calls := 0
		_, err := retry.Do(ctx, p, failing(10, errBoom, &calls))
		// Delays 100ms, 200ms: the second would end at 300ms, past the deadline.
		assert.Equal(t, 2, calls, "no attempt is scheduled past the deadline")
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "Do does not sleep toward a deadline it cannot beat")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NoError(t, ctx.Err(), "Do stopped before the deadline itself")
	})
}

func TestMaxElapsedCountsFromFirstFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{
			MaxAttempts: retry.Unlimited, MaxElapsed: time.Second,
			Backoff: retry.Constant, InitialDelay: 300 * time.Millisecond, Jitter: retry.JitterNone,
		})
		var attemptsAt []time.Duration
		start := time.Now()
		_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
			attemptsAt = append(attemptsAt, time.Since(start))
			if len(attemptsAt) == 1 {
				time.Sleep(5 * time.Second) // a long first attempt
			}
			return 0, errBoom
		})
		require.ErrorIs(t, err, retry.ErrMaxElapsed)
		// First failure at 5s; retries at +300, +600, +900, then the last delay is cut to end at +1s.
		want := []time.Duration{0, 5300 * time.Millisecond, 5600 * time.Millisecond, 5900 * time.Millisecond, 6 * time.Second}
		assert.Equal(t, want, attemptsAt, "the window starts at the first failure and the last delay ends on it")
	})
}

func TestRetryAfterHintLongerThanMaxElapsedStillRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxElapsed: time.Minute, MaxDelay: time.Hour})
		calls := 0
		start := time.Now()
		_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
			calls++
			if calls == 1 {
				return 0, retry.After(errBoom, 30*time.Minute)
			}
			return 1, nil
		})
		require.NoError(t, err, "a hint beyond MaxElapsed shortens the wait instead of giving up")
		assert.Equal(t, time.Minute, time.Since(start))
	})
}

func TestHints(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var delays []time.Duration
		p := retry.New(retry.Config{
			MaxAttempts: 4, InitialDelay: 10 * time.Millisecond, MaxDelay: time.Second, Jitter: retry.JitterNone,
			OnRetry: func(_ int, _ error, d time.Duration) { delays = append(delays, d) },
		})
		errs := []error{
			retry.After(errBoom, 3*time.Second),                                  // capped at MaxDelay
			fmt.Errorf("wrapped: %w", retry.After(errBoom, 42*time.Millisecond)), // seen through wrapping
			retry.After(errBoom, -1),                                             // no hint: backoff (third retry: 40ms)
		}
		calls := 0
		_, err := retry.Do(context.Background(), p, func(context.Context) (int, error) {
			calls++
			if calls <= len(errs) {
				return 0, errs[calls-1]
			}
			return 0, nil
		})
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{time.Second, 42 * time.Millisecond, 40 * time.Millisecond}, delays,
			"hints replace the backoff, capped at MaxDelay; negative hints are ignored")
		assert.NoError(t, retry.After(nil, time.Second), "After(nil) is nil")
	})
}

func TestOnRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type call struct {
			attempt int
			err     error
			delay   time.Duration
		}
		var got []call
		p := retry.New(retry.Config{
			MaxAttempts: 4, InitialDelay: time.Second, Multiplier: 3, Jitter: retry.JitterNone,
			OnRetry: func(a int, err error, d time.Duration) { got = append(got, call{a, err, d}) },
		})
		calls := 0
		_, err := retry.Do(context.Background(), p, failing(10, errBoom, &calls))
		require.ErrorIs(t, err, retry.ErrAttempts)
		assert.Equal(t, []call{{1, errBoom, time.Second}, {2, errBoom, 3 * time.Second}, {3, errBoom, 9 * time.Second}}, got,
			"OnRetry sees each failed attempt, its error and the delay that follows; not the last attempt")
	})
}

func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retry.New(retry.Config{MaxAttempts: 3, AttemptTimeout: time.Second, DelayFunc: func(int, error) time.Duration { return 0 }})
		calls := 0
		start := time.Now()
		v, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			calls++
			deadline, ok := ctx.Deadline()
			require.True(t, ok, "each attempt has a deadline")
			assert.Equal(t, time.Now().Add(time.Second), deadline, "the deadline is AttemptTimeout away")
			if calls < 3 {
				<-ctx.Done() // hang until the attempt times out
				return 0, ctx.Err()
			}
			return 7, nil
		})
		require.NoError(t, err, "an attempt timeout is retried although it is a DeadlineExceeded")
		assert.Equal(t, 7, v)
		assert.Equal(t, 2*time.Second, time.Since(start))
	})
}

func TestNoAttemptTimeoutPassesCallerContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	_, err := retry.Do(ctx, retry.New(retry.Config{}), func(got context.Context) (int, error) {
		assert.Equal(t, ctx, got, "without AttemptTimeout fn gets the caller's context itself")
		return 0, nil
	})
	require.NoError(t, err)
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *retry.Error
		want string
	}{
		{&retry.Error{Attempts: 3, Last: io.EOF, Reason: retry.ErrAttempts}, "retry: gave up after 3 attempts (retry: attempts exhausted): EOF"},
		{&retry.Error{Attempts: 1, Last: io.EOF, Reason: retry.ErrPermanent}, "retry: gave up after 1 attempt (retry: error is not retryable): EOF"},
		{&retry.Error{Reason: context.Canceled}, "retry: gave up after 0 attempts (context canceled)"},
		{&retry.Error{Attempts: 2, Last: io.EOF}, "retry: gave up after 2 attempts: EOF"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	assert.Nil(t, (&retry.Error{}).Unwrap(), "an empty Error unwraps to nothing")
	assert.Equal(t, []error{io.EOF}, (&retry.Error{Last: io.EOF}).Unwrap())
}
