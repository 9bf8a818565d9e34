package eventsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type placedV1 struct{ Amount int }     // stored as "Placed.v1": {"Amount": n}
type placedV2 struct{ Cents int }      // stored as "Placed.v2"
type placed struct{ Cents, Items int } // current schema, "Placed"

func TestCodecRoundTrip(t *testing.T) {
	c := &Codec{}
	RegisterJSON[placed](c, "Placed")
	Register(c, "Raw", func(b []byte) ([]byte, error) { return b, nil }, func(b []byte) ([]byte, error) { return bytes.Clone(b), nil })

	data, err := c.Encode(placed{Cents: 250, Items: 2})
	require.NoError(t, err, "encode")
	assert.Equal(t, "Placed", data.Type, "type name from the registration")
	assert.Empty(t, data.ID, "Encode leaves the id to the caller")
	v, err := c.Decode(Event{Type: data.Type, Data: data.Data})
	require.NoError(t, err, "decode")
	assert.Equal(t, placed{Cents: 250, Items: 2}, v, "round trip")

	raw, err := c.Encode([]byte("abc"))
	require.NoError(t, err, "encode with a custom marshaller")
	assert.Equal(t, "Raw", raw.Type, "custom type name")

	_, err = c.Encode(&placed{})
	require.ErrorIs(t, err, ErrUnknownEventType, "a pointer is another Go type")
	_, err = c.Decode(Event{Type: "Nope"})
	require.ErrorIs(t, err, ErrUnknownEventType, "unknown event type")
	_, err = c.Decode(Event{Type: "Placed", Data: []byte("{")})
	var syntax *json.SyntaxError
	require.ErrorAs(t, err, &syntax, "the unmarshaller's error is wrapped")

	var zero Codec
	_, err = zero.Encode(placed{})
	require.ErrorIs(t, err, ErrUnknownEventType, "the zero codec knows no types")
}

func TestCodecEncodeError(t *testing.T) {
	c := &Codec{}
	boom := errors.New("boom")
	Register(c, "Bad", func(int) ([]byte, error) { return nil, boom }, func([]byte) (int, error) { return 0, boom })
	_, err := c.Encode(1)
	require.ErrorIs(t, err, boom, "marshal error passes through")
	_, err = c.Decode(Event{Type: "Bad"})
	require.ErrorIs(t, err, boom, "unmarshal error passes through")
}

