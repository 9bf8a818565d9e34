package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/breaker"
	"github.com/distkit/distkit/bulkhead"
	"github.com/distkit/distkit/lb"
	"github.com/distkit/distkit/retry"
	"github.com/distkit/distkit/vclock"
)

// paymentClient charges orders through the layers a production client
// wraps around a remote call, from the outside in:
//
//	retry     tries again after failures, waiting as long as the breaker asks
//	bulkhead  bounds the payment calls in flight so a slow payment service
//	          cannot take every goroutine of the checkout
//	breaker   fails fast while the payment service as a whole is failing
//	balancer  picks a replica by peak-EWMA latency and ejects outliers
type paymentClient struct {
	http     *http.Client
	balancer *lb.Balancer
	breaker  *breaker.Breaker
	bulkhead *bulkhead.Bulkhead
	retry    *retry.Policy
	clock    *vclock.HLC

	inFlight, peak atomic.Int64 // payment calls under the bulkhead's permit

	mu          sync.Mutex
	transitions []string // the breaker's state changes, in order
	ejected     []string // replicas the balancer ejected
}

func newPaymentClient(tr http.RoundTripper, clock *vclock.HLC, queue int) *paymentClient {
	c := &paymentClient{http: &http.Client{Transport: tr, Timeout: 2 * time.Second}, clock: clock}
	c.balancer = lb.New(lb.Config{
		Policy: lb.PeakEWMA,
		// A failure takes a replica out for 30s, which outlasts the story;
		// at most one replica of a few is ever out. Peak-EWMA also charges
		// each failure a second of latency (FailurePenalty), so a replica
		// that fails fast cannot pass for the fastest. Slow start ramps up
		// only instances that join a fleet that has been serving for its
		// window; the replicas registering at startup begin at full weight.
		Ejection:  lb.Ejection{ConsecutiveFailures: 1},
		SlowStart: lb.SlowStart{Window: 30 * time.Second},
		OnEject: func(ep lb.Endpoint, d time.Duration) {
			c.note(&c.ejected, fmt.Sprintf("%s for %s", ep.Meta["id"], d))
		},
	})
	c.breaker = breaker.New(breaker.Config{
		Name: "payment",
		// More failures in a row than the balancer can see from one bad
		// replica before ejecting it (2, plus one call already in flight):
		// the breaker is for the service failing as a whole.
		ConsecutiveFailures: 4,
		OpenDuration:        100 * time.Millisecond, // doubling on each failed probe
		MaxOpenDuration:     200 * time.Millisecond,
		OnStateChange: func(_ string, from, to breaker.State) {
			c.note(&c.transitions, fmt.Sprintf("%s→%s", from, to))
		},
	})
	c.bulkhead = bulkhead.New(bulkhead.Config{MaxConcurrent: 2, MaxQueued: queue, MaxWait: 2 * time.Second})
	c.retry = retry.New(retry.Config{
		MaxAttempts:  5,
		InitialDelay: 2 * time.Millisecond,   // the 4th retry waits at most 16ms, well inside an open period
		MaxDelay:     250 * time.Millisecond, // above the breaker's longest open period, so its hint is honoured whole
	})
	return c
}

func (c *paymentClient) note(list *[]string, s string) {
	c.mu.Lock()
	*list = append(*list, s)
	c.mu.Unlock()
}

// attempt is one try of a charge, for the story.
type attempt struct {
	replica string // "" if no replica was called
	start   time.Time
	err     error
	failure string        // err's text, without a transport error's URL
	hint    time.Duration // how long a breaker that rejected the attempt asked to wait
}

// charge pays for an order. The order ID is the idempotency key, which is
// what makes retrying a POST safe.
func (c *paymentClient) charge(ctx context.Context, order string, cents int64) (receipt, []attempt, error) {
	var tries []attempt // retry calls fn sequentially, so no lock is needed
	rc, err := retry.Do(ctx, c.retry, func(ctx context.Context) (receipt, error) {
		a := attempt{start: time.Now()}
		rc, err := bulkhead.Do(ctx, c.bulkhead, func(ctx context.Context) (receipt, error) {
			raise(&c.peak, c.inFlight.Add(1))
			defer c.inFlight.Add(-1)
			return breaker.Do(ctx, c.breaker, func(ctx context.Context) (receipt, error) {
				return lb.Do(ctx, c.balancer, func(ctx context.Context, ep lb.Endpoint) (receipt, error) {
					a.replica = ep.Meta["id"]
					return c.post(ctx, ep, order, cents)
				})
			})
		})
		if err != nil {
			a.err, a.failure = err, failureText(err)
		}
		var open *breaker.OpenError
		if errors.As(err, &open) {
			a.hint = open.RetryAfter()
		}
		tries = append(tries, a)
		// A rejection is an *OpenError whose RetryAfter retry honours as a
		// hint: it waits out the open period instead of its own backoff.
		return rc, err
	})
	return rc, tries, err
}

// failureText is an attempt's error without the request URL a transport
// error carries.
func failureText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// raise sets peak to v if v is higher.
func raise(peak *atomic.Int64, v int64) {
	for p := peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
	}
}

// statusError is a payment replica's failure answer.
type statusError struct {
	replica string
	code    int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", e.replica, e.code, http.StatusText(e.code))
}

func (c *paymentClient) post(ctx context.Context, ep lb.Endpoint, order string, cents int64) (receipt, error) {
	body, err := json.Marshal(chargeRequest{Order: order, Cents: cents})
	if err != nil {
		return receipt{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ep.Addr+"/charge", bytes.NewReader(body))
	if err != nil {
		return receipt{}, err
	}
	sent, _ := c.clock.Now().MarshalText()
	req.Header.Set(hlcHeader, string(sent))
	req.Header.Set("Idempotency-Key", order)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return receipt{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return receipt{}, &statusError{replica: ep.Meta["id"], code: resp.StatusCode}
	}
	var rc receipt
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&rc); err != nil {
		return receipt{}, fmt.Errorf("decoding receipt: %w", err)
	}
	// Whatever the checkout does next is ordered after the charge.
	if _, err := c.clock.Update(rc.At); err != nil {
		return receipt{}, err
	}
	return rc, nil
}
