package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/distkit/distkit/retry"
)

func Example() {
	p := retry.New(retry.Config{
		MaxAttempts:  4,
		InitialDelay: time.Millisecond,
		OnRetry: func(attempt int, err error, _ time.Duration) {
			fmt.Printf("attempt %d failed: %v\n", attempt, err)
		},
	})
	calls := 0
	greeting, err := retry.Do(context.Background(), p, func(ctx context.Context) (string, error) {
		calls++
		if calls < 3 {
			return "", errors.New("connection reset")
		}
		return "hello", nil
	})
	fmt.Println(greeting, err)
	// Output:
	// attempt 1 failed: connection reset
	// attempt 2 failed: connection reset
	// hello <nil>
}

func ExampleDo_giveUp() {
	p := retry.New(retry.Config{MaxAttempts: 3, InitialDelay: time.Millisecond})
	_, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		return 0, io.ErrUnexpectedEOF
	})
	var rerr *retry.Error
	if errors.As(err, &rerr) {
		fmt.Println("attempts:", rerr.Attempts)
	}
	fmt.Println(errors.Is(err, retry.ErrAttempts), errors.Is(err, io.ErrUnexpectedEOF))
	// Output:
	// attempts: 3
	// true true
}

func ExamplePermanent() {
	p := retry.New(retry.Config{MaxAttempts: 5, InitialDelay: time.Millisecond})
	calls := 0
	_, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		calls++
		return 0, retry.Permanent(errors.New("400 bad request"))
	})
	fmt.Println(calls, err)
	// Output:
	// 1 retry: gave up after 1 attempt (retry: error is not retryable): 400 bad request
}

func ExampleAfter() {
	p := retry.New(retry.Config{
		MaxDelay: 50 * time.Millisecond,
		OnRetry: func(_ int, _ error, delay time.Duration) {
			fmt.Println("waiting", delay)
		},
	})
	calls := 0
	_, err := retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
		calls++
		if calls == 1 {
			// The server asked for a minute; MaxDelay caps the wait.
			return 0, retry.After(errors.New("throttled"), time.Minute)
		}
		return 1, nil
	})
	fmt.Println(err)
	// Output:
	// waiting 50ms
	// <nil>
}

func ExampleNewBudget() {
	// One budget per dependency, shared by every policy that calls it.
	budget := retry.NewBudget(retry.BudgetConfig{Ratio: 0.1, MinPerSecond: 1, MaxSaved: 1})
	p := retry.New(retry.Config{MaxAttempts: 10, Budget: budget, InitialDelay: time.Millisecond})
	attempts := 0
	for range 20 {
		_, _ = retry.Do(context.Background(), p, func(ctx context.Context) (int, error) {
			attempts++
			return 0, errors.New("down")
		})
	}
	// 20 calls, at most 10 attempts each, but the budget allowed only a
	// few retries in total.
	fmt.Println(attempts <= 20+2+1, budget.Stats().Denied > 0)
	// Output:
	// true true
}

func ExampleHedge() {
	p := retry.New(retry.Config{MaxAttempts: 2, HedgeDelay: 10 * time.Millisecond})
	var n atomic.Int32
	replica, err := retry.Hedge(context.Background(), p, func(ctx context.Context) (string, error) {
		if n.Add(1) == 1 {
			<-ctx.Done() // the first replica hangs until Hedge cancels it
			return "", ctx.Err()
		}
		return "replica 2", nil
	})
	fmt.Println(replica, err)
	// Output:
	// replica 2 <nil>
}

func ExampleTransport() {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "stored %s", body)
	}))
	defer srv.Close()

	client := &http.Client{Transport: retry.Transport(retry.New(retry.Config{MaxAttempts: 3}), nil)}
	resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("order-17"))
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("POST without an Idempotency-Key:", resp.StatusCode, "after", hits.Load(), "request")

	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("order-17"))
	req.Header.Set("Idempotency-Key", "order-17")
	resp, err = client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("with a key:", resp.StatusCode, string(body))
	// Output:
	// POST without an Idempotency-Key: 503 after 1 request
	// with a key: 200 stored order-17
}
