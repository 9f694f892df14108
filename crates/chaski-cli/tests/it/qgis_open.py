"""Open a chaski store in QGIS without a GUI and print what QGIS sees, as JSON.

Run by the Rust test `gis_clients::qgis_opens_the_demo_store` with Debian's
QGIS Python (`/usr/bin/python3`, package python3-qgis) and
QT_QPA_PLATFORM=offscreen:

    /usr/bin/python3 qgis_open.py STORE.gpkg LAYER RASTER X Y

LAYER is opened as a vector layer (`STORE.gpkg|layername=LAYER`), RASTER as a
raster layer (`GPKG:STORE.gpkg:RASTER`), and the raster is sampled at (X, Y),
in the raster's CRS.
"""

import json
import sys

from qgis.core import QgsApplication, QgsPointXY, QgsRasterLayer, QgsVectorLayer


def describe(store, layer, raster, x, y):
    """What QGIS sees of the store (the layers are gone when this returns)."""
    vector = QgsVectorLayer(f"{store}|layername={layer}", layer, "ogr")
    grid = QgsRasterLayer(f"GPKG:{store}:{raster}", raster, "gdal")
    out = {
        "vector_valid": vector.isValid(),
        "feature_count": vector.featureCount() if vector.isValid() else None,
        "vector_crs": vector.crs().authid(),
        "raster_valid": grid.isValid(),
    }
    if grid.isValid():
        provider = grid.dataProvider()
        value, ok = provider.sample(QgsPointXY(x, y), 1)
        extent = grid.extent()
        out.update(
            {
                "width": grid.width(),
                "height": grid.height(),
                "raster_crs": grid.crs().authid(),
                "nodata": provider.sourceNoDataValue(1)
                if provider.sourceHasNoDataValue(1)
                else None,
                "sample": value if ok else None,
                "extent": [
                    extent.xMinimum(),
                    extent.yMinimum(),
                    extent.xMaximum(),
                    extent.yMaximum(),
                ],
            }
        )
    return out


def main():
    store, layer, raster = sys.argv[1], sys.argv[2], sys.argv[3]
    x, y = float(sys.argv[4]), float(sys.argv[5])
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    # Layers must be destroyed before exitQgis(), or QGIS crashes on exit.
    out = describe(store, layer, raster, x, y)
    print(json.dumps(out), flush=True)
    app.exitQgis()


if __name__ == "__main__":
    main()
