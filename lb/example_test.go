package lb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/distkit/distkit/lb"
)

// A weighted balancer gives each endpoint exactly its weight per cycle.
func Example() {
	b := lb.New(lb.Config{}) // WeightedRoundRobin
	err := b.Update([]lb.Endpoint{
		{Addr: "10.0.0.1:8080", Weight: 5},
		{Addr: "10.0.0.2:8080", Weight: 1},
		{Addr: "10.0.0.3:8080", Weight: 1},
	})
	if err != nil {
		panic(err)
	}
	counts := map[string]int{}
	for range 700 {
		p, err := b.Pick()
		if err != nil {
			panic(err)
		}
		counts[p.Addr()]++
		p.Done(nil) // report the request's outcome
	}
	fmt.Println(counts["10.0.0.1:8080"], counts["10.0.0.2:8080"], counts["10.0.0.3:8080"])
	// Output: 500 100 100
}

// LeastLoaded sends new requests away from endpoints busy with old ones.
func Example_leastLoaded() {
	b := lb.New(lb.Config{Policy: lb.LeastLoaded})
	_ = b.Update([]lb.Endpoint{{Addr: "a:80"}, {Addr: "b:80"}})
	slow, _ := b.Pick() // still in flight
	for range 3 {
		p, _ := b.Pick()
		fmt.Println(p.Addr() != slow.Addr())
		p.Done(nil)
	}
	slow.Done(nil)
	// Output:
	// true
	// true
	// true
}

// Transport sends each request to a picked endpoint.
func ExampleTransport() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Host, r.URL.Path)
	}))
	defer backend.Close()

	b := lb.New(lb.Config{Ejection: lb.Ejection{ConsecutiveFailures: 5}})
	_ = b.Update([]lb.Endpoint{{Addr: strings.TrimPrefix(backend.URL, "http://")}})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: lb.Transport(b, tr)}

	resp, err := client.Get("http://orders.internal/v1/orders")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: orders.internal /v1/orders
}

// Do picks an endpoint, runs a call and reports its outcome.
func ExampleDo() {
	b := lb.New(lb.Config{Policy: lb.PeakEWMA})
	_ = b.Update([]lb.Endpoint{{Addr: "inventory-1:9000"}})
	stock, err := lb.Do(context.Background(), b, func(ctx context.Context, ep lb.Endpoint) (int, error) {
		return 42, nil // call ep.Addr here
	})
	fmt.Println(stock, err)
	// Output: 42 <nil>
}

// PickKey keeps a key on one endpoint under ConsistentHash.
func ExampleBalancer_PickKey() {
	b := lb.New(lb.Config{Policy: lb.ConsistentHash})
	_ = b.Update([]lb.Endpoint{{Addr: "cache-1:11211"}, {Addr: "cache-2:11211"}, {Addr: "cache-3:11211"}})
	first, _ := b.PickKey("user:1001")
	again, _ := b.PickKey("user:1001")
	fmt.Println(first.Addr() == again.Addr())
	// Output: true
}

// Outlier ejection takes an endpoint out after consecutive failures.
func ExampleEjection() {
	b := lb.New(lb.Config{
		Ejection: lb.Ejection{ConsecutiveFailures: 2, BaseTime: 30 * time.Second, MaxPercent: 50},
		OnEject: func(ep lb.Endpoint, d time.Duration) {
			fmt.Println("ejected", ep.Addr, "for", d)
		},
	})
	_ = b.Update([]lb.Endpoint{{Addr: "a:80"}, {Addr: "b:80"}})
	for range 4 {
		p, _ := b.Pick()
		if p.Addr() == "b:80" {
			p.Done(errors.New("connection refused"))
		} else {
			p.Done(nil)
		}
	}
	fmt.Println(b.Stats().Available, "available")
	// Output:
	// ejected b:80 for 30s
	// 1 available
}

// Slow start gives an endpoint that joins a running set a fraction of its
// weight at first, and spares a set whose endpoints arrive together.
func ExampleSlowStart() {
	b := lb.New(lb.Config{SlowStart: lb.SlowStart{Window: time.Minute, MinPercent: 10}})
	_ = b.Update([]lb.Endpoint{{Addr: "a:80"}})
	// Moments later, as the fleet starts: nobody has load to hand over yet,
	// so b:80 starts at full weight. An endpoint joining once a:80 or b:80
	// has served for a Window would start at 10% and ramp up over the next
	// minute.
	_ = b.Update([]lb.Endpoint{{Addr: "a:80"}, {Addr: "b:80"}})
	for _, e := range b.Stats().PerEndpoint {
		fmt.Println(e.Addr, e.WeightFactor)
	}
	// Output:
	// a:80 1
	// b:80 1
}

// RunHealthChecks probes endpoints until its context ends.
func ExampleBalancer_RunHealthChecks() {
	checked := make(chan string, 1)
	b := lb.New(lb.Config{HealthCheck: lb.HealthCheck{
		Check: func(ctx context.Context, ep lb.Endpoint) error {
			select {
			case checked <- ep.Addr:
			default:
			}
			return nil
		},
		Interval: time.Hour,
	}})
	_ = b.Update([]lb.Endpoint{{Addr: "a:80"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- b.RunHealthChecks(ctx) }()
	fmt.Println("checked", <-checked)
	cancel()
	fmt.Println(<-done)
	// Output:
	// checked a:80
	// context canceled
}

// Stats reports each endpoint's state for metrics.
func ExampleBalancer_Stats() {
	b := lb.New(lb.Config{Policy: lb.LeastLoaded})
	_ = b.Update([]lb.Endpoint{{Addr: "a:80", Weight: 2}, {Addr: "b:80"}})
	p, _ := b.Pick()
	st := b.Stats()
	fmt.Println(st.Policy, st.Endpoints, "endpoints,", st.Available, "available")
	inFlight := int64(0)
	for _, e := range st.PerEndpoint {
		fmt.Println(e.Addr, "weight", e.Weight, "healthy", e.Healthy)
		inFlight += e.InFlight
	}
	fmt.Println("in flight:", inFlight)
	p.Done(nil)
	// Output:
	// LeastLoaded 2 endpoints, 2 available
	// a:80 weight 2 healthy true
	// b:80 weight 1 healthy true
	// in flight: 1
}

// HTTPHealthCheck probes an HTTP path on each endpoint.
func ExampleHTTPHealthCheck() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	check := lb.HTTPHealthCheck(srv.Client(), "/healthz")
	fmt.Println(check(context.Background(), lb.Endpoint{Addr: srv.URL}))
	err := lb.HTTPHealthCheck(srv.Client(), "/missing")(context.Background(), lb.Endpoint{Addr: srv.URL})
	fmt.Println(errors.Is(err, lb.ErrUnhealthyStatus))
	// Output:
	// <nil>
	// true
}
