#!/usr/bin/env bash
# The one prepared GPU run (device time is short): reference models + the add-style experiment.
#   bash experiments/gpu_reference_run.sh OUT_DIR
# Each result is tarred (model + loss CSV + loss PNG) so few files come back.
set -uo pipefail
out=${1:?OUT_DIR}
work=$(mktemp -d)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
nst() { python3 -m nst.cli "$@"; }
S=data/styles
pack() { (cd "$work" && tar cf "$out/$1.tar" "$1".*); }
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) | tee "$out/gpu.txt"
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())" | tee -a "$out/gpu.txt"

t() { local s=$SECONDS; "$@"; local rc=$?; echo "[$((SECONDS - s)) s wall, rc $rc] $*" | tee -a "$out/gpu.txt"; return $rc; }
t nst train --method johnson --style $S/vangogh_starry_night.jpg --image-size 256 --batch-size 4 \
    --max-iterations 10000 --checkpoint-every 100000 --time-limit "${TJ:-100}" -o "$work/johnson_starry_night.nst" \
    && pack johnson_starry_night
t nst train --method johnson --style $S/hokusai_great_wave.jpg --image-size 256 --batch-size 4 \
    --max-iterations 10000 --checkpoint-every 100000 --time-limit "${TJ:-100}" -o "$work/johnson_great_wave.nst" \
    && pack johnson_great_wave
t nst train --method dumoulin \
    --style $S/vangogh_starry_night.jpg --style $S/hokusai_great_wave.jpg \
    --style $S/kandinsky_composition_vii.jpg --style $S/picabia_udnie.jpg \
    --style $S/turner_shipwreck_of_the_minotaur.jpg --style $S/leger_contrast_of_forms.jpg \
    --style $S/vangogh_olive_orchard.jpg --style $S/cezanne_peppermint_bottle.jpg \
    --image-size 256 --batch-size 8 --max-iterations 20000 --checkpoint-every 100000 --time-limit "${TD:-200}" \
    -o "$work/dumoulin_8styles.nst" && pack dumoulin_8styles
# New style by fine-tuning γ/β only, against a network trained from scratch on the same style.
t nst train --add-style $S/munch_the_scream.jpg --from "$work/dumoulin_8styles.nst" --max-iterations 3000 \
    --checkpoint-every 100000 --time-limit "${TA:-45}" -o "$work/dumoulin_9styles.nst" && pack dumoulin_9styles
t nst train --method johnson --style $S/munch_the_scream.jpg --image-size 256 --batch-size 8 --max-iterations 3000 \
    --checkpoint-every 100000 --time-limit "${TA:-45}" -o "$work/scratch_scream.nst" && pack scratch_scream
ls -la "$out"
