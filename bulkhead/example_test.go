package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/distkit/distkit/bulkhead"
)

func Example() {
	// At most 2 calls to the inventory service at once, 1 more may wait.
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 2, MaxQueued: 1})
	stock, err := bulkhead.Do(context.Background(), b, func(ctx context.Context) (int, error) {
		return 42, nil // call the dependency here
	})
	fmt.Println(stock, err)
	// Output:
	// 42 <nil>
}

func ExampleBulkhead_Acquire() {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 1})
	p, err := b.Acquire(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = b.Acquire(context.Background())
	fmt.Println(errors.Is(err, bulkhead.ErrQueueFull))
	p.Release()
	fmt.Println(b.Stats().InFlight)
	// Output:
	// true
	// 0
}

func ExampleHandler() {
	b := bulkhead.New(bulkhead.Config{MaxConcurrent: 10})
	h := bulkhead.Handler(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 hello
}

func ExampleNewGroup() {
	g := bulkhead.NewGroup(bulkhead.GroupConfig{
		Default:    bulkhead.Config{MaxConcurrent: 5},
		Partitions: map[string]bulkhead.Config{"premium": {MaxConcurrent: 50}},
	})
	for _, tenant := range []string{"premium", "acme"} {
		b, err := g.Get(tenant)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(tenant, b.Stats().Limit)
	}
	// Output:
	// premium 50
	// acme 5
}

func ExampleAdaptive() {
	// The limit starts at 20 and follows the dependency's latency between
	// 5 and 200; Stats shows where it stands.
	b := bulkhead.New(bulkhead.Config{
		MaxConcurrent: 20,
		MaxQueued:     100,
		Adaptive:      bulkhead.Adaptive{Algorithm: bulkhead.Gradient, MinLimit: 5, MaxLimit: 200},
	})
	fmt.Println(b.Stats().Limit)
	// Output:
	// 20
}
