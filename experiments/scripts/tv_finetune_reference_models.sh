#!/usr/bin/env bash
# Step 2 of the reference models: fine-tune the GPU-trained networks (step 1:
# experiments/scripts/gpu_reference_run.sh, γ = 0) with a total-variation term, on the 2-core CPU, with
# `nst train --from`.  Trained with γ = 0, the networks learn a dotted texture that repeats every
# 4 px (results/reference_models, results/grid_ablation); a short fine-tune with γ = 1e7 removes it.
#
#   bash experiments/scripts/tv_finetune_reference_models.sh IN_DIR OUT_DIR [MODEL...]
#
# IN_DIR holds the step-1 models; MODEL is any of johnson_starry_night johnson_great_wave
# dumoulin_8styles (default: all three).  Resumable: rerun the same command after an interruption.
set -euo pipefail
in=${1:?usage: tv_finetune_reference_models.sh IN_DIR OUT_DIR [MODEL...]}
out=${2:?usage: tv_finetune_reference_models.sh IN_DIR OUT_DIR [MODEL...]}
shift 2
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(johnson_starry_night johnson_great_wave dumoulin_8styles)
mkdir -p "$out"
S=data/styles
for name in "${models[@]}"; do
    case $name in
    johnson_starry_night) styles=(--style $S/vangogh_starry_night.jpg); opts=(--batch-size 1 --max-iterations 200) ;;
    johnson_great_wave) styles=(--style $S/hokusai_great_wave.jpg); opts=(--batch-size 1 --max-iterations 200) ;;
    dumoulin_8styles)
        styles=()
        for s in vangogh_starry_night hokusai_great_wave kandinsky_composition_vii picabia_udnie \
                 turner_shipwreck_of_the_minotaur leger_contrast_of_forms vangogh_olive_orchard \
                 cezanne_peppermint_bottle; do styles+=(--style "$S/$s.jpg"); done
        opts=(--batch-size 2 --max-iterations 200) ;;
    *) echo "unknown model $name" >&2; exit 2 ;;
    esac
    resume=()
    [ -f "$out/$name.ckpt" ] && resume=(--resume "$out/$name.ckpt")
    nst train --from "$in/$name.nst" "${styles[@]}" --image-size 256 "${opts[@]}" --tv-weight 1e7 \
        --learning-rate 1e-3 --checkpoint-every 50 "${resume[@]}" -o "$out/$name.nst"
done
