// Package frames decodes the video stream of a file once, with ffmpeg, into
// raw frames at a chosen size, rate and pixel format, and hands every frame
// to each of several consumers (scene, motion, quality and subject
// detectors), so no detector decodes on its own.
//
// ffmpeg runs as `ffmpeg -i FILE -map 0:v:0 -vf scale=W:H:flags=area,fps=F
// -f rawvideo -pix_fmt rgb24|gray pipe:1` under exec.CommandContext;
// cancelling the context kills it at once. Downscaling inside ffmpeg's
// filter graph is what makes this faster than OpenCV's VideoCapture at the
// analysis size (BenchmarkDecode, 1-minute 720p30 H.264, 2 cores: 3.84 s
// vs 4.09 s to 320x180; at the native size VideoCapture wins, 4.32 s vs
// 5.21 s, because 2.7 MB RGB frames then cross the pipe).
//
// Timing: the fps filter makes the output constant-rate, so frame n is at
// n/F seconds after the first frame of the stream (Frame.Time). When
// Options.FPS is zero the stream's own average rate (from ffprobe) is used,
// so a constant-rate file is analysed frame by frame with exact indices; a
// variable-rate file is resampled to its average rate (frames duplicated or
// dropped), which keeps n/F timing exact for the analysis at the cost of a
// possible ±1 frame offset against the original presentation times.
package frames
