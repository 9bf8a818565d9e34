package discovery

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// SRVLookuper looks up SRV records. *net.Resolver implements it; tests
// supply a fake.
type SRVLookuper interface {
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

// Defaults of DNSConfig.
const (
	DefaultDNSRefresh = 30 * time.Second
	DefaultDNSTimeout = 5 * time.Second
)

// DNSConfig configures a DNS resolver. Every zero field means the default
// named in its comment.
type DNSConfig struct {
	// Resolver performs the lookups; nil means net.DefaultResolver.
	Resolver SRVLookuper
	// Domain, if set, makes service "api" resolve _api._<Proto>.<Domain>;
	// if empty, the service name is looked up as the full SRV name
	// ("_api._tcp.example.com").
	Domain string
	// Proto is the SRV protocol label used with Domain; "" means "tcp".
	Proto string
	// Refresh is how long an answer is reused before DNS is asked again,
	// and the polling interval of Watch; 0 means 30s.
	Refresh time.Duration
	// Timeout bounds one lookup; 0 means 5s.
	Timeout time.Duration
	// MaxStale is how old a last good answer may be and still be served
	// when a lookup fails; 0 means 5 minutes.
	MaxStale time.Duration
	// MaxCached bounds the services whose answers are kept; 0 means 1024.
	MaxCached int
}

// DNS resolves services from DNS SRV records, polled: an answer is reused
// for Refresh, concurrent lookups of one name share one query, and a failed
// lookup serves the last good answer (with a *StaleError) for up to
// MaxStale. It implements Resolver and Watcher.
//
// Every target of the lowest priority value becomes one instance, ID and
// Address "host:port" (host without its trailing dot), Weight the SRV
// weight (0 becomes 1). Targets of higher priority values are backups in
// RFC 2782 and are not listed: DNS cannot say when the primaries fail, the
// load balancer's outlier ejection can. A name that does not exist
// (NXDOMAIN) is an answer: no instances. DNS carries no health, so every
// instance is passing. The size of an answer is bounded by the DNS message
// (64 KiB).
type DNS struct {
	cfg   DNSConfig
	cache *snapshotCache
	group singleflight.Group
}

var (
	_ Resolver    = (*DNS)(nil)
	_ Watcher     = (*DNS)(nil)
	_ SRVLookuper = (*net.Resolver)(nil)
)

// Validate reports a negative duration or count, wrapping ErrInvalid.
func (c DNSConfig) Validate() error {
	if c.Refresh < 0 || c.Timeout < 0 || c.MaxStale < 0 || c.MaxCached < 0 {
		return fmt.Errorf("%w: DNSConfig durations and counts must not be negative", ErrInvalid)
	}
	return nil
}

// NewDNS returns a DNS resolver. It panics with a "discovery: ..." message
// if cfg.Validate fails.
func NewDNS(cfg DNSConfig) *DNS {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	setDefault(&cfg.Proto, "tcp")
	setDefault(&cfg.Refresh, DefaultDNSRefresh)
	setDefault(&cfg.Timeout, DefaultDNSTimeout)
	setDefault(&cfg.MaxStale, DefaultMaxStale)
	setDefault(&cfg.MaxCached, DefaultMaxCached)
	return &DNS{cfg: cfg, cache: newSnapshotCache(cfg.MaxCached)}
}

// Resolve returns the instances of service (all routable), from the cache
// if the answer is younger than Refresh. On a failed lookup it may return
// the last good answer with a *StaleError.
func (d *DNS) Resolve(ctx context.Context, service string) ([]Instance, error) {
	snap, err := d.Lookup(ctx, service)
	return snap.Routable, err
}

// Lookup is Resolve returning the whole Snapshot. Its Revision starts at 2
// with the first answer and grows whenever an answer differs from the
// previous one.
//
// Errors: *StaleError (with data), a failed lookup wrapping ErrUnavailable
// and the resolver's error, or the context's error.
func (d *DNS) Lookup(ctx context.Context, service string) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	if e, ok := d.cache.get(service); ok && time.Since(e.fetched) < d.cfg.Refresh {
		return e.snap, nil
	}
	return d.refresh(ctx, service)
}

