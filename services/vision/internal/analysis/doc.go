// Package analysis runs the whole visual analysis of one file: one ffmpeg
// decode (package frames) at the stream's own frame rate, 320 px wide, RGB,
// shared by every detector. Scenes see every frame (frame-accurate cuts);
// motion, quality and the subject tracker every frame of a ~5 fps grid;
// faces (BlazeFace, package faces) a ~2 fps grid. Scene boundaries are only
// known when the stream ends (scenes.Detector decides in Finish), so face
// tracks are cut at scenes and scene thumbnails chosen afterwards, from
// best-per-second candidates kept as small JPEGs while decoding.
//
// A video over the Limits is refused before decoding (ErrLimit); a stream
// that breaks part-way is analysed up to where it broke (Result.Stopped).
package analysis
