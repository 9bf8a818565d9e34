package lb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/distkit/distkit/lb"
)

func TestDo(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.LeastLoaded, Ejection: lb.Ejection{ConsecutiveFailures: 5}}, equal(1))
	addr := addrs(1)[0]
	ctx := context.Background()

	got, err := lb.Do(ctx, b, func(ctx context.Context, ep lb.Endpoint) (string, error) {
		assert.Equal(t, int64(1), stat(t, b, ep.Addr).InFlight, "the call is in flight while fn runs")
		return "hello from " + ep.Addr, nil
	})
	require.NoError(t, err, "Do returns fn's nil error")
	assert.Equal(t, "hello from "+addr, got, "Do returns fn's value")
	assert.Zero(t, stat(t, b, addr).InFlight, "Done was called")

	_, err = lb.Do(ctx, b, func(context.Context, lb.Endpoint) (int, error) { return 0, errBoom })
	require.ErrorIs(t, err, errBoom, "Do returns fn's error unchanged")
	assert.Equal(t, 1, stat(t, b, addr).ConsecutiveFailures, "and reports it to Done")

	assert.PanicsWithValue(t, "fn exploded", func() {
		_, _ = lb.Do(ctx, b, func(context.Context, lb.Endpoint) (int, error) { panic("fn exploded") })
	}, "a panic in fn continues past Do")
	e := stat(t, b, addr)
	assert.Equal(t, 2, e.ConsecutiveFailures, "after counting as a failure")
	assert.Zero(t, e.InFlight, "and releasing the pick")

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	called := false
	_, err = lb.Do(canceled, b, func(context.Context, lb.Endpoint) (int, error) { called = true; return 0, nil })
	require.ErrorIs(t, err, context.Canceled, "a done context stops Do before it picks")
	assert.False(t, called, "fn is not called")

	_, err = lb.Do(ctx, lb.New(lb.Config{}), func(context.Context, lb.Endpoint) (int, error) { return 0, nil })
	require.ErrorIs(t, err, lb.ErrNoEndpoints, "Do reports a failed pick")
}

func TestDoKey(t *testing.T) {
	b := newBalancer(t, lb.Config{Policy: lb.ConsistentHash}, equal(5))
	first := ""
	for range 5 {
		addr, err := lb.DoKey(context.Background(), b, "cart-42", func(_ context.Context, ep lb.Endpoint) (string, error) {
			return ep.Addr, nil
		})
		require.NoError(t, err, "DoKey")
		if first == "" {
			first = addr
		}
		assert.Equal(t, first, addr, "the same key reaches the same endpoint")
	}
	_, err := lb.Do(context.Background(), b, func(context.Context, lb.Endpoint) (int, error) { return 0, nil })
	require.ErrorIs(t, err, lb.ErrKeyRequired, "Do without a key under ConsistentHash")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = lb.DoKey(canceled, b, "k", func(context.Context, lb.Endpoint) (int, error) { return 0, nil })
	require.True(t, errors.Is(err, context.Canceled), "DoKey honors a done context")
}
