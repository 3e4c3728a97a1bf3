#!/bin/sh
# The small validation choice sets the reports name (data/choice-art, data/choice-refine, data/choice-paint,
# data/choice-painted, data/choice-wide, data/choice-hard, data/choice-tail, data/choice-masters, data/choice-mono,
# data/choice-digital, data/choice-broad), as links into the validation splits built by `make corpus`: photos from pval, art
# from pval and xval; data/choice-masters's paintings are the web studio's gallery (flowstyle/assets, never trained on).
set -e
mk() { mkdir -p "data/$1/content" "data/$1/style"; }
# links SET KIND FROM FILE...: each FILE of the splits (under FROM; "" for paths that name their split) into SET's KIND
links() {
  set_=$1 kind=$2 from=$3
  shift 3
  for f in "$@"; do ln -sf "../../splits/$from${from:+/}$f" "data/$set_/$kind/$(basename "$f")"; done
}
mk choice-art
links choice-art content pval/content gradio__media_assets-images-cheetah.png gradio__media_assets-images-tower.jpg lxqt__fog.jpg \
  ultralytics__zidane.jpg
links choice-art style xval/style opencv__data-starry_night.jpg opencv__data-graf1.jpg palapeli__backgrounds-Rear-Admiral-Diplomat-1.png \
  lomiri1604__analogpattern_by_Peter_Nerlich.jpg
mk choice-refine
links choice-refine content pval/content gradio__media_assets-images-tower.jpg lxqt__fog.jpg
links choice-refine style "" xval/style/opencv__data-starry_night.jpg pval/style/freeorion__species-banforo.jpg
mk choice-paint  # 6 x 6: photos from pval, paintings and illustrations from pval and xval
links choice-paint content pval/content gradio__media_assets-images-cheetah.png gradio__media_assets-images-tower.jpg lxqt__Valendas.jpg \
  lxqt__fog.jpg ultralytics__bus.jpg ultralytics__zidane.jpg
links choice-paint style "" xval/style/opencv__data-starry_night.jpg pval/style/freeorion__species-banforo.jpg \
  pval/style/freeorion__species-scylior.jpg xval/style/mypaint__mrmamurk-mamurk_a_1.jpg xval/style/lomiri1604__umang_by_Abhishek_Mudgal.jpg \
  pval/style/freeorion__species-laenfa.png
mk choice-painted  # 8 x 8: photos from pval, painted story scenes (Wesnoth campaigns) from pval
links choice-painted content pval/content gradio__media_assets-images-cheetah.png gradio__media_assets-images-lion.png \
  gradio__media_assets-images-tower.jpg lxqt__Valendas.jpg lxqt__after-the-rain.jpg lxqt__fog.jpg ultralytics__bus.jpg ultralytics__zidane.jpg
links choice-painted style pval/style wesnoth-httt__httt_story1.jpg wesnoth-httt__httt_story4.jpg wesnoth-httt__httt_story6.jpg \
  wesnoth-httt__httt_story8.jpg wesnoth-did__book.jpg wesnoth-did__travel.jpg wesnoth-l__frontier.jpg wesnoth-l__island.jpg
mk choice-wide  # 8 x 8 held apart from the sets above: other pval photos x other story scenes and species portraits
links choice-wide content pval/content gradio__media_assets-images-cheetah1.png lxqt__Butterfly-Kenneth-Wimer.jpg lxqt__appleflower.jpg \
  lxqt__beam.jpg lxqt__butterfly.jpg lxqt__cloud.jpg lxqt__drop.jpg lxqt__flowers.jpg
links choice-wide style pval/style wesnoth-httt__httt_story2.jpg wesnoth-httt__httt_story5.jpg wesnoth-did__end.jpg \
  wesnoth-l__Halstead.jpg freeorion__species-chato.png freeorion__species-gysache.png freeorion__species-phinnert.png \
  freeorion__species-trith.png
mk choice-hard  # the wide set's photos x its line-drawn scene, where every model ends below 0 on style
links choice-hard content pval/content gradio__media_assets-images-cheetah1.png lxqt__Butterfly-Kenneth-Wimer.jpg lxqt__appleflower.jpg \
  lxqt__beam.jpg lxqt__butterfly.jpg lxqt__cloud.jpg lxqt__drop.jpg lxqt__flowers.jpg
