#!/usr/bin/env bash
# Train the committed reference models with `nst train` (results/models/).
#
#   bash experiments/scripts/train_reference_models.sh OUT_DIR [TIME_LIMIT_JOHNSON] [TIME_LIMIT_DUMOULIN]
#
# Paper settings (256 px content crops, Adam 1e-3): Johnson models batch 4, up to 10k iterations;
# the Dumoulin model batch 8, up to 20k iterations, 8 styles.  The optional time limits (seconds)
# stop a run early and save what it has; the model metadata records the iterations actually done.
set -euo pipefail
out=${1:?usage: train_reference_models.sh OUT_DIR [T_JOHNSON] [T_DUMOULIN]}
tj=${2:-}
td=${3:-}
mkdir -p "$out"
nst() { python3 -m nst.cli "$@"; }
S=data/styles
lim() { [ -n "$1" ] && echo "--time-limit $1" || true; }

nst train --method johnson --style $S/vangogh_starry_night.jpg --image-size 256 --batch-size 4 \
    --max-iterations 10000 --checkpoint-every 2000 $(lim "$tj") -o "$out/johnson_starry_night.nst"
nst train --method johnson --style $S/hokusai_great_wave.jpg --image-size 256 --batch-size 4 \
    --max-iterations 10000 --checkpoint-every 2000 $(lim "$tj") -o "$out/johnson_great_wave.nst"
nst train --method dumoulin \
    --style $S/vangogh_starry_night.jpg --style $S/hokusai_great_wave.jpg \
    --style $S/kandinsky_composition_vii.jpg --style $S/picabia_udnie.jpg \
    --style $S/turner_shipwreck_of_the_minotaur.jpg --style $S/leger_contrast_of_forms.jpg \
    --style $S/vangogh_olive_orchard.jpg --style $S/cezanne_peppermint_bottle.jpg \
    --image-size 256 --batch-size 8 --max-iterations 20000 --checkpoint-every 4000 $(lim "$td") \
    -o "$out/dumoulin_8styles.nst"
