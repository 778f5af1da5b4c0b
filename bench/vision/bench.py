"""Vision benchmark driver (see run.sh): times each command under GNU time,
scores cut detection against the fixture's truth and prints ratios.

usage: bench.py WORKDIR VISIONANALYZE FIXTURE TRUTH
"""

import json
import re
import subprocess
import sys
import time


def timed(cmd):
    """Runs cmd under GNU time: (stdout, stderr, wall s, user+sys s, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S %M"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    u, s, m = re.findall(r"TIME ([\d.]+) ([\d.]+) (\d+)", p.stderr)[-1]
    return p.stdout, p.stderr, wall, float(u) + float(s), int(m) / 1024


def f1(found, truth, tol=1):
    """F1, precision, recall of frame numbers matched one-to-one within tol."""
    used, hits = set(), 0
    for t in truth:
        best = None
        for j, f in enumerate(found):
            if j not in used and abs(f - t) <= tol and (best is None or abs(f - t) < abs(found[best] - t)):
                best = j
        if best is not None:
            used.add(best)
            hits += 1
    p = hits / len(found) if found else 0.0
    r = hits / len(truth) if truth else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def ffmpeg_scene(path, thr, fps):
    out, err, wall, cpu, rss = timed(["ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-an",
                                      "-vf", f"select='gt(scene,{thr})',showinfo", "-f", "null", "-"])
    frames = [round(float(t) * fps) for t in re.findall(r"pts_time:([\d.]+)", err)]
    return frames, wall, cpu, rss


def main():
    _, analyzer, fixture, truth_path = sys.argv[1:5]
    truth = json.load(open(truth_path))
    fps, cuts, seconds = truth["fps"], truth["cuts"], truth["frames"] / truth["fps"]
    print(f"input: {seconds:.0f} s 1280x720 {fps} fps H.264, {len(cuts)} hard cuts and one fade (truth)")

    rows = []
    _, _, w_floor, c_floor, r_floor = timed(["ffmpeg", "-nostdin", "-v", "error", "-i", fixture, "-an", "-f", "null", "-"])
    rows.append(("ffmpeg -f null decode (floor)", w_floor, c_floor, r_floor))
    out, _, w_all, c_all, r_all = timed([analyzer, fixture])
    full = json.loads(out)
    rows.append(("clipmesh whole vision analysis", w_all, c_all, r_all))
    out, _, w_cut, c_cut, r_cut = timed([analyzer, "-scenes-only", "-width", "160", fixture])
    ours = json.loads(out)
    rows.append(("clipmesh cut detection alone", w_cut, c_cut, r_cut))
    scene = {}
    for thr in (0.3, 0.4):
        frames, w, c, r = ffmpeg_scene(fixture, thr, fps)
        scene[thr] = frames
        rows.append((f"ffmpeg scene filter (>{thr})", w, c, r))

    print()
    print(f"{'':34}{'wall s':>8}{'cpu s':>8}{'x real time':>13}{'x floor':>9}{'peak RSS MiB':>14}")
    for name, w, c, r in rows:
        print(f"{name:34}{w:8.2f}{c:8.2f}{seconds / w:13.1f}{w / w_floor:9.2f}{r:14.1f}")
    print(f"(whole analysis: {full['width']}x{full['height']} analysis frames, faces: {full['faces']}, "
          f"{full['face_tracks']} face tracks, {full['thumbnails']} thumbnails, {full['text_lines']} text lines; "
          f"models run: {', '.join(k for k, v in full['models'].items() if v) or 'none'})")

    print()
    print(f"{'cut detection vs truth (±1 frame)':34}{'F1':>8}{'prec':>8}{'recall':>8}{'found':>8}")
    def row(name, found):
        f, p, r = f1(found, cuts)
        print(f"{name:34}{f:8.3f}{p:8.3f}{r:8.3f}{len(found):8d}")
    row("clipmesh (cuts only, 160 px)", [b["frame"] for b in ours["boundaries"] if b["kind"] == "cut"])
    row("clipmesh whole analysis (320 px)", [b["frame"] for b in full["boundaries"] if b["kind"] == "cut"])
    for thr, frames in scene.items():
        row(f"ffmpeg scene > {thr}", frames)
    gradual = [b for b in ours["boundaries"] if b["kind"] != "cut"]
    print(f"clipmesh gradual transitions: {[(b['kind'], b['frame']) for b in gradual]} (fade through black at frame {truth['fade_at']})")
    print("PySceneDetect: not run (python3-scenedetect is not packaged in Debian 12).")


if __name__ == "__main__":
    main()