links choice-hard style pval/style wesnoth-httt__httt_story2.jpg
mk choice-tail  # the pairs of the whole validation split that end below 0 on style for some model (reports/pval-all/)
links choice-tail content pval/content gradio__media_assets-images-cheetah1.png lxqt__Butterfly-Kenneth-Wimer.jpg \
  lxqt__after-the-rain.jpg lxqt__beam.jpg lxqt__butterfly.jpg ultralytics__zidane.jpg
links choice-tail style pval/style wesnoth-httt__httt_story1.jpg wesnoth-httt__httt_story2.jpg wesnoth-httt__httt_story6.jpg \
  freeorion__species-trenchers.png freeorion__species-ugmors.png
mk choice-masters  # 8 x 9: the painted set's photos x old-master and modern paintings (WebMuseum copies, flowstyle/assets/LICENSES.md)
links choice-masters content pval/content gradio__media_assets-images-cheetah.png gradio__media_assets-images-lion.png \
  gradio__media_assets-images-tower.jpg lxqt__Valendas.jpg lxqt__after-the-rain.jpg lxqt__fog.jpg ultralytics__bus.jpg ultralytics__zidane.jpg
for f in arcimboldo-spring bruegel-harvesters cassatt-summertime great-wave hiroshige-snow kandinsky-composition-8 mona-lisa \
  renoir-moulin van-gogh-auvers; do ln -sf "../../../flowstyle/assets/$f.jpg" "data/choice-masters/style/$f.jpg"; done
mk choice-mono  # 8 x 8: the painted set's photos in black and white (grey copies) x its painted scenes
.venv/bin/python -c 'import sys
from pathlib import Path
from PIL import Image
for f in sorted(Path("data/choice-painted/content").iterdir()):
    Image.open(f).convert("L").convert("RGB").save(Path("data/choice-mono/content") / (f.stem + ".png"))'
links choice-mono style pval/style wesnoth-httt__httt_story1.jpg wesnoth-httt__httt_story4.jpg wesnoth-httt__httt_story6.jpg \
  wesnoth-httt__httt_story8.jpg wesnoth-did__book.jpg wesnoth-did__travel.jpg wesnoth-l__frontier.jpg wesnoth-l__island.jpg
mk choice-digital  # 8 x 8: the black-and-white photos above x smooth digital backgrounds and paper textures from xval
for f in gradio__media_assets-images-cheetah gradio__media_assets-images-lion gradio__media_assets-images-tower lxqt__Valendas \
  lxqt__after-the-rain lxqt__fog ultralytics__bus ultralytics__zidane; do ln -sf "../../choice-mono/content/$f.png" "data/choice-digital/content/$f.png"; done
links choice-digital style xval/style edu-homeworld__plymouth-themes-debian-edu-homeworld-background.jpg \
  edu-spacefun__plymouth-themes-debian-edu-spacefun-background.jpg edu-softwaves__plymouth-themes-debian-edu-softwaves-background.jpg \
  lomiri__lomiri-default-background.jpg lomiri__warty-final-ubuntu.jpg sway__Sway_Wallpaper_Blue_1920x1080.jpg \
  palapeli__backgrounds-Time-For-Lunch-2.png mypaint__mrmamurk-mamurk_a_2.jpg
mk choice-broad  # 12 x 8: xval photos (landscapes, a city, animals, people, fruit) x painted scenes none of the sets above use
links choice-broad content xval/content lomiri1604__Bridge_by_Sander_Klootwijk.jpg lomiri1604__aitzgorri_by_Aitzol_Berasategi.jpg \
  lomiri1604__friends_by_Aitzol_Berasategi.jpg lomiri1604__sunset_by_Aitzol_Berasategi.jpg lomiri1604__picosdeeuropa_by_Aitzol_Berasategi.jpg \
  opencv__data-baboon.png opencv__data-building.jpg opencv__data-fruits.png palapeli__collection-castle-maintenon.jpg \
  palapeli__collection-cincinnati-bridge.jpg palapeli__collection-european-honey-bee.jpg opencv__data-squirrel_cls.jpg
links choice-broad style pval/style wesnoth-l__Halstead.jpg wesnoth-l__return_to_Dallben_and_Delwyn.jpg wesnoth-did__end.jpg \
  wesnoth-did__parthyn.jpg wesnoth-httt__httt_story3.jpg wesnoth-httt__httt_story5.jpg wesnoth-httt__httt_story7.jpg \
  freeorion__species-scylior.jpg
echo "data/choice-art, data/choice-refine, data/choice-paint, data/choice-painted, data/choice-wide, data/choice-hard, data/choice-tail, data/choice-masters, data/choice-mono, data/choice-digital, data/choice-broad"
