#!/usr/bin/env bash
# The prepared GPU run of the reference models (device time is short, and one call is at most 600 s).
#
#   DEADLINE=570 bash experiments/scripts/gpu_reference_run.sh OUT_DIR JOB...
#
# JOB is any of: dumoulin_8styles johnson_starry_night johnson_great_wave add_style
# (default: all four, in that order).  Each training stops at its paper target (Johnson: 10k
# iterations, batch 4; Dumoulin: 20k iterations, batch 8; 256 px crops) or when the DEADLINE
# (seconds from this script's start) minus a saving margin is reached, whichever comes first; the
# model metadata records the iterations actually done.  A job that has no time left is skipped.
# TV=γ adds a total-variation term (default 0, what the committed step-1 models used; see
# experiments/scripts/tv_finetune_reference_models.sh for why a later run should set TV=1e7).
# RECIPE=name trains with an nst.recipes loss (layers, per-layer weights, pooling; docs/recipes.md; without
# it, TrainConfig's default loss, the dumoulin2017 recipe's);
# the batch sizes and iterations below still apply (explicit options win over a recipe).
# Each finished job is tarred (model + loss CSV + loss PNG + log) so few files come back.
set -uo pipefail
out=${1:?OUT_DIR}
shift
jobs=("$@")
[ ${#jobs[@]} -eq 0 ] && jobs=(dumoulin_8styles johnson_starry_night johnson_great_wave add_style)
deadline=${DEADLINE:-100000}
margin=${MARGIN:-25}
tv=${TV:-0}
recipe=()
[ -n "${RECIPE:-}" ] && recipe=(--recipe "$RECIPE")
work=$(mktemp -d)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$work/jax-cache}
S=data/styles
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) | tee "$out/gpu.txt"
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())" | tee -a "$out/gpu.txt"

train() {  # train NAME ARGS...: one `nst train` run with the time that is left, then pack its files
    local name=$1; shift
    local left=$((deadline - SECONDS - margin))
    if [ "$left" -lt 30 ]; then echo "[skipped $name: ${left} s left]" | tee -a "$out/gpu.txt"; return 1; fi
    local s=$SECONDS
    python3 -m nst.cli train "$@" "${recipe[@]}" --tv-weight "$tv" --checkpoint-every 1000000 --time-limit "$left" -o "$work/$name.nst" \
        2>&1 | tee "$work/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "[$name: $((SECONDS - s)) s wall, rc $rc, time limit $left s] nst train $* -o $name.nst" | tee -a "$out/gpu.txt"
    [ "$rc" -eq 0 ] && (cd "$work" && tar cf "$out/$name.tar" "$name".*)
    return "$rc"
}

for job in "${jobs[@]}"; do
    case $job in
    johnson_starry_night | johnson_great_wave)
        style=$S/vangogh_starry_night.jpg
        [ "$job" = johnson_great_wave ] && style=$S/hokusai_great_wave.jpg
        train "$job" --method johnson --style "$style" --image-size 256 --batch-size 4 --max-iterations 10000 ;;
    dumoulin_8styles)
        train "$job" --method dumoulin \
            --style $S/vangogh_starry_night.jpg --style $S/hokusai_great_wave.jpg \
            --style $S/kandinsky_composition_vii.jpg --style $S/picabia_udnie.jpg \
            --style $S/turner_shipwreck_of_the_minotaur.jpg --style $S/leger_contrast_of_forms.jpg \
            --style $S/vangogh_olive_orchard.jpg --style $S/cezanne_peppermint_bottle.jpg \
            --image-size 256 --batch-size 8 --max-iterations 20000 ;;
    add_style)  # a new style by fine-tuning γ/β only, against a network trained from scratch on it
        [ -f "$work/dumoulin_8styles.nst" ] || { echo "[skipped add_style: no dumoulin_8styles]"; continue; }
        train dumoulin_9styles --add-style $S/munch_the_scream.jpg --from "$work/dumoulin_8styles.nst" \
            --max-iterations 3000 &&
        train scratch_scream --method johnson --style $S/munch_the_scream.jpg --image-size 256 \
            --batch-size 8 --max-iterations 3000 ;;
    *) echo "unknown job $job" >&2; exit 2 ;;
    esac
done
ls -la "$out"
