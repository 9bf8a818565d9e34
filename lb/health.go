package lb

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RunHealthChecks actively probes every endpoint with Config.HealthCheck.Check,
// one round at once and then one every Interval, until ctx is done; it then
// waits for the running checks to return and returns ctx.Err(). Run it in its
// own goroutine:
//
//	go b.RunHealthChecks(ctx)
//
// At most Concurrency checks run at once, each bounded by Timeout. An
// endpoint that fails UnhealthyAfter checks in a row leaves rotation until
// it passes HealthyAfter in a row, then returns (warming up if slow start is
// on). If every endpoint is unhealthy, the balancer fails open and uses them
// all rather than none. A round cut short by ctx is discarded.
//
// It returns ErrNoHealthCheck at once if no Check is configured. If Check
// panics, RunHealthChecks waits for the round's other checks and panics with
// the same value in its own goroutine.
func (b *Balancer) RunHealthChecks(ctx context.Context) error {
	hc := b.cfg.HealthCheck
	if hc.Check == nil {
		return ErrNoHealthCheck
	}
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait.C:
		}
		if err := b.checkRound(ctx); err != nil {
			return err
		}
		wait.Reset(hc.Interval)
	}
}

// checkRound checks every current endpoint once and applies the results.
func (b *Balancer) checkRound(ctx context.Context) error {
	b.mu.Lock()
	members := slices.Clone(b.members)
	b.mu.Unlock()

	results := make([]error, len(members))
	var (
		next      atomic.Int64
		wg        sync.WaitGroup
		panicOnce sync.Once
		panicked  bool
		panicVal  any
	)
	for range min(b.cfg.HealthCheck.Concurrency, len(members)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(members) || ctx.Err() != nil {
					return
				}
				var p any
				results[i], p = b.checkOne(ctx, members[i])
				if p != nil {
					panicOnce.Do(func() { panicked, panicVal = true, p })
					return
				}
			}
		}()
	}
	wg.Wait()
	if panicked {
		panic(panicVal)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.applyChecks(members, results)
	return nil
}

// checkOne runs one check, returning what it panicked with, if anything.
func (b *Balancer) checkOne(ctx context.Context, m *member) (err error, panicked any) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.HealthCheck.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err, panicked = ErrPanicked, r
		}
	}()
	return b.cfg.HealthCheck.Check(ctx, m.endpoint()), nil
}

func (b *Balancer) applyChecks(members []*member, results []error) {
	hc := b.cfg.HealthCheck
	b.mu.Lock()
	now := time.Now()
	var events []event
	for i, m := range members {
		if m.removed {
			continue
		}
		if results[i] != nil {
			m.checkPasses = 0
			m.checkFails++
			if !m.unhealthy && m.checkFails >= hc.UnhealthyAfter {
				m.unhealthy = true
				m.warmFrom = time.Time{}
				events = append(events, event{kind: eventHealth, ep: m.endpoint(), healthy: false})
			}
			continue
		}
		m.checkFails = 0
		m.checkPasses++
		if m.unhealthy && m.checkPasses >= hc.HealthyAfter {
			m.unhealthy = false
			if b.cfg.SlowStart.Window > 0 {
				m.warmFrom = now
			}
			events = append(events, event{kind: eventHealth, ep: m.endpoint(), healthy: true})
		}
	}
	events = append(events, b.refreshLocked(now)...)
	b.mu.Unlock()
	b.emit(events)
}

// maxHealthBody is how much of a health response HTTPHealthCheck reads so
// the connection can be reused; the rest is dropped with the connection.
const maxHealthBody = 64 << 10

// HTTPHealthCheck returns a HealthCheck.Check that sends GET path to the
// endpoint (with the Addr's scheme, http if it has none) through client, nil
// meaning http.DefaultClient, and passes on a 2xx status. A failing status
// is reported as an error wrapping ErrUnhealthyStatus.
func HTTPHealthCheck(client *http.Client, path string) func(ctx context.Context, ep Endpoint) error {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context, ep Endpoint) error {
		scheme, host := splitAddr(ep.Addr)
		if scheme == "" {
			scheme = "http"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxHealthBody))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("%w: %s answered %d", ErrUnhealthyStatus, ep.Addr, resp.StatusCode)
		}
		return nil
	}
}
