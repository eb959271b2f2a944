#!/usr/bin/env python3
"""Draws Parley's app icon (a white speech bubble on an indigo tile) and writes every icon file.

Pure standard library (zlib + struct), no network and no imaging package:

    python3 icons/generate.py            # writes beside this script

Shapes are signed distance functions, so edges are anti-aliased at every size.
Outputs: 32x32.png, 128x128.png, 128x128@2x.png, icon.png (512), icon.ico (PNG-in-ICO),
icon.icns (PNG entries), and ../ui/mark.svg (the same mark for the page itself).
"""

import math
import os
import struct
import sys
import zlib

TILE = (79, 70, 229)  # indigo
BUBBLE = (255, 255, 255)
DOT = TILE

# Geometry in unit coordinates (0..1, y down).
TILE_MARGIN = 0.06
TILE_RADIUS = 0.20
BUBBLE_BOX = (0.20, 0.22, 0.80, 0.66)  # left, top, right, bottom
BUBBLE_RADIUS = 0.13
TAIL = ((0.30, 0.60), (0.48, 0.60), (0.26, 0.80))
DOTS_Y = 0.44
DOTS_X = (0.36, 0.50, 0.64)
DOT_RADIUS = 0.045


def rounded_box_distance(x, y, box, radius):
    """Signed distance from (x, y) to a rounded rectangle (negative inside)."""
    left, top, right, bottom = box
    cx, cy = (left + right) / 2, (top + bottom) / 2
    hx, hy = (right - left) / 2 - radius, (bottom - top) / 2 - radius
    qx, qy = abs(x - cx) - hx, abs(y - cy) - hy
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - radius


def triangle_distance(x, y, points):
    """Approximate signed distance to a convex triangle: the largest edge-plane distance."""
    (ax, ay), (bx, by), (cx, cy) = points
    area_sign = 1.0 if (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) > 0 else -1.0
    worst = -math.inf
    for (px, py), (qx, qy) in (((ax, ay), (bx, by)), ((bx, by), (cx, cy)), ((cx, cy), (ax, ay))):
        ex, ey = qx - px, qy - py
        length = math.hypot(ex, ey)
        # Outward normal distance; positive outside this edge.
        outward = -area_sign * ((x - px) * ey - (y - py) * ex) / length
        worst = max(worst, -outward)
    return worst


def coverage(distance, pixel):
    """Fraction of a pixel covered by a shape whose edge is `distance` away."""
    return min(1.0, max(0.0, 0.5 - distance / pixel))


def shade(x, y, pixel):
    """RGBA of the icon at unit coordinates (x, y)."""
    tile = coverage(
        rounded_box_distance(
            x, y, (TILE_MARGIN, TILE_MARGIN, 1 - TILE_MARGIN, 1 - TILE_MARGIN), TILE_RADIUS
        ),
        pixel,
    )
    if tile == 0.0:
        return (0, 0, 0, 0)
    bubble_distance = min(
        rounded_box_distance(x, y, BUBBLE_BOX, BUBBLE_RADIUS), triangle_distance(x, y, TAIL)
    )
    dot_distance = min(math.hypot(x - dx, y - DOTS_Y) - DOT_RADIUS for dx in DOTS_X)
    white = coverage(bubble_distance, pixel) * (1.0 - coverage(dot_distance, pixel))
    rgb = tuple(round(t + (b - t) * white) for t, b in zip(TILE, BUBBLE))
    return rgb + (round(255 * tile),)


def render(size):
    """Raw RGBA rows of the icon at `size` x `size` pixels."""
    pixel = 1.0 / size
    rows = []
    for row in range(size):
        y = (row + 0.5) * pixel
        line = bytearray()
        for col in range(size):
            line.extend(shade((col + 0.5) * pixel, y, pixel))
        rows.append(bytes(line))
    return rows


def png_bytes(rows):
    """Encodes RGBA rows as an 8-bit RGBA PNG."""
    height, width = len(rows), len(rows[0]) // 4

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def ico_bytes(pngs):
    """Packs PNG images (size -> bytes) into a Windows .ico (PNG entries, Vista and later)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        side = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


# icns element types that hold PNG data, by pixel size (the @2x types share pixel sizes).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"icp6", 64),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),
    (b"ic09", 512),
    (b"ic14", 512),
    (b"ic10", 1024),
)


def icns_bytes(pngs):
    """Packs PNG images (size -> bytes) into a macOS .icns."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def svg_text():
    """The same mark as an SVG document in a 100 x 100 view box."""

    def scale(value):
        return f"{value * 100:g}"

    def hex_colour(rgb):
        return "#" + "".join(f"{c:02x}" for c in rgb)

    inset = TILE_MARGIN
    left, top, right, bottom = BUBBLE_BOX
    tail = " ".join(f"{scale(x)},{scale(y)}" for x, y in TAIL)
    dots = "".join(
        f'<circle cx="{scale(x)}" cy="{scale(DOTS_Y)}" r="{scale(DOT_RADIUS)}" fill="{hex_colour(DOT)}"/>'
        for x in DOTS_X
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect x="{scale(inset)}" y="{scale(inset)}" width="{scale(1 - 2 * inset)}" '
        f'height="{scale(1 - 2 * inset)}" rx="{scale(TILE_RADIUS)}" fill="{hex_colour(TILE)}"/>'
        f'<rect x="{scale(left)}" y="{scale(top)}" width="{scale(right - left)}" '
        f'height="{scale(bottom - top)}" rx="{scale(BUBBLE_RADIUS)}" fill="{hex_colour(BUBBLE)}"/>'
        f'<polygon points="{tail}" fill="{hex_colour(BUBBLE)}"/>'
        f"{dots}</svg>\n"
    )


def main():
    out_dir = os.path.dirname(os.path.abspath(__file__))
    sizes = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
    pngs = {size: png_bytes(render(size)) for size in sizes}
    files = {
        "32x32.png": pngs[32],
        "128x128.png": pngs[128],
        "128x128@2x.png": pngs[256],
        "icon.png": pngs[512],
        "icon.ico": ico_bytes({s: pngs[s] for s in (16, 24, 32, 48, 64, 256)}),
        "icon.icns": icns_bytes(pngs),
    }
    for name, data in files.items():
        with open(os.path.join(out_dir, name), "wb") as handle:
            handle.write(data)
        print(f"wrote icons/{name} ({len(data)} bytes)")
    svg_path = os.path.join(out_dir, "..", "ui", "mark.svg")
    with open(svg_path, "w", encoding="ascii") as handle:
        handle.write(svg_text())
    print("wrote ui/mark.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
