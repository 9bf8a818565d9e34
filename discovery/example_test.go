package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"time"

	"github.com/distkit/distkit/discovery"
)

// A registry in process: register, look up, drain, deregister.
func Example() {
	reg := discovery.New(discovery.Config{})
	defer reg.Close()
	ctx := context.Background()

	a, _ := reg.Register(ctx, discovery.Registration{
		Instance: discovery.Instance{Service: "checkout", ID: "a", Address: "10.0.0.1:8080", Zone: "eu-1"},
		TTL:      10 * time.Second,
	})
	_, _ = reg.Register(ctx, discovery.Registration{
		Instance: discovery.Instance{Service: "checkout", ID: "b", Address: "10.0.0.2:8080", Zone: "eu-2", Weight: 2},
	})
	_ = reg.Drain(ctx, a, true) // still listed, no longer routable

	snap := reg.Lookup("checkout")
	fmt.Println("revision", snap.Revision)
	for _, inst := range snap.Instances {
		fmt.Println(inst.ID, inst.Address, inst.Status, "draining:", inst.Draining)
	}
	for _, inst := range snap.Routable {
		fmt.Println("routable:", inst.ID)
	}
	fmt.Println(reg.Deregister(ctx, a), len(reg.Lookup("checkout").Instances))
	// Output:
	// revision 4
	// a 10.0.0.1:8080 passing draining: true
	// b 10.0.0.2:8080 passing draining: false
	// routable: b
	// <nil> 1
}

// A watch starts with the full state, then delivers each change.
func ExampleRegistry_Watch() {
	reg := discovery.New(discovery.Config{})
	defer reg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, _ = reg.Register(ctx, discovery.Registration{Instance: discovery.Instance{Service: "api", ID: "a", Address: "a:80"}})

	for ev, err := range reg.Watch(ctx, "api", 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if ev.Reset {
			fmt.Println("reset at", ev.Revision, "with", len(ev.Instances), "instance")
			_, _ = reg.Register(ctx, discovery.Registration{Instance: discovery.Instance{Service: "api", ID: "b", Address: "b:80"}})
			continue
		}
		for _, c := range ev.Changes {
			fmt.Println(c.Kind, c.Instance.ID, "at", ev.Revision)
		}
		break
	}
	// Output:
	// reset at 2 with 1 instance
	// added b at 3
}

// A blocking query returns at once when the caller is behind, and waits for
// the next change (or the wait) when it is current.
func ExampleRegistry_Query() {
	reg := discovery.New(discovery.Config{})
	defer reg.Close()
	ctx := context.Background()

	snap, _ := reg.Query(ctx, "api", 0, time.Minute) // index 0: answer now
	fmt.Println("revision", snap.Revision, "instances", len(snap.Instances))

	go func() {
		_, _ = reg.Register(ctx, discovery.Registration{Instance: discovery.Instance{Service: "api", ID: "a", Address: "a:80"}})
	}()
	snap, _ = reg.Query(ctx, "api", snap.Revision, time.Minute) // waits for the registration
	fmt.Println("revision", snap.Revision, "instances", len(snap.Instances))
	// Output:
	// revision 1 instances 0
	// revision 2 instances 1
}

// Serving a registry over HTTP and using it from another process.
func ExampleClient() {
	reg := discovery.New(discovery.Config{})
	defer reg.Close()
	srv := httptest.NewServer(discovery.Handler(reg, discovery.HandlerConfig{Token: "cluster-secret"}))
	defer srv.Close()

	client := discovery.NewClient(discovery.ClientConfig{URL: srv.URL, Token: "cluster-secret"})
	defer client.Close()
	ctx := context.Background()

	lease, err := client.Register(ctx, discovery.Registration{
		Instance: discovery.Instance{Service: "payments", ID: "p1", Address: "10.0.0.7:9000"},
		TTL:      15 * time.Second,
	})
	fmt.Println(err, lease.TTL)
	instances, err := client.Resolve(ctx, "payments")
	fmt.Println(err, instances[0].ID, instances[0].Address)

	// Only the lease's holder may deregister the instance.
	forged := lease
	forged.Token = "guess"
	fmt.Println(errors.Is(client.Deregister(ctx, forged), discovery.ErrTokenMismatch))
	fmt.Println(client.Deregister(ctx, lease))
	// Output:
	// <nil> 15s
	// <nil> p1 10.0.0.7:9000
	// true
	// <nil>
}

// A Registrar keeps an instance registered: Run heartbeats in a loop and
// registers again whenever the registry lost the lease; Beat is one step.
func ExampleRegistrar() {
	reg := discovery.New(discovery.Config{})
	defer reg.Close()
	ctx := context.Background()
	r := discovery.NewRegistrar(reg, discovery.Registration{
		Instance: discovery.Instance{Service: "api", ID: "a", Address: "a:80"},
	}, discovery.RegistrarConfig{
		OnRegister: func(l discovery.Lease, again bool) { fmt.Println("registered", l.ID, "again:", again) },
	})

	_ = r.Beat(ctx) // registers
	_ = r.Beat(ctx) // heartbeats
	// The registry loses the instance (it expired during an outage, or an
	// operator removed it): the next beat registers it again.
	_ = reg.Remove(ctx, "api", "a")
	_ = r.Beat(ctx)
	fmt.Printf("%+v\n", r.Stats())
	// Output:
	// registered a again: false
	// registered a again: true
	// {Registrations:2 Reregistrations:1 Heartbeats:1 Failures:0}
}

// A fixed list behind the same Resolver interface.
func ExampleNewStatic() {
	var r discovery.Resolver = discovery.NewStatic(
		discovery.Instance{Service: "db", ID: "primary", Address: "10.0.1.1:5432"},
		discovery.Instance{Service: "db", ID: "replica", Address: "10.0.1.2:5432", Draining: true},
	)
	instances, _ := r.Resolve(context.Background(), "db")
	for _, inst := range instances {
		fmt.Println(inst.ID, inst.Address)
	}
	// Output:
	// primary 10.0.1.1:5432
}

// cannedSRV stands in for DNS.
type cannedSRV []*net.SRV

func (c cannedSRV) LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error) {
	return "_" + service + "._" + proto + "." + name, c, nil
}

// Resolving SRV records: the lowest priority value's targets, weighted.
func ExampleDNS() {
	d := discovery.NewDNS(discovery.DNSConfig{
		Resolver: cannedSRV{ // nil means net.DefaultResolver
			{Target: "api-1.example.com.", Port: 8443, Priority: 10, Weight: 60},
			{Target: "api-2.example.com.", Port: 8443, Priority: 10, Weight: 40},
			{Target: "fallback.example.com.", Port: 8443, Priority: 20, Weight: 1},
		},
		Domain: "example.com", // "api" looks up _api._tcp.example.com
	})
	instances, _ := d.Resolve(context.Background(), "api")
	for _, inst := range instances {
		fmt.Println(inst.Address, inst.Weight)
	}
	// Output:
	// api-1.example.com:8443 60
	// api-2.example.com:8443 40
}
