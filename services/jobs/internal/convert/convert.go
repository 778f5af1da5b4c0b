// Package convert maps the jobs service's domain values to their contract
// messages.
package convert

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/common/v1"
	videosv1 "github.com/clipmesh/clipmesh/gen/go/clipmesh/videos/v1"
	"github.com/clipmesh/clipmesh/services/jobs/internal/catalog"
	"github.com/clipmesh/clipmesh/services/jobs/internal/media"
)

// Video converts a catalog video.
func Video(v catalog.Video) *videosv1.Video {
	return &videosv1.Video{
		Id: v.ID, Filename: v.Filename, ContentType: v.ContentType, SizeBytes: v.SizeBytes,
		Sha256: v.SHA256, Probe: Probe(v.Probe), CreateTime: timestamppb.New(v.Created),
		Original: &commonv1.Artifact{Key: v.BlobKey, Kind: "original", ContentType: v.ContentType,
			SizeBytes: v.SizeBytes, Sha256: v.SHA256},
	}
}

// Probe converts a probe result.
func Probe(i media.Info) *videosv1.Probe {
	p := &videosv1.Probe{
		DurationSeconds: i.DurationSeconds, FormatName: i.FormatName, BitRate: i.BitRate,
		HasVideo: i.Video != nil, HasAudio: i.Audio != nil, Engine: i.Engine,
	}
	if v := i.Video; v != nil {
		p.Video = &videosv1.VideoStream{Codec: v.Codec, Width: int32(v.Width), Height: int32(v.Height), Fps: v.FPS,
			FrameCount: v.FrameCount, BitRate: v.BitRate, PixelFormat: v.PixelFormat, RotationDegrees: int32(v.RotationDegrees)}
	}
	if a := i.Audio; a != nil {
		p.Audio = &videosv1.AudioStream{Codec: a.Codec, Channels: int32(a.Channels), SampleRate: int32(a.SampleRate),
			BitRate: a.BitRate, ChannelLayout: a.ChannelLayout}
	}
	return p
}
