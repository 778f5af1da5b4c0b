"""Writes the vision benchmark's fixture: 60 s of 1280x720 at 30 fps, H.264,
made of segments of different synthetic content (moving test patterns, a
zooming fractal, cellular automata, noise, a portrait under a slow zoom, a
slow pan) joined by hard cuts, plus one fade through black. The JSON truth
lists the frame of every hard cut (the fade is not one).

usage: fixture.py OUT.mp4 TRUTH.json
"""

import json
import subprocess
import sys

FPS, W, H = 30, 1280, 720
ASTRONAUT = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

# (lavfi source or image, seconds); every source is scaled to 1280x720.
SEGMENTS = [
    ("testsrc2=s=1280x720:r=30", 8.0),
    ("mandelbrot=s=640x360:r=30", 4.0),
    ("life=s=320x180:r=30:mold=10:ratio=0.3:death_color=#202040:life_color=#c0ff80", 6.0),
    ("img:zoom", 7.0),                                   # a face, slow zoom
    ("cellauto=s=640x360:r=30:rule=110", 3.5),
    ("smptehdbars=s=1280x720:r=30", 2.0),
    ("img:pan", 8.0),                                    # slow pan: no cut inside
    ("rgbtestsrc=s=1280x720:r=30,hue=H=2*PI*t/4", 4.5),  # fade out at its end
    ("testsrc=s=1280x720:r=30", 5.0),                    # fade in at its start
    ("mandelbrot=s=640x360:r=30:start_scale=0.5:end_scale=0.05", 3.0),
    ("color=c=0x336699:s=1280x720:r=30,noise=alls=40:allf=t", 2.5),
    ("life=s=640x360:r=30:mold=25:ratio=0.5", 6.5),
]
FADE_AFTER = 7  # segment index whose end fades to black, the next fading in


def main():
    out, truth_path = sys.argv[1], sys.argv[2]
    assert abs(sum(d for _, d in SEGMENTS) - 60) < 1e-9
    args, chains = ["ffmpeg", "-nostdin", "-v", "error", "-y"], []
    for i, (src, d) in enumerate(SEGMENTS):
        n = round(d * FPS)
        if src.startswith("img:"):
            args += ["-loop", "1", "-framerate", str(FPS), "-t", str(d), "-i", ASTRONAUT]
            if src == "img:zoom":
                f = f"scale=2560:2560,zoompan=z='1+0.3*on/{n}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s={W}x{H}:fps={FPS}"
            else:
                f = f"scale=2400:2400,crop={W}:{H}:x='(iw-{W})*t/{d}':y='(ih-{H})/3'"
        else:
            args += ["-f", "lavfi", "-t", str(d), "-i", src]
            f = f"scale={W}:{H}"
        f += f",fps={FPS},format=yuv420p,setsar=1,trim=end_frame={n},setpts=PTS-STARTPTS"
        if i == FADE_AFTER:
            f += f",fade=t=out:st={d - 1}:d=1"
        if i == FADE_AFTER + 1:
            f += ",fade=t=in:st=0:d=1"
        chains.append(f"[{i}:v]{f}[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(SEGMENTS))) + f"concat=n={len(SEGMENTS)}:v=1[out]"
    args += ["-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
             "-g", "60", "-pix_fmt", "yuv420p", "-r", str(FPS), out]
    subprocess.run(args, check=True)
    cuts, frame = [], 0
    for i, (_, d) in enumerate(SEGMENTS[:-1]):
        frame += round(d * FPS)
        if i != FADE_AFTER:
            cuts.append(frame)
    with open(truth_path, "w") as f:
        json.dump({"fps": FPS, "frames": 60 * FPS, "cuts": cuts, "fade_at": sum(round(d * FPS) for _, d in SEGMENTS[:FADE_AFTER + 1])}, f)


if __name__ == "__main__":
    main()
