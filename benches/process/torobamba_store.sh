# Sourced by the Torobamba benches: the real data of ../shared/data/peru they need, and
# `torobamba_store BIN STORE`, which imports the 30 m ALOS DEM of the basin and the villages
# and facilities of its box into a new store with the chaski binary BIN.
peru=../shared/data/peru
dem=$peru/elevation/torobamba_alos_1s.tif
for f in "$dem" "$peru/focus/vraem_box_villages.geojson" "$peru/focus/vraem_box_facilities.geojson"; do
  [ -f "$f" ] || { echo "needs $f" >&2; exit 1; }
done
torobamba_store() {
  "$1" --store "$2" import "$dem" --layer dem >/dev/null 2>&1
  "$1" --store "$2" import "$peru/focus/vraem_box_villages.geojson" --layer communities >/dev/null 2>&1
  "$1" --store "$2" import "$peru/focus/vraem_box_facilities.geojson" --layer facilities >/dev/null 2>&1
}
