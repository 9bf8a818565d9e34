package lb

import "context"

// Do picks an endpoint, calls fn with it and reports fn's error to
// Pick.Done, returning fn's results. It returns ctx.Err() without picking
// if ctx is already done, and ErrNoEndpoints or ErrKeyRequired (use DoKey
// under ConsistentHash) if Pick fails. If fn panics, Do reports ErrPanicked
// and the panic continues.
func Do[T any](ctx context.Context, b *Balancer, fn func(ctx context.Context, ep Endpoint) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	p, err := b.Pick()
	return call(ctx, p, err, fn)
}

// DoKey is Do with PickKey(key): under ConsistentHash, calls for the same
// key go to the same endpoint while it is available.
func DoKey[T any](ctx context.Context, b *Balancer, key string, fn func(ctx context.Context, ep Endpoint) (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	p, err := b.PickKey(key)
	return call(ctx, p, err, fn)
}

func call[T any](ctx context.Context, p Pick, err error, fn func(context.Context, Endpoint) (T, error)) (T, error) {
	if err != nil {
		var zero T
		return zero, err
	}
	finished := false
	defer func() {
		if !finished { // fn panicked or called runtime.Goexit
			p.Done(ErrPanicked)
		}
	}()
	v, err := fn(ctx, p.Endpoint())
	finished = true
	p.Done(err)
	return v, err
}
