package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/distkit/distkit/breaker"
)

// Guard calls to a dependency with Do: after three failures in a row the
// breaker opens and rejects calls without making them.
func ExampleDo() {
	b := breaker.New(breaker.Config{Name: "inventory", ConsecutiveFailures: 3, OpenDuration: 30 * time.Second})
	errUnavailable := errors.New("inventory unavailable")
	lookup := func(ctx context.Context) (int, error) { return 0, errUnavailable }

	for range 4 {
		_, err := breaker.Do(context.Background(), b, lookup)
		var open *breaker.OpenError
		switch {
		case errors.As(err, &open):
			fmt.Println("rejected:", open.State, "- wait at most 30s:", open.RetryAfter() <= 30*time.Second)
		case err != nil:
			fmt.Println("failed:", err)
		}
	}
	fmt.Println(b.State())
	// Output:
	// failed: inventory unavailable
	// failed: inventory unavailable
	// failed: inventory unavailable
	// rejected: open - wait at most 30s: true
	// open
}

// Middleware that cannot wrap a function uses Allow and Permit.Done.
func ExampleBreaker_Allow() {
	b := breaker.New(breaker.Config{})
	permit, err := b.Allow()
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	err = nil // ... make the call ...
	permit.Done(err)
	fmt.Println(b.Stats().Calls, "call recorded")
	// Output: 1 call recorded
}

// A failure-rate rule over a time window, with a slow-call rule and a
// growing open duration.
func ExampleConfig() {
	b := breaker.New(breaker.Config{
		Name:             "search",
		WindowDuration:   time.Minute, // the calls of the last minute
		WindowBuckets:    12,          // expiring 5s at a time
		MinCalls:         20,
		FailureRate:      50,              // open at 50% failures...
		SlowCallDuration: 2 * time.Second, // ...or when 80% of calls
		SlowCallRate:     80,              // take 2s or more
		OpenDuration:     5 * time.Second,
		MaxOpenDuration:  time.Minute, // doubling on each failed probe
		OpenJitter:       0.2,
		HalfOpenProbes:   3,
	})
	fmt.Println(b.Name(), b.State())
	// Output: search closed
}

// OnStateChange may call back into the breaker: it runs outside every lock.
func ExampleConfig_onStateChange() {
	var b *breaker.Breaker
	b = breaker.New(breaker.Config{
		Name:                "ledger",
		ConsecutiveFailures: 1,
		OnStateChange: func(name string, from, to breaker.State) {
			fmt.Printf("%s: %v -> %v (opens so far: %d)\n", name, from, to, b.Stats().Opens)
		},
	})
	_, _ = breaker.Do(context.Background(), b, func(context.Context) (struct{}, error) {
		return struct{}{}, errors.New("timeout")
	})
	b.Reset()
	// Output:
	// ledger: closed -> open (opens so far: 1)
	// ledger: open -> closed (opens so far: 1)
}

// A Group keeps one breaker per downstream host, created on first use.
func ExampleGroup() {
	g := breaker.NewGroup(breaker.GroupConfig{
		Breaker:     breaker.Config{ConsecutiveFailures: 2},
		MaxBreakers: 2,
	})
	for _, host := range []string{"a.internal", "b.internal", "a.internal", "c.internal"} {
		b, err := g.Get(host)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(host, b.State())
	}
	// Output:
	// a.internal closed
	// b.internal closed
	// a.internal closed
	// breaker: group is full: 2 breakers, cannot add "c.internal"
}

// Transport guards an HTTP client: 5xx and 429 responses count as failures.
func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	b := breaker.New(breaker.Config{ConsecutiveFailures: 2})
	client := &http.Client{Transport: breaker.Transport(b, http.DefaultTransport)}
	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			fmt.Println("rejected:", errors.Is(err, breaker.ErrOpen))
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 503
	// 503
	// rejected: true
}

// Operators can pin a breaker open or take it out of the path.
func ExampleBreaker_ForceOpen() {
	b := breaker.New(breaker.Config{})
	b.ForceOpen()
	_, err := b.Allow()
	fmt.Println(err)
	b.Disable()
	fmt.Println(b.State())
	b.Reset()
	fmt.Println(b.State())
	// Output:
	// breaker "": forced open
	// disabled
	// closed
}