// refresh asks DNS now (sharing the query with concurrent callers) and
// falls back to the last good answer on failure.
func (d *DNS) refresh(ctx context.Context, service string) (Snapshot, error) {
	ch := d.group.DoChan(service, func() (any, error) {
		// Detached from the first caller: one caller giving up must not
		// fail the others sharing the query.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.Timeout)
		defer cancel()
		return d.lookup(lctx, service)
	})
	select {
	case res := <-ch:
		if res.Err == nil {
			return res.Val.(Snapshot), nil
		}
		if snap, stale, ok := d.cache.serveStale(service, d.cfg.MaxStale, res.Err); ok {
			return snap, stale
		}
		return Snapshot{}, res.Err
	case <-ctx.Done():
		return Snapshot{}, fmt.Errorf("discovery: resolving %q: %w", service, ctx.Err())
	}
}

// lookup queries DNS and records the answer.
func (d *DNS) lookup(ctx context.Context, service string) (Snapshot, error) {
	var err error
	var records []*net.SRV
	if d.cfg.Domain != "" {
		_, records, err = d.cfg.Resolver.LookupSRV(ctx, service, d.cfg.Proto, d.cfg.Domain)
	} else {
		_, records, err = d.cfg.Resolver.LookupSRV(ctx, "", "", service)
	}
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
		return Snapshot{}, fmt.Errorf("%w: SRV lookup of %q: %w", ErrUnavailable, service, err)
	}
	list := srvInstances(service, records)
	snap := Snapshot{Service: service, Revision: 2, Instances: list, Routable: list}
	prev, had := d.cache.get(service)
	switch {
	case had && sameSRVAnswer(prev.snap.Instances, list):
		snap = prev.snap // unchanged: keep the revision and shared slices
	case had:
		snap.Revision = prev.snap.Revision + 1
	}
	// An instance keeps its ModRevision while its record is unchanged.
	old := map[string]uint64{}
	if had {
		for _, i := range prev.snap.Instances {
			old[i.ID+"/"+strconv.Itoa(i.Weight)] = i.ModRevision
		}
	}
	for i := range snap.Instances {
		if snap.Instances[i].ModRevision == 0 {
			snap.Instances[i].ModRevision = snap.Revision
			if rev, ok := old[snap.Instances[i].ID+"/"+strconv.Itoa(snap.Instances[i].Weight)]; ok {
				snap.Instances[i].ModRevision = rev
			}
		}
	}
	d.cache.put(snap)
	return snap, nil
}

// srvInstances turns the lowest-priority records into instances sorted by
// ID, merging duplicates.
func srvInstances(service string, records []*net.SRV) []Instance {
	var best uint16
	first := true
	for _, r := range records {
		if r != nil && (first || r.Priority < best) {
			best, first = r.Priority, false
		}
	}
	var list []Instance
	for _, r := range records {
		if r == nil || r.Priority != best {
			continue
		}
		host := strings.ToLower(strings.TrimSuffix(r.Target, "."))
		addr := net.JoinHostPort(host, strconv.Itoa(int(r.Port)))
		weight := int(r.Weight)
		if weight == 0 {
			weight = 1
		}
		list = append(list, Instance{Service: service, ID: addr, Address: addr, Weight: weight})
	}
	slices.SortFunc(list, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(list, func(a, b Instance) bool { return a.ID == b.ID })
}

func sameSRVAnswer(a, b []Instance) bool {
	return slices.EqualFunc(a, b, func(x, y Instance) bool { return x.ID == y.ID && x.Weight == y.Weight })
}

// Watch polls DNS every Refresh and yields an event whenever the answer
// changes, with the contract of Registry.Watch. A failed lookup yields
// (Event{}, err) and the watch goes on at the next poll. The stream runs in
// the caller's goroutine and ends when ctx is done, yielding its error.
func (d *DNS) Watch(ctx context.Context, service string, fromRevision uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		var last *view
		for {
			snap, err := d.refresh(ctx, service)
			if ctx.Err() != nil {
				yield(Event{}, ctx.Err())
				return
			}
			if err != nil && !yield(Event{}, err) {
				return
			}
			var stale *StaleError
			usable := err == nil || errors.As(err, &stale)
			if usable && (last == nil || snap.Revision != last.rev) {
				cur := &view{rev: snap.Revision, all: snap.Instances, routable: snap.Routable}
				ev := Event{Service: service, Revision: cur.rev, Instances: cur.all, Routable: cur.routable}
				if last == nil {
					ev.Reset = true
				} else {
					ev.Changes = diffViews(last, cur)
				}
				// A caller resuming at the current answer gets no reset.
				resumed := last == nil && fromRevision == cur.rev
				if !resumed && !yield(ev, nil) {
					return
				}
				last = cur
			}
			if !sleep(ctx, d.cfg.Refresh) {
				yield(Event{}, ctx.Err())
				return
			}
		}
	}
}
