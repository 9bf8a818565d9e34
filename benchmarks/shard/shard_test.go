// Package shardbench compares distkit's shard package with other Go
// consistent-hashing libraries on identical workloads: the same 1,000
// node names, the same string keys, node names out.
package shardbench

import (
	"flag"
	"fmt"
	"strconv"
	"testing"

	burak "github.com/buraksezer/consistent"
	jump "github.com/dgryski/go-jump"
	"github.com/distkit/distkit/shard"
	"github.com/golang/groupcache/consistenthash"
	"github.com/serialx/hashring"
	stathat "github.com/stathat/consistent"
)

// Virtual-node counts for the peers that take one: each library's own
// default (stathat's NumberOfReplicas, groupcache's HTTPPool replicas,
// buraksezer's README example).
const (
	groupcacheReplicas = 50
	buraksezerReplicas = 20
	// buraksezerPartitions is well above the node count: with the
	// default (271) most of 1,000 nodes would own nothing.
	buraksezerPartitions = 7919
)

// stathatReplicas defaults to stathat's own default, 20. stathat re-sorts
// its whole ring on every Add, so building 1,000 nodes with the 160 points
// per node that balance it better takes about a minute; pass
// -stathat.replicas=160 to measure that configuration.
var stathatReplicas = flag.Int("stathat.replicas", 20, "virtual nodes per stathat/consistent member")

// keys are the lookup keys of every benchmark, cycled.
var keys = func() []string {
	ks := make([]string, 1<<16)
	for i := range ks {
		ks[i] = "user:" + strconv.Itoa(i*7919)
	}
	return ks
}()

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("10.0.%d.%d:7000", i/256, i%256)
	}
	return names
}

type member string

func (m member) String() string { return string(m) }

type xxHasher struct{}

func (xxHasher) Sum64(b []byte) uint64 { return shard.Hash(b) } // xxHash64, as distkit uses

// peer builds one library over nodes and returns its lookup.
type peer struct {
	name  string
	build func(tb testing.TB, nodes []string) func(key string) string
}

var peers = []peer{
	{"distkit", func(tb testing.TB, nodes []string) func(string) string {
		ring := shard.NewRing(shard.RingConfig{})
		if err := ring.Add(nodes...); err != nil {
			tb.Fatal(err)
		}
		return ring.Locate
	}},
	{"stathat", func(tb testing.TB, nodes []string) func(string) string {
		st := stathat.New()
		st.NumberOfReplicas = *stathatReplicas
		st.Set(nodes)
		return func(k string) string {
			n, err := st.Get(k)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}},
	{"groupcache", func(tb testing.TB, nodes []string) func(string) string {
		gc := consistenthash.New(groupcacheReplicas, nil)
		gc.Add(nodes...)
		return gc.Get
	}},
	{"serialx", func(tb testing.TB, nodes []string) func(string) string {
		sx := hashring.New(nodes)
		return func(k string) string {
			n, ok := sx.GetNode(k)
			if !ok {
				tb.Fatal("serialx found no node")
			}
			return n
		}
	}},
	{"buraksezer", func(tb testing.TB, nodes []string) func(string) string {
		members := make([]burak.Member, len(nodes))
		for i, n := range nodes {
			members[i] = member(n)
		}
		bk := burak.New(members, burak.Config{
			Hasher:            xxHasher{},
			PartitionCount:    buraksezerPartitions,
			ReplicationFactor: buraksezerReplicas,
			Load:              1.25,
		})
		return func(k string) string { return bk.LocateKey([]byte(k)).String() }
	}},
}

var sink string

// BenchmarkShardLocate1000 looks up string keys among 1,000 nodes.
func BenchmarkShardLocate1000(b *testing.B) {
	nodes := nodeNames(1000)
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			locate := p.build(b, nodes)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sink = locate(keys[i&(len(keys)-1)])
				i++
			}
		})
	}
}

// BenchmarkShardAdd1000 adds one node to 1,000 (removing it again outside
// the timer). Only the libraries with incremental Add and Remove that
// finish in well under a second take part; buraksezer redistributes all
// partitions on each change.
func BenchmarkShardAdd1000(b *testing.B) {
	nodes := nodeNames(1000)
	const extra = "10.9.9.9:7000"
	b.Run("distkit", func(b *testing.B) {
		ring := shard.NewRing(shard.RingConfig{})
		if err := ring.Add(nodes...); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := ring.Add(extra); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := ring.Remove(extra); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("stathat", func(b *testing.B) {
		st := stathat.New()
		st.NumberOfReplicas = *stathatReplicas
		st.Set(nodes)
		b.ReportAllocs()
		for b.Loop() {
			st.Add(extra)
			b.StopTimer()
			st.Remove(extra)
			b.StartTimer()
		}
	})
}

var sinkBucket int32

// BenchmarkJump hashes a 64-bit key to one of 1,000 buckets.
func BenchmarkJump(b *testing.B) {
	b.Run("distkit", func(b *testing.B) {
		b.ReportAllocs()
		key := uint64(0)
		for b.Loop() {
			key += 0x9e3779b97f4a7c15
			sinkBucket = int32(shard.JumpHash(key, 1000))
		}
	})
	b.Run("gojump", func(b *testing.B) {
		b.ReportAllocs()
		key := uint64(0)
		for b.Loop() {
			key += 0x9e3779b97f4a7c15
			sinkBucket = jump.Hash(key, 1000)
		}
	})
}
