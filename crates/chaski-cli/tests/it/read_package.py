"""Read a tile package with tools independent of chaski and dump it for the tests.

    python read_package.py pmtiles ARCHIVE OUTDIR   # the `pmtiles` package from PyPI
    python read_package.py mbtiles FILE OUTDIR      # Python's own sqlite3

Writes OUTDIR/header.json (PMTiles: the header as the reader parses it),
OUTDIR/metadata.json and one file per tile with its bytes as stored:
OUTDIR/tiles/Z-X-Y.bin (PMTiles, XYZ rows) or OUTDIR/tiles/Z-X-ROW.bin (MBTiles,
TMS rows as stored, so the test checks the row flip itself).
"""

import json
import os
import sqlite3
import sys


def dump_pmtiles(path, out):
    from pmtiles.reader import MmapSource, Reader, all_tiles

    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        plain = {k: (v.name if hasattr(v, "name") else v) for k, v in header.items()}
        with open(os.path.join(out, "header.json"), "w") as h:
            json.dump(plain, h)
        with open(os.path.join(out, "metadata.json"), "w") as m:
            json.dump(reader.metadata(), m)
        count = 0
        for (z, x, y), data in all_tiles(reader.get_bytes):
            with open(os.path.join(out, "tiles", f"{z}-{x}-{y}.bin"), "wb") as t:
                t.write(data)
            count += 1
    return count


def dump_mbtiles(path, out):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    meta = dict(db.execute("SELECT name, value FROM metadata"))
    with open(os.path.join(out, "metadata.json"), "w") as m:
        json.dump(meta, m)
    count = 0
    for z, x, row, data in db.execute(
        "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
    ):
        with open(os.path.join(out, "tiles", f"{z}-{x}-{row}.bin"), "wb") as t:
            t.write(data)
        count += 1
    return count


def main():
    kind, path, out = sys.argv[1:4]
    os.makedirs(os.path.join(out, "tiles"), exist_ok=True)
    count = dump_pmtiles(path, out) if kind == "pmtiles" else dump_mbtiles(path, out)
    print(count)


if __name__ == "__main__":
    main()
