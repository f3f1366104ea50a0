"""Times Pillow on one job, in one process: decode a file's bytes (with JPEG draft mode, Pillow's
shrink-on-load), resize to size x size (bilinear, antialiased) and save JPEG quality 90, as many
times as fit in the given seconds. Prints nanoseconds per operation. Run by cmd/bench."""
import io
import sys
import time

from PIL import Image

data = open(sys.argv[1], "rb").read()
size, seconds = int(sys.argv[2]), float(sys.argv[3])
n, start = 0, time.perf_counter()
while True:
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", (size, size))
    im = im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    im.save(io.BytesIO(), "JPEG", quality=90)
    n += 1
    if time.perf_counter() - start >= seconds:
        break
print(round((time.perf_counter() - start) / n * 1e9))
