package eventsource

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
)

var (
	// ErrUnknownEventType is returned, wrapped with the type, by Codec.Encode
	// for a Go type that was not registered and by Codec.Decode for an event
	// type that has no decoder even after upcasting.
	ErrUnknownEventType = errors.New("eventsource: unknown event type")
	// ErrUpcastLoop is returned, wrapped with the types, by Codec.Upcast and
	// Codec.Decode when upcasters keep an event's type unchanged or chain
	// more than MaxUpcasts times.
	ErrUpcastLoop = errors.New("eventsource: upcaster loop")
)

// MaxUpcasts is the longest chain of upcasters Codec applies to one event.
const MaxUpcasts = 32

// Upcaster rewrites an event written under an old schema into a newer one
// as it is read. It may change Type, Data and Metadata, and must change
// Type (for example "OrderPlaced.v1" to "OrderPlaced"); the codec keeps the
// other fields as stored. It must not modify ev.Data in place: that memory
// belongs to the store.
type Upcaster func(ev Event) (Event, error)

// Codec maps event type names to Go types and back, and upgrades old event
// schemas on read. Each Codec has its own registrations; there is no global
// registry. The zero value is an empty codec ready for use. Register types
// and upcasters before use; Encode, Decode and Upcast are safe for
// concurrent use, also with registration.
type Codec struct {
	mu    sync.Mutex // serialises registration
	table atomic.Pointer[codecTable]
}

// codecTable is immutable once published; registration copies it.
type codecTable struct {
	byName    map[string]*codecType
	byType    map[reflect.Type]*codecType
	upcasters map[string]Upcaster
}

type codecType struct {
	name   string
	encode func(v any) ([]byte, error)
	decode func(data []byte) (any, error)
}

func (c *Codec) load() *codecTable {
	if t := c.table.Load(); t != nil {
		return t
	}
	return &codecTable{}
}

// update publishes a modified copy of the table.
func (c *Codec) update(change func(t *codecTable)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.load()
	t := &codecTable{
		byName:    maps.Clone(old.byName),
		byType:    maps.Clone(old.byType),
		upcasters: maps.Clone(old.upcasters),
	}
	if t.byName == nil {
		t.byName = map[string]*codecType{}
		t.byType = map[reflect.Type]*codecType{}
	}
	if t.upcasters == nil {
		t.upcasters = map[string]Upcaster{}
	}
	change(t)
	c.table.Store(t)
}

// Register makes c encode values of type T as events of type name with
// marshal, and decode events of type name into T with unmarshal. It panics
// if name is empty or too long, if T is an interface type, or if name or T is
// already registered: those are programming errors.
func Register[T any](c *Codec, name string, marshal func(T) ([]byte, error), unmarshal func([]byte) (T, error)) {
	if name == "" || len(name) > MaxNameSize {
		panic("eventsource: Register needs a type name of 1 to MaxNameSize bytes")
	}
	if marshal == nil || unmarshal == nil {
		panic("eventsource: Register needs marshal and unmarshal functions")
	}
	goType := reflect.TypeFor[T]()
	if goType.Kind() == reflect.Interface {
		panic("eventsource: Register needs a concrete type, not an interface")
	}
	ct := &codecType{
		name: name,
		encode: func(v any) ([]byte, error) {
			return marshal(v.(T))
		},
		decode: func(data []byte) (any, error) {
			v, err := unmarshal(data)
			if err != nil {
				return nil, err
			}
			return v, nil
		},
	}
	c.update(func(t *codecTable) {
		if _, dup := t.byName[name]; dup {
			panic(fmt.Sprintf("eventsource: event type %q registered twice", name))
		}
		if _, dup := t.byType[goType]; dup {
			panic(fmt.Sprintf("eventsource: Go type %v registered twice", goType))
		}
		t.byName[name] = ct
		t.byType[goType] = ct
	})
}

