// Package imgutil samples Go images into model input tensors: the crop,
// resize and pixel conversion every vision runner needs, without OpenCV.
package imgutil
