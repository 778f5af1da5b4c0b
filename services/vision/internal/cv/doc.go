// Package cv is the vision service's only door to OpenCV (gocv.io/x/gocv).
//
// Every other package works on plain Go byte slices (8-bit gray or packed
// RGB24, row-major, no padding) and calls the few functions here; each copies
// its input into OpenCV-owned memory, runs one OpenCV routine and copies the
// result back, so no Go memory is ever held by C++ and no gocv type leaks out.
// Upgrading gocv (or replacing OpenCV) therefore touches this package only.
//
// gocv is pinned at v0.25.0: it is the newest version on the module proxy
// that compiles against Debian 12's OpenCV 4.6 (libopencv-dev). v0.41.0 needs
// OpenCV 4.11+ (its objdetect.cpp calls FaceDetectorYN::create from buffers
// and aruco.cpp uses the 4.7+ ArucoDetector API), and fails to compile with
// 4.6 (verified: hundreds of C++ errors).
package cv