func TestCodecRegisterPanics(t *testing.T) {
	c := &Codec{}
	RegisterJSON[placed](c, "Placed")
	tests := []struct {
		name string
		fn   func()
	}{
		{"duplicate name", func() { RegisterJSON[placedV1](c, "Placed") }},
		{"duplicate type", func() { RegisterJSON[placed](c, "Other") }},
		{"empty name", func() { RegisterJSON[placedV2](c, "") }},
		{"long name", func() { RegisterJSON[placedV2](c, strings.Repeat("n", MaxNameSize+1)) }},
		{"interface type", func() { RegisterJSON[error](c, "Err") }},
		{"nil functions", func() { Register[int](c, "Int", nil, nil) }},
		{"nil upcaster", func() { c.AddUpcaster("X", nil) }},
		{"empty upcaster type", func() { c.AddUpcaster("", func(ev Event) (Event, error) { return ev, nil }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Panics(t, tt.fn, "registration should panic")
		})
	}
	c.AddUpcaster("A", func(ev Event) (Event, error) { return ev, nil })
	require.Panics(t, func() { c.AddUpcaster("A", func(ev Event) (Event, error) { return ev, nil }) }, "second upcaster for one type")
}

// schemaCodec decodes three generations of the Placed event.
func schemaCodec() *Codec {
	c := &Codec{}
	RegisterJSON[placed](c, "Placed")
	c.AddUpcaster("Placed.v1", func(ev Event) (Event, error) {
		var old placedV1
		if err := json.Unmarshal(ev.Data, &old); err != nil {
			return Event{}, err
		}
		data, err := json.Marshal(placedV2{Cents: old.Amount * 100})
		ev.Type, ev.Data = "Placed.v2", data
		return ev, err
	})
	c.AddUpcaster("Placed.v2", func(ev Event) (Event, error) {
		var old placedV2
		if err := json.Unmarshal(ev.Data, &old); err != nil {
			return Event{}, err
		}
		data, err := json.Marshal(placed{Cents: old.Cents, Items: 1})
		ev.Type, ev.Data = "Placed", data
		return ev, err
	})
	return c
}

func TestCodecUpcasters(t *testing.T) {
	c := schemaCodec()
	tests := []struct {
		name string
		ev   Event
		want placed
	}{
		{"two generations old", Event{Type: "Placed.v1", Data: []byte(`{"Amount":3}`)}, placed{Cents: 300, Items: 1}},
		{"one generation old", Event{Type: "Placed.v2", Data: []byte(`{"Cents":42}`)}, placed{Cents: 42, Items: 1}},
		{"current", Event{Type: "Placed", Data: []byte(`{"Cents":7,"Items":4}`)}, placed{Cents: 7, Items: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.Decode(tt.ev)
			require.NoError(t, err, "decode")
			assert.Equal(t, tt.want, v, "upcast to the current schema")
		})
	}

	stored := Event{ID: "i", Stream: "s", Type: "Placed.v1", Version: 4, Position: 9, Data: []byte(`{"Amount":1}`)}
	up, err := c.Upcast(stored)
	require.NoError(t, err, "upcast")
	assert.Equal(t, "Placed", up.Type, "type after upcasting")
	assert.Equal(t, []any{"i", "s", uint64(4), uint64(9)}, []any{up.ID, up.Stream, up.Version, up.Position}, "where the event is stays unchanged")

	_, err = c.Decode(Event{Type: "Placed.v1", Data: []byte(`nope`)})
	var syntax *json.SyntaxError
	require.ErrorAs(t, err, &syntax, "an upcaster's error is returned")
}

func TestCodecUpcasterCannotMoveEvent(t *testing.T) {
	c := &Codec{}
	c.AddUpcaster("Old", func(ev Event) (Event, error) {
		return Event{Type: "New", Stream: "elsewhere", Version: 99}, nil
	})
	up, err := c.Upcast(Event{Stream: "s", Version: 1, Type: "Old"})
	require.NoError(t, err, "upcast")
	assert.Equal(t, "s", up.Stream, "stream kept")
	assert.Equal(t, uint64(1), up.Version, "version kept")
}

func TestCodecUpcastLoops(t *testing.T) {
	same := &Codec{}
	same.AddUpcaster("A", func(ev Event) (Event, error) { return ev, nil })
	_, err := same.Upcast(Event{Type: "A"})
	require.ErrorIs(t, err, ErrUpcastLoop, "an upcaster must change the type")

	cycle := &Codec{}
	cycle.AddUpcaster("A", func(ev Event) (Event, error) { ev.Type = "B"; return ev, nil })
	cycle.AddUpcaster("B", func(ev Event) (Event, error) { ev.Type = "A"; return ev, nil })
	_, err = cycle.Decode(Event{Type: "A"})
	require.ErrorIs(t, err, ErrUpcastLoop, "a cycle is stopped after MaxUpcasts")
}

func TestCodecConcurrentRegistration(t *testing.T) {
	c := &Codec{}
	RegisterJSON[placed](c, "Placed")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 200 {
			v, err := c.Decode(Event{Type: "Placed", Data: []byte(`{"Cents":1}`)})
			if err != nil || v.(placed).Cents != 1 {
				t.Errorf("decode during registration: %v %v", v, err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		RegisterJSON[placedV1](c, "Placed.v1")
		RegisterJSON[placedV2](c, "Placed.v2")
	}()
	wg.Wait()
	_, err := c.Encode(placedV2{})
	require.NoError(t, err, "types registered concurrently are all there")
}
