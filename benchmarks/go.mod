module github.com/distkit/distkit/benchmarks

go 1.26.0

require (
	github.com/DistributedClocks/GoVector v0.0.0-20240117185643-ae07272d0ebd
	github.com/avast/retry-go/v5 v5.1.1
	github.com/buraksezer/consistent v0.10.0
	github.com/cenkalti/backoff/v5 v5.0.3
	github.com/dgryski/go-jump v0.0.0-20170409065014-e1f439676b57
	github.com/distkit/distkit v0.0.0
	github.com/eapache/go-resiliency v1.7.0
	github.com/failsafe-go/failsafe-go v0.9.8
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8
	github.com/hallgren/eventsourcing v0.7.0
	github.com/looplab/eventhorizon v0.16.0
	github.com/serialx/hashring v0.0.0-20200727003509-22c0c7ab6b1b
	github.com/sony/gobreaker/v2 v2.4.0
	github.com/stathat/consistent v1.0.0
	golang.org/x/sync v0.23.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/bits-and-blooms/bitset v1.24.4 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cncf/xds/go v0.0.0-20260202195803-dba9d589def2 // indirect
	github.com/envoyproxy/protoc-gen-validate v1.3.3 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hallgren/eventsourcing/core v0.4.0 // indirect
	github.com/jinzhu/copier v0.3.4 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/distkit/distkit => ../
