// Package subject picks, per sampled frame, the point a reframing crop
// (e.g. 9:16 out of 16:9) should follow when no face is known: the centroid
// of what moves (absolute frame difference above a threshold), or, in a
// frame where nothing moves, the centroid of spectral-residual saliency
// (Hou and Zhang 2007, on a 64×64 thumbnail). The raw point is smoothed:
// a dead zone holds the crop still for small moves within a shot, an
// exponential filter follows larger ones at a bounded speed, and a cut
// (Tracker.Cut) makes it jump straight to the new shot's subject.
//
// Points are normalised: (0, 0) is the top-left corner, (1, 1) the
// bottom-right.
package subject