// RegisterJSON registers T under name with encoding/json.
func RegisterJSON[T any](c *Codec, name string) {
	Register(c, name, func(v T) ([]byte, error) { return json.Marshal(v) }, func(data []byte) (T, error) {
		var v T
		err := json.Unmarshal(data, &v)
		return v, err
	})
}

// AddUpcaster makes c pass every event of type from through up before
// decoding it. It panics if from is empty or already has an upcaster, or if
// up is nil.
func (c *Codec) AddUpcaster(from string, up Upcaster) {
	if from == "" || up == nil {
		panic("eventsource: AddUpcaster needs a type name and a function")
	}
	c.update(func(t *codecTable) {
		if _, dup := t.upcasters[from]; dup {
			panic(fmt.Sprintf("eventsource: upcaster for %q added twice", from))
		}
		t.upcasters[from] = up
	})
}

// Encode returns v as an EventData with the type name v's Go type was
// registered under, and no ID. It returns an error wrapping
// ErrUnknownEventType for an unregistered type, or marshal's error.
func (c *Codec) Encode(v any) (EventData, error) {
	ct, ok := c.load().byType[reflect.TypeOf(v)]
	if !ok {
		return EventData{}, fmt.Errorf("%w: Go type %T is not registered", ErrUnknownEventType, v)
	}
	data, err := ct.encode(v)
	if err != nil {
		return EventData{}, fmt.Errorf("eventsource: encoding %s: %w", ct.name, err)
	}
	return EventData{Type: ct.name, Data: data}, nil
}

// Upcast applies the upcasters for ev's type, repeatedly, until the event
// has a type without one. Errors: an upcaster's own error, or ErrUpcastLoop.
func (c *Codec) Upcast(ev Event) (Event, error) {
	return c.load().upcast(ev)
}

func (t *codecTable) upcast(ev Event) (Event, error) {
	for range MaxUpcasts {
		up, ok := t.upcasters[ev.Type]
		if !ok {
			return ev, nil
		}
		next, err := up(ev)
		if err != nil {
			return Event{}, fmt.Errorf("eventsource: upcasting %s: %w", ev.Type, err)
		}
		if next.Type == ev.Type {
			return Event{}, fmt.Errorf("%w: upcaster for %q kept the type", ErrUpcastLoop, ev.Type)
		}
		// Only the schema may change; where the event is stays as stored.
		ev.Type, ev.Data, ev.Metadata = next.Type, next.Data, next.Metadata
	}
	if _, ok := t.upcasters[ev.Type]; ok {
		return Event{}, fmt.Errorf("%w: more than %d upcasts, at %q", ErrUpcastLoop, MaxUpcasts, ev.Type)
	}
	return ev, nil
}

// Decode upcasts ev and returns its data as the Go type registered for its
// (upcast) type. Errors: wrapping ErrUnknownEventType, ErrUpcastLoop, an
// upcaster's error, or the unmarshal function's error.
func (c *Codec) Decode(ev Event) (any, error) {
	var d decoder
	d.table = c.load()
	return d.decode(&ev)
}

// decoder decodes a run of events with one snapshot of the codec's table,
// remembering the last event type, which in a stream usually repeats.
type decoder struct {
	table *codecTable
	last  *codecType
}

func (d *decoder) decode(ev *Event) (any, error) {
	if len(d.table.upcasters) != 0 {
		up, err := d.table.upcast(*ev)
		if err != nil {
			return nil, err
		}
		ev = &up
	}
	ct := d.last
	if ct == nil || ct.name != ev.Type {
		var ok bool
		if ct, ok = d.table.byName[ev.Type]; !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, ev.Type)
		}
		d.last = ct
	}
	v, err := ct.decode(ev.Data)
	if err != nil {
		return nil, fmt.Errorf("eventsource: decoding %s at %s version %d: %w", ev.Type, ev.Stream, ev.Version, err)
	}
	return v, nil
}
