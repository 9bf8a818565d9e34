package discovery

import (
	"fmt"
	"maps"
	"time"
)

// Status is the health of an instance. The zero value is StatusPassing.
// Statuses are ordered by severity: Passing < Warning < Critical.
type Status uint8

const (
	// StatusPassing means the instance is healthy.
	StatusPassing Status = iota
	// StatusWarning means the instance works but is degraded; it still
	// receives traffic. Suspect instances (see Config.GuardThreshold) are
	// reported as warning.
	StatusWarning
	// StatusCritical means the instance must not receive traffic.
	StatusCritical
)

// String returns "passing", "warning" or "critical".
func (s Status) String() string {
	switch s {
	case StatusPassing:
		return "passing"
	case StatusWarning:
		return "warning"
	case StatusCritical:
		return "critical"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText encodes the status as its String form.
func (s Status) MarshalText() ([]byte, error) {
	if s > StatusCritical {
		return nil, fmt.Errorf("%w: status %d", ErrInvalid, uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "passing", "warning" or "critical"; the empty
// string decodes as passing. Anything else returns an error wrapping
// ErrInvalid.
func (s *Status) UnmarshalText(b []byte) error {
	switch string(b) {
	case "", "passing":
		*s = StatusPassing
	case "warning":
		*s = StatusWarning
	case "critical":
		*s = StatusCritical
	default:
		return fmt.Errorf("%w: unknown status %.32q", ErrInvalid, b)
	}
	return nil
}

// worse returns the more severe of two statuses.
func worse(a, b Status) Status {
	return max(a, b)
}

// Instance is one registered endpoint of a service.
//
// Instances handed out by the registry (in a Snapshot, an Event or a
// Resolve result) share their Metadata map with the registry and with every
// other reader: treat them as read-only.
type Instance struct {
	// Service is the name of the service the instance belongs to.
	Service string `json:"service"`
	// ID identifies the instance within its service.
	ID string `json:"id"`
	// Address is where the instance is reached, usually "host:port".
	Address string `json:"address"`
	// Zone is the failure domain (availability zone, rack); may be empty.
	Zone string `json:"zone,omitempty"`
	// Weight is the relative share of traffic; 0 at registration means 1.
	Weight int `json:"weight"`
	// Metadata holds free-form labels. Read-only once registered.
	Metadata map[string]string `json:"metadata,omitempty"`
	// Status is the effective health: the worst of the status the
	// instance reports (at registration and with each heartbeat), of its
	// active check if it has one, and warning while it is suspect.
	Status Status `json:"status"`
	// Draining instances are still listed but must not be picked for new
	// work.
	Draining bool `json:"draining,omitempty"`
	// Suspect is true while the instance's lease has lapsed but the expiry
	// guard keeps it listed (see Config.GuardThreshold).
	Suspect bool `json:"suspect,omitempty"`
	// ModRevision is the service revision at which this instance last
	// changed in a visible way. Heartbeats that change nothing visible do
	// not move it.
	ModRevision uint64 `json:"mod_revision"`
}

// Routable reports whether the instance may receive new traffic: its
// status is passing or warning and it is not draining.
func (i Instance) Routable() bool {
	return i.Status != StatusCritical && !i.Draining
}

// sameContent reports whether two instances look the same to a reader,
// ignoring ModRevision.
func sameContent(a, b *Instance) bool {
	return a.Service == b.Service && a.ID == b.ID && a.Address == b.Address &&
		a.Zone == b.Zone && a.Weight == b.Weight && a.Status == b.Status &&
		a.Draining == b.Draining && a.Suspect == b.Suspect &&
		maps.Equal(a.Metadata, b.Metadata)
}

// ChangeKind says what happened to an instance between two events.
type ChangeKind uint8

const (
	// Added means the instance was not listed before.
	Added ChangeKind = iota + 1
	// Updated means a listed instance changed (status, drain, address...).
	Updated
	// Removed means the instance is no longer listed (deregistered,
	// expired or removed by an operator).
	Removed
)

// String returns "added", "updated" or "removed".
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("ChangeKind(%d)", uint8(k))
}

// Change is one instance-level difference between two consecutive events of
// a watch. For Removed, Instance is the last listed form.
type Change struct {
	Kind     ChangeKind
	Instance Instance
}

// Snapshot is the state of one service at one revision.
//
// Instances and Routable are shared, immutable slices: the caller must not
// modify them or their elements' Metadata. Copy them (slices.Clone) before
// sorting or editing.
type Snapshot struct {
	// Service is the service name.
	Service string
	// Revision increases with every visible change of this service, and
	// only of this service; 0 is never a valid revision. A service that
	// was never registered is empty at revision 1 (or higher once the
	// registry has forgotten empty services to stay under MaxServices; a
	// name's revision never goes back).
	Revision uint64
	// Instances lists every instance, sorted by ID, including draining,
	// critical and suspect ones.
	Instances []Instance
	// Routable is the subset of Instances for which Routable() is true, in
	// the same order.
	Routable []Instance
}

// Event is one element of a watch stream.
//
// A stream starts with a Reset event carrying the full state (unless the
// watcher resumed from the current revision), then delivers one event per
// observed change, in strictly increasing Revision order. A watcher that
// falls behind receives one coalesced event whose Changes span every
// revision it skipped; the final state is always delivered.
type Event struct {
	// Service is the service name.
	Service string
	// Revision is the service revision this event brings the watcher to.
	Revision uint64
	// Reset is true when the watcher must replace its state with Instances
	// rather than apply Changes: the first event of a stream, an event
	// after the requested revision could not be resumed, and an event
	// after the server restarted (Client). Changes is nil then.
	Reset bool
	// Instances is the full state at Revision, sorted by ID. Shared and
	// immutable, as in Snapshot.
	Instances []Instance
	// Routable is the routable subset of Instances. Shared and immutable.
	Routable []Instance
	// Changes lists what changed since the previous event of this stream,
	// sorted by instance ID. Shared and immutable.
	Changes []Change
}

// Lease is the proof of a registration. Its Token authorizes heartbeats,
// drains and deregistration of that one instance; keep it secret.
type Lease struct {
	Service string        `json:"service"`
	ID      string        `json:"id"`
	Token   string        `json:"token"`
	TTL     time.Duration `json:"-"` // the lease's length, as granted (on the wire a duration string such as "10s")
}

// Registration asks the registry to list an instance under a TTL lease.
type Registration struct {
	// Instance to list. Draining is honoured; Suspect and ModRevision are
	// ignored. Weight 0 means 1.
	Instance Instance
	// TTL is the lease duration: the instance is removed (or, under the
	// expiry guard, marked suspect) when no heartbeat arrives for TTL.
	// 0 means Config.DefaultTTL.
	TTL time.Duration
	// Check is an optional active health check run by the registry.
	Check *Check
	// Token, when the instance is already registered, must be its current
	// lease token: re-registering then updates the instance and renews its
	// lease. Without the token an existing live registration is not
	// replaced (ErrConflict).
	Token string
}

// Check describes an active health check the registry runs against an
// instance. Exactly one of HTTP and TCP is set.
type Check struct {
	// HTTP is a URL fetched with GET: 2xx is passing, 429 is warning,
	// anything else or a transport error is critical.
	HTTP string `json:"http,omitempty"`
	// TCP is a "host:port" the registry dials: a connection is passing, an
	// error is critical.
	TCP string `json:"tcp,omitempty"`
	// Interval between probes; 0 means 10s. At least MinCheckInterval.
	Interval time.Duration `json:"-"`
	// Timeout of one probe; 0 means the smaller of 5s and Interval.
	Timeout time.Duration `json:"-"`
	// FailuresBeforeCritical is how many consecutive failed probes turn the
	// check critical; 0 means 1.
	FailuresBeforeCritical int `json:"failures_before_critical,omitempty"`
}

// MinCheckInterval is the shortest interval an active check may use.
const MinCheckInterval = 100 * time.Millisecond
