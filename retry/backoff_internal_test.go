package retry

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var errTest = errors.New("test")

func TestExponentialSequence(t *testing.T) {
	p := New(Config{InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second, Jitter: JitterNone})
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, p.delay(i+1, errTest, 0), "attempt %d doubles the delay up to MaxDelay", i+1)
	}
}

func TestConstantSequence(t *testing.T) {
	p := New(Config{Backoff: Constant, InitialDelay: 70 * time.Millisecond, Jitter: JitterNone})
	for attempt := 1; attempt < 10; attempt++ {
		assert.Equal(t, 70*time.Millisecond, p.delay(attempt, errTest, 0), "Constant never grows")
	}
}

func TestDelayNeverOverflows(t *testing.T) {
	for _, maxDelay := range []time.Duration{time.Second, math.MaxInt64} {
		for _, j := range []Jitter{JitterNone, JitterFull, JitterEqual, JitterDecorrelated} {
			p := New(Config{MaxAttempts: Unlimited, InitialDelay: time.Nanosecond, MaxDelay: maxDelay, Multiplier: 1e9, Jitter: j})
			prev := time.Duration(0)
			for _, attempt := range []int{1, 2, 60, 64, 1000, 1_000_000, math.MaxInt} {
				d := p.delay(attempt, errTest, prev)
				assert.GreaterOrEqual(t, d, time.Duration(0), "jitter %d attempt %d: delay is not negative", j, attempt)
				assert.LessOrEqual(t, d, maxDelay, "jitter %d attempt %d: delay is within MaxDelay", j, attempt)
				prev = d
			}
			if j == JitterNone {
				assert.Equal(t, maxDelay, p.delay(1_000_000, errTest, 0), "a huge attempt number gives exactly MaxDelay")
			}
		}
	}
}

func TestJitterRanges(t *testing.T) {
	const initial, maxDelay = 100 * time.Millisecond, 10 * time.Second
	for _, tt := range []struct {
		jitter Jitter
		lo, hi func(d time.Duration) time.Duration
	}{
		{JitterFull, func(time.Duration) time.Duration { return 0 }, func(d time.Duration) time.Duration { return d }},
		{JitterEqual, func(d time.Duration) time.Duration { return d / 2 }, func(d time.Duration) time.Duration { return d }},
	} {
		p := New(Config{InitialDelay: initial, MaxDelay: maxDelay, Jitter: tt.jitter})
		for attempt := 1; attempt <= 10; attempt++ {
			base := exponential(initial, maxDelay, 2, attempt)
			seen := map[time.Duration]bool{}
			for range 200 {
				d := p.delay(attempt, errTest, 0)
				assert.GreaterOrEqual(t, d, tt.lo(base), "jitter %d stays above its floor", tt.jitter)
				assert.LessOrEqual(t, d, tt.hi(base), "jitter %d stays below the unjittered delay", tt.jitter)
				seen[d] = true
			}
			assert.Greater(t, len(seen), 100, "jitter %d actually randomizes", tt.jitter)
		}
	}
}

func TestDecorrelatedJitter(t *testing.T) {
	const initial, maxDelay = 10 * time.Millisecond, time.Second
	p := New(Config{InitialDelay: initial, MaxDelay: maxDelay, Jitter: JitterDecorrelated})
	assert.Equal(t, initial, p.delay(1, errTest, 0), "the first retry waits InitialDelay")
	prev := initial
	for attempt := 2; attempt < 200; attempt++ {
		d := p.delay(attempt, errTest, prev)
		assert.GreaterOrEqual(t, d, initial, "never below InitialDelay")
		assert.LessOrEqual(t, d, min(3*prev, maxDelay), "at most three times the previous delay, capped")
		prev = d
	}
}

func TestDelayFuncClamped(t *testing.T) {
	var gotAttempt int
	var gotErr error
	p := New(Config{MaxDelay: time.Second, DelayFunc: func(attempt int, err error) time.Duration {
		gotAttempt, gotErr = attempt, err
		return time.Duration(attempt) * 400 * time.Millisecond * time.Duration(2*(attempt%2)-1)
	}})
	assert.Equal(t, time.Duration(0), p.delay(2, errTest, 0), "a negative custom delay becomes zero")
	assert.Equal(t, 2, gotAttempt, "DelayFunc receives the attempt number")
	assert.Equal(t, errTest, gotErr, "DelayFunc receives the error")
	assert.Equal(t, 400*time.Millisecond, p.delay(1, errTest, 0))
	assert.Equal(t, time.Second, p.delay(3, errTest, 0), "a custom delay is capped at MaxDelay")
}
