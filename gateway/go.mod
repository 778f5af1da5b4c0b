module github.com/clipmesh/clipmesh/gateway

go 1.26.0

require (
	github.com/clipmesh/clipmesh/gen/go v0.0.0
	github.com/clipmesh/clipmesh/platform v0.0.0
)

replace (
	github.com/clipmesh/clipmesh/gen/go => ../gen/go
	github.com/clipmesh/clipmesh/platform => ../platform
)
