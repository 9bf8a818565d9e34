package discovery

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Limits and defaults of a Registry. Each Config field documents its own
// default; these are the values.
const (
	DefaultTTL               = 10 * time.Second
	DefaultMinTTL            = time.Second
	DefaultMaxTTL            = time.Hour
	DefaultCheckInterval     = time.Second
	DefaultGuardThreshold    = 0.5
	DefaultGuardMinInstances = 3
	DefaultGuardMaxSuspect   = 2 * time.Minute
	DefaultMaxServices       = 10_000
	DefaultMaxInstances      = 10_000
	DefaultMaxQueryWait      = 5 * time.Minute
	// MaxNameBytes bounds service names, instance IDs, zones, addresses and
	// metadata keys.
	MaxNameBytes = 256
	// MaxMetadataBytes bounds the sum of metadata key and value lengths of
	// one instance.
	MaxMetadataBytes = 4096
	// MaxMetadataEntries bounds the number of metadata entries of one
	// instance.
	MaxMetadataEntries = 64
	// MaxWeight bounds Instance.Weight.
	MaxWeight = 1_000_000
)

// Config configures a Registry. The zero value is ready to use; every zero
// field means the default named in its comment.
type Config struct {
	// DefaultTTL is the lease TTL of registrations that set none; 0 means
	// DefaultTTL (10s).
	DefaultTTL time.Duration
	// MinTTL and MaxTTL bound the TTL a registration may ask for; 0 means
	// 1s and 1h.
	MinTTL, MaxTTL time.Duration
	// CheckInterval is the least time between two expiry sweeps. A lease
	// never expires before its TTL and is removed (or marked suspect) no
	// later than TTL + CheckInterval after the last heartbeat. Lapses that
	// fall within one interval are handled, and published, together.
	// 0 means 1s.
	CheckInterval time.Duration

	// GuardDisabled turns the expiry guard off: every lapsed lease is
	// removed on time, even when a whole service lapses at once.
	GuardDisabled bool
	// GuardThreshold is the fraction of a service's listed instances that
	// must be at risk (suspect already, or lapsing within half their TTL)
	// for the expiry guard to keep lapsing instances as suspect instead of
	// removing them. Must be in (0, 1); 0 means 0.5.
	GuardThreshold float64
	// GuardMinInstances is the smallest service the guard protects;
	// smaller services always expire on time. 0 means 3.
	GuardMinInstances int
	// GuardMaxSuspect bounds how long an instance stays suspect without a
	// heartbeat before it is removed anyway. 0 means 2 minutes.
	GuardMaxSuspect time.Duration

	// MaxServices bounds the number of services the registry keeps a
	// record of; 0 means 10,000. When it is reached, registering a new
	// service forgets a service without instances to make room; if every
	// service has instances, the registration fails with ErrLimit.
	MaxServices int
	// MaxInstances bounds the instances of one service; 0 means 10,000.
	MaxInstances int
	// MaxQueryWait caps the wait of a blocking Query; 0 means 5 minutes.
	MaxQueryWait time.Duration

	// HTTPClient runs active HTTP checks; nil means a client without
	// keep-alives that does not follow redirects.
	HTTPClient *http.Client
	// Dial opens the connections of active TCP checks; nil means
	// (&net.Dialer{}).DialContext.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// OnExpire is called for every instance removed because its lease
	// lapsed (or its suspect time ran out), with its last listed form. It
	// runs outside the registry's lock, on the goroutine of the expiry
	// timer, and may call the Registry.
	OnExpire func(Instance)
	// OnGuard is called when the expiry guard starts keeping instances of
	// a service as suspect (Active true) and when the service has no
	// suspect left (Active false). It runs outside the registry's lock and
	// may call the Registry.
	OnGuard func(GuardEvent)
}

// GuardEvent reports a change of the expiry guard for one service.
type GuardEvent struct {
	Service string
	// Active is true when the guard engaged, false when it released.
	Active bool
	// Suspect is the number of suspect instances after the change.
	Suspect int
	// Listed is the number of listed instances after the change.
	Listed int
}

// Validate reports the first invalid field, wrapping ErrInvalid. New panics
// on the same conditions.
func (c Config) Validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"DefaultTTL", c.DefaultTTL}, {"MinTTL", c.MinTTL}, {"MaxTTL", c.MaxTTL},
		{"CheckInterval", c.CheckInterval}, {"GuardMaxSuspect", c.GuardMaxSuspect},
		{"MaxQueryWait", c.MaxQueryWait},
	}
	for _, f := range durations {
		if f.d < 0 {
			return fmt.Errorf("%w: Config.%s is negative", ErrInvalid, f.name)
		}
	}
	if !(c.GuardThreshold >= 0 && c.GuardThreshold < 1) {
		return fmt.Errorf("%w: Config.GuardThreshold must be in (0, 1)", ErrInvalid)
	}
	if c.GuardMinInstances < 0 || c.MaxServices < 0 || c.MaxInstances < 0 {
		return fmt.Errorf("%w: Config counts must not be negative", ErrInvalid)
	}
	d := c.withDefaults()
	if d.MinTTL > d.MaxTTL {
		return fmt.Errorf("%w: Config.MinTTL %s exceeds MaxTTL %s", ErrInvalid, d.MinTTL, d.MaxTTL)
	}
	if d.DefaultTTL < d.MinTTL || d.DefaultTTL > d.MaxTTL {
		return fmt.Errorf("%w: Config.DefaultTTL %s outside [%s, %s]", ErrInvalid, d.DefaultTTL, d.MinTTL, d.MaxTTL)
	}
	return nil
}

func (c Config) withDefaults() Config {
	setDefault(&c.DefaultTTL, DefaultTTL)
	setDefault(&c.MinTTL, DefaultMinTTL)
	setDefault(&c.MaxTTL, DefaultMaxTTL)
	setDefault(&c.CheckInterval, DefaultCheckInterval)
	setDefault(&c.GuardMaxSuspect, DefaultGuardMaxSuspect)
	setDefault(&c.MaxQueryWait, DefaultMaxQueryWait)
	setDefault(&c.GuardThreshold, DefaultGuardThreshold)
	setDefault(&c.GuardMinInstances, DefaultGuardMinInstances)
	setDefault(&c.MaxServices, DefaultMaxServices)
	setDefault(&c.MaxInstances, DefaultMaxInstances)
	if c.Dial == nil {
		c.Dial = (&net.Dialer{}).DialContext
	}
	return c
}

// setDefault replaces a zero *p with v: zero config fields mean defaults.
func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}
