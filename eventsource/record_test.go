package eventsource

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordRoundTrip(t *testing.T) {
	ev := EventData{ID: "id-1", Type: "Placed", Data: []byte("payload"), Metadata: []byte("meta")}
	d, err := decodeRecord(appendEventRecord(nil, "orders", &ev, 7, -42, true))
	require.NoError(t, err, "decode an event record")
	assert.Equal(t, decodedRecord{kind: kindEvent, indexed: true, stream: []byte("orders"), id: []byte("id-1"), typ: []byte("Placed"),
		version: 7, unixNano: -42, data: []byte("payload"), meta: []byte("meta")}, d, "event fields")

	snap := Snapshot{Stream: "orders", Version: 9, Schema: "v2", Data: []byte("state")}
	d, err = decodeRecord(appendSnapshotRecord(nil, &snap))
	require.NoError(t, err, "decode a snapshot record")
	assert.Equal(t, decodedRecord{kind: kindSnapshot, stream: []byte("orders"), typ: []byte("v2"), version: 9, data: []byte("state")}, d, "snapshot fields")
}

func TestRecordRejectsDamage(t *testing.T) {
	ev := EventData{ID: "i", Type: "T", Data: []byte("d")}
	good := appendEventRecord(nil, "s", &ev, 1, 0, false)
	longName := binary.AppendUvarint([]byte{kindEvent, 0}, MaxNameSize+1)
	longName = append(longName, bytes.Repeat([]byte("s"), MaxNameSize+1)...)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{9}},
		{"every truncation", nil},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"unknown flags", append([]byte{kindEvent, 2}, good[2:]...)},
		{"length beyond the record", []byte{kindEvent, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 's'}},
		{"overlong varint", append([]byte{kindEvent, 0}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"name over the limit", longName},
		{"empty stream", appendEventRecord(nil, "", &ev, 1, 0, false)},
		{"empty type", appendEventRecord(nil, "s", &EventData{}, 1, 0, false)},
		{"version 0", appendEventRecord(nil, "s", &ev, 0, 0, false)},
		{"snapshot without stream", appendSnapshotRecord(nil, &Snapshot{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "every truncation" {
				for n := range len(good) {
					_, err := decodeRecord(good[:n])
					require.ErrorIs(t, err, ErrCorrupt, "a record cut to %d bytes", n)
				}
				return
			}
			_, err := decodeRecord(tt.b)
			require.ErrorIs(t, err, ErrCorrupt, "damaged record must not decode")
		})
	}
}

// FuzzDecodeRecord checks that no input makes the decoder panic or read out
// of bounds, and that whatever decodes encodes back to the same record.
func FuzzDecodeRecord(f *testing.F) {
	ev := EventData{ID: "id", Type: "T", Data: []byte("data"), Metadata: []byte("m")}
	f.Add(appendEventRecord(nil, "stream", &ev, 3, 1700000000000000000, false))
	f.Add(appendEventRecord(nil, "s", &EventData{Type: "T"}, 1, -1, true))
	f.Add(appendSnapshotRecord(nil, &Snapshot{Stream: "s", Version: 2, Schema: "v1", Data: []byte("x")}))
	f.Add([]byte{kindEvent})
	f.Add([]byte{kindEvent, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{kindSnapshot, 1, 's', 0x80})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeRecord(b)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt, "every decode error is corruption")
			return
		}
		var again []byte
		switch d.kind {
		case kindEvent:
			ev := EventData{ID: string(d.id), Type: string(d.typ), Data: d.data, Metadata: d.meta}
			again = appendEventRecord(nil, string(d.stream), &ev, d.version, d.unixNano, d.indexed)
		case kindSnapshot:
			again = appendSnapshotRecord(nil, &Snapshot{Stream: string(d.stream), Version: d.version, Schema: string(d.typ), Data: d.data})
		default:
			t.Fatalf("decoded unknown kind %#x", d.kind)
		}
		d2, err := decodeRecord(again)
		require.NoError(t, err, "a re-encoded record decodes")
		require.Equal(t, normalise(d), normalise(d2), "re-encoding keeps every field")
		require.LessOrEqual(t, len(again), len(b), "the canonical encoding is never longer")
	})
}

// normalise makes empty and nil byte slices compare equal.
func normalise(d decodedRecord) decodedRecord {
	for _, p := range []*[]byte{&d.stream, &d.id, &d.typ, &d.data, &d.meta} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return d
}
