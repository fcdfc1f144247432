#!/usr/bin/env python3
"""Draws the Teams app icons with the standard library only (no image packages needed).

color.png   192x192, full colour: a red rounded square with a white siren.
outline.png 32x32, white siren outline on a transparent background, as Teams requires.
Run from anywhere: python3 manifests/teams/make_icons.py
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def png(path, width, height, pixel):
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows.extend(pixel(x + 0.5, y + 0.5))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b""))


def in_rounded_square(x, y, size, radius):
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def siren(x, y, s):
    """The siren shape in a unit box scaled by s: a dome on a base, plus three rays."""
    u, v = x / s, y / s
    dome = (u - 0.5) ** 2 + (v - 0.62) ** 2 <= 0.22 ** 2 and v <= 0.62
    body = 0.28 <= u <= 0.72 and 0.6 <= v <= 0.72
    base = 0.2 <= u <= 0.8 and 0.74 <= v <= 0.82
    rays = False
    for angle in (-50, 0, 50):
        a = math.radians(angle - 90)
        # distance from the ray's segment, from radius 0.3 to 0.42 around the dome's centre
        dx, dy = math.cos(a), math.sin(a)
        px, py = u - 0.5, v - 0.55
        t = px * dx + py * dy
        if 0.3 <= t <= 0.42 and abs(px * dy - py * dx) <= 0.03:
            rays = True
    return dome or body or base or rays


def color_pixel(x, y):
    size = 192
    if not in_rounded_square(x, y, size, 36):
        return (0, 0, 0, 0)
    if siren(x, y, size):
        return (255, 255, 255, 255)
    return (196, 49, 75, 255)


def outline_pixel(x, y):
    size = 32
    inside = siren(x, y, size)
    if not inside:
        return (0, 0, 0, 0)
    # Outline only: a pixel whose neighbours are all inside is interior, left transparent.
    neighbours = [siren(x + dx, y + dy, size) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    return (255, 255, 255, 255) if not all(neighbours) else (0, 0, 0, 0)


if __name__ == "__main__":
    png(os.path.join(HERE, "color.png"), 192, 192, color_pixel)
    png(os.path.join(HERE, "outline.png"), 32, 32, outline_pixel)
    print("wrote color.png (192x192) and outline.png (32x32)")
