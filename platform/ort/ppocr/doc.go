// Package ppocr reads on-screen text with PaddleOCR PP-OCRv4 (manifest
// entries "ppocr-det", "ppocr-rec" and "ppocr-keys"): DB text detection,
// its post-processing (threshold, connected regions, box score, unclip),
// then CTC recognition of each line.
//
//	r, err := ppocr.New(detPath, recPath, keysPath, ort.Options{})
//	lines, err := r.Read(frame)             // detect + recognise, reading order
//	lines, err = r.Recognize(frame, boxes)  // recognise known caption areas only
//	rows := ppocr.MergeRows(lines)          // one line per row of text
//
// Boxes are axis-aligned: horizontal text (captions, titles, lower thirds)
// is what a video frame carries; rotated text is read from its bounding
// box, less well. Detection scales the frame to fit 960 pixels (MaxSide).
package ppocr
