module github.com/clipmesh/clipmesh

go 1.26.0

require (
	github.com/clipmesh/clipmesh/gateway v0.0.0
	github.com/clipmesh/clipmesh/gen/go v0.0.0
	github.com/clipmesh/clipmesh/platform v0.0.0
	github.com/clipmesh/clipmesh/services/analytics v0.0.0
	github.com/clipmesh/clipmesh/services/audio v0.0.0
	github.com/clipmesh/clipmesh/services/clips v0.0.0
	github.com/clipmesh/clipmesh/services/collab v0.0.0
	github.com/clipmesh/clipmesh/services/jobs v0.0.0
	github.com/clipmesh/clipmesh/services/nlp v0.0.0
	github.com/clipmesh/clipmesh/services/transcribe v0.0.0
	github.com/clipmesh/clipmesh/services/vision v0.0.0
)

replace (
	github.com/clipmesh/clipmesh/gateway => ./gateway
	github.com/clipmesh/clipmesh/gen/go => ./gen/go
	github.com/clipmesh/clipmesh/platform => ./platform
	github.com/clipmesh/clipmesh/services/analytics => ./services/analytics
	github.com/clipmesh/clipmesh/services/audio => ./services/audio
	github.com/clipmesh/clipmesh/services/clips => ./services/clips
	github.com/clipmesh/clipmesh/services/collab => ./services/collab
	github.com/clipmesh/clipmesh/services/jobs => ./services/jobs
	github.com/clipmesh/clipmesh/services/nlp => ./services/nlp
	github.com/clipmesh/clipmesh/services/transcribe => ./services/transcribe
	github.com/clipmesh/clipmesh/services/vision => ./services/vision
)
